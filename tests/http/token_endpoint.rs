//! `POST /oauth/token`: client authentication, grant selection, the password
//! and client-credentials grants, and the response format (RFC 6749 §4.3,
//! §4.4, §5).

use crate::both_backends;
use crate::support::token_requests::{
    assert_only_the_registered_auth_method_works, distinct_tokens_of_five_password_grants,
    with_secret,
};
use crate::support::TestApp;
use crate::support::{TestClient, PASSWORD};

both_backends![
    seed_curl_walkthrough_password_grant_then_api_me,
    success_response_is_json_bearer_with_no_store,
    omitted_scope_means_the_registered_scope_and_wider_is_invalid_scope,
    wrong_password_and_unknown_user_are_invalid_grant,
    client_credentials_issue_no_refresh_token,
    failed_basic_authentication_is_401_with_a_basic_challenge,
    registered_auth_method_is_enforced_and_two_methods_are_refused,
    a_missing_unknown_repeated_or_unregistered_grant_type_is_refused,
    public_clients_cannot_use_client_credentials,
    tokens_and_secrets_are_distinct_and_long,
    get_on_the_token_endpoint_is_405
];

async fn seed_curl_walkthrough_password_grant_then_api_me(app: TestApp) {
    // Exactly the seed README: `curl -u id:secret -XPOST … -F grant_type=password …`,
    // which sends multipart/form-data.
    let alice = app.user("alice");
    let client = app.client(&alice, &["password"], "profile", "client_secret_basic");
    let form = reqwest::multipart::Form::new()
        .text("grant_type", "password")
        .text("username", "alice")
        .text("password", PASSWORD)
        .text("scope", "profile");
    let response = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let answer = crate::support::answer(response).await;

    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let me = app
        .me(Some(&format!("Bearer {}", answer.str("access_token"))))
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["username"], "alice");
    assert_eq!(me.body["id"], alice.id.to_string());
}

async fn success_response_is_json_bearer_with_no_store(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let answer = app.password_tokens(&client, "alice", Some("profile")).await;

    assert_eq!(answer.str("token_type"), "Bearer");
    assert_eq!(answer.body["expires_in"], 3600);
    assert_eq!(answer.str("scope"), "profile");
    assert!(answer.str("access_token").len() >= 43);
    assert!(answer.str("refresh_token").len() >= 43);
    assert_ne!(answer.str("access_token"), answer.str("refresh_token"));
    answer.assert_not_cached();
    assert!(answer
        .header("content-type")
        .starts_with("application/json"));
}

async fn omitted_scope_means_the_registered_scope_and_wider_is_invalid_scope(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let default = app.client_credentials(&client).await;
    let wider = app
        .client_credentials_with_scope(&client, "profile admin")
        .await;

    assert_eq!(default.str("scope"), "profile email");
    assert_eq!(wider.status, 400);
    assert_eq!(wider.error(), "invalid_scope");
    assert_eq!(wider.header("cache-control"), "no-store");
}

async fn wrong_password_and_unknown_user_are_invalid_grant(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    for (username, password) in [("alice", "wrong password"), ("nobody", PASSWORD)] {
        let answer = app.password_grant(&client, username, password).await;
        assert_eq!(answer.status, 400);
        assert_eq!(answer.error(), "invalid_grant");
        assert!(answer.has_no_access_token());
    }
    let missing = app
        .token(
            Some(&client),
            &[("grant_type", "password"), ("username", "alice")],
        )
        .await;
    assert_eq!(missing.error(), "invalid_request");
}

async fn client_credentials_issue_no_refresh_token(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let answer = app.client_credentials(&client).await;

    assert_eq!(answer.status, 200);
    assert!(answer.body.get("refresh_token").is_none());
    assert!(answer.body["expires_in"].as_i64().unwrap() <= 3600);
}

async fn failed_basic_authentication_is_401_with_a_basic_challenge(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let wrong = with_secret(&client, &format!("{}x", client.secret));
    let unknown = TestClient {
        id: "no-such-client".to_owned(),
        secret: client.secret.clone(),
    };

    for credentials in [&wrong, &unknown] {
        let answer = app
            .token(Some(credentials), &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.error(), "invalid_client");
        assert!(answer.header("www-authenticate").starts_with("Basic"));
        assert_eq!(answer.header("cache-control"), "no-store");
    }
}

async fn registered_auth_method_is_enforced_and_two_methods_are_refused(app: TestApp) {
    let (alice, basic_client) = app.user_with_client("alice");
    let post_client = app.post_client(&alice);

    assert_only_the_registered_auth_method_works(&app, &basic_client, &post_client).await;
    let both = app
        .token(
            Some(&basic_client),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", &basic_client.secret),
            ],
        )
        .await;
    let post_ok = app
        .client_credentials_in_body(&post_client.id, Some(&post_client.secret))
        .await;
    let no_secret = app.client_credentials_in_body(&basic_client.id, None).await;

    assert_eq!(both.status, 400);
    assert_eq!(both.error(), "invalid_request");
    assert_eq!(post_ok.status, 200);
    assert_eq!(no_secret.status, 401);
}

async fn a_missing_unknown_repeated_or_unregistered_grant_type_is_refused(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let code_only = app.code_only_client(&alice);

    let password: &[(&str, &str)] = &[
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    for (who, form, error) in [
        (&client, &[("scope", "profile")][..], "invalid_request"),
        (
            &client,
            &[("grant_type", "urn:example:bogus")],
            "unsupported_grant_type",
        ),
        (
            &client,
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            "invalid_request",
        ),
        (
            &client,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "profile"),
                ("scope", "email"),
            ],
            "invalid_request",
        ),
        (
            &code_only,
            &[("grant_type", "client_credentials")],
            "unauthorized_client",
        ),
        (&code_only, password, "unauthorized_client"),
    ] {
        app.token(Some(who), form)
            .await
            .assert_error_for(400, error, &format!("{form:?}"));
    }
}

async fn public_clients_cannot_use_client_credentials(app: TestApp) {
    let alice = app.user("alice");
    let public = app.public_code_client(&alice);

    let answer = app.client_credentials_in_body(&public.id, None).await;

    assert!(answer.status == 400 || answer.status == 401);
    assert!(answer.has_no_access_token());
}

async fn tokens_and_secrets_are_distinct_and_long(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    for token in distinct_tokens_of_five_password_grants(&app, &client).await {
        // base64url: 6 bits a character, so 43 characters carry 256 bits.
        assert!(token.len() * 6 >= 256, "{token}");
    }
}

async fn get_on_the_token_endpoint_is_405(app: TestApp) {
    let response = app.anonymous_get("/oauth/token?grant_type=password").await;

    assert_eq!(response.status().as_u16(), 405);
}
