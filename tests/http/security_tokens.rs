//! SECURITY.md §5, tokens (TK-01 … TK-12).

use crate::both_backends;
use crate::support::token_requests::{
    create_implicit_spa_client, distinct_tokens_of_five_password_grants,
};
use crate::support::web::{encode, WebUser};
use crate::support::TestApp;
use crate::support::{base64url_bits, location_params, PASSWORD, REDIRECT_URI};

both_backends![
    tk_01_token_responses_are_not_cached,
    tk_02_json_bearer_with_positive_expires_in,
    tk_03_tokens_are_unique_and_carry_128_bits,
    tk_04_unknown_grant_is_unsupported_grant_type,
    tk_05_unregistered_grant_is_unauthorized_client,
    tk_06_wrong_password_is_invalid_grant,
    tk_07_granted_scope_is_within_the_registered_scope,
    tk_08_implicit_token_only_in_the_fragment,
    tk_09_client_credentials_issue_no_refresh_token,
    tk_10_token_errors_are_not_cached,
    tk_11_password_grant_only_for_confidential_clients_registered_for_it,
    tk_12_access_tokens_live_at_most_an_hour
];

async fn tk_01_token_responses_are_not_cached(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let password = app.password_tokens(&client, "alice", None).await;
    let credentials = app.client_credentials(&client).await;
    let refreshed = app.refresh(&client, password.str("refresh_token")).await;

    for answer in [password, credentials, refreshed] {
        assert_eq!(answer.status, 200);
        answer.assert_not_cached();
    }
}

async fn tk_02_json_bearer_with_positive_expires_in(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let answer = app.password_tokens(&client, "alice", None).await;

    assert!(answer
        .header("content-type")
        .starts_with("application/json"));
    assert_eq!(answer.str("token_type"), "Bearer");
    assert!(answer.body["expires_in"].as_u64().unwrap() > 0);
}

async fn tk_03_tokens_are_unique_and_carry_128_bits(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    for token in distinct_tokens_of_five_password_grants(&app, &client).await {
        assert!(base64url_bits(&token) >= 128, "{token}");
    }
}

async fn tk_04_unknown_grant_is_unsupported_grant_type(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for grant in ["urn:example:bogus", "implicit", "Password", "token"] {
        let answer = app.token(Some(&client), &[("grant_type", grant)]).await;
        answer.assert_error_for(400, "unsupported_grant_type", grant);
    }
}

async fn tk_05_unregistered_grant_is_unauthorized_client(app: TestApp) {
    let alice = app.user("alice");
    let code_only = app.code_only_client(&alice);

    let cc = app.client_credentials(&code_only).await;
    let pw = app.password_grant(&code_only, "alice", PASSWORD).await;

    for answer in [cc, pw] {
        answer.assert_error_for(400, "unauthorized_client", "");
        assert!(answer.has_no_access_token());
    }
}

async fn tk_06_wrong_password_is_invalid_grant(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let answer = app.password_grant(&client, "alice", "wrong password").await;

    answer.assert_error_for(400, "invalid_grant", "");
    assert!(answer.has_no_access_token());
}

async fn tk_07_granted_scope_is_within_the_registered_scope(app: TestApp) {
    let alice = app.user("alice");
    let client = app.client(
        &alice,
        &["password", "client_credentials"],
        "profile",
        "client_secret_basic",
    );
    for grant in ["password", "client_credentials"] {
        let answer = app
            .token(
                Some(&client),
                &[
                    ("grant_type", grant),
                    ("username", "alice"),
                    ("password", PASSWORD),
                    ("scope", "profile admin"),
                ],
            )
            .await;
        assert!(
            answer.has_no_access_token() || !answer.str("scope").contains("admin"),
            "{grant}"
        );
        assert_eq!(answer.error(), "invalid_scope", "{grant}");
        let default = app
            .token(
                Some(&client),
                &[
                    ("grant_type", grant),
                    ("username", "alice"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(default.str("scope"), "profile", "{grant}");
    }
}

async fn tk_08_implicit_token_only_in_the_fragment(app: TestApp) {
    let alice = WebUser::new(&app);
    alice.sign_up("alice").await;
    let (id, _) = create_implicit_spa_client(&alice).await;
    let query = format!(
        "/oauth/authorize?response_type=token&client_id={id}&redirect_uri={}&state=imp",
        encode(REDIRECT_URI)
    );

    let approved = alice.submit(&query, &query, &[("confirm", "yes")]).await;

    let location = approved.location();
    let url = url::Url::parse(location).unwrap();
    assert!(url.query().is_none(), "{location}");
    assert!(
        url.fragment().unwrap().contains("access_token="),
        "{location}"
    );
    let params = location_params(location);
    assert!(!params.contains_key("refresh_token"));
    assert!(!params.contains_key("code"));
}

async fn tk_09_client_credentials_issue_no_refresh_token(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let answer = app.client_credentials(&client).await;

    assert_eq!(answer.status, 200);
    assert!(answer.body.get("refresh_token").is_none());
}

async fn tk_10_token_errors_are_not_cached(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let bad_password = app.password_grant(&client, "alice", "nope").await;
    let bad_client = app.client_credentials_in_body("x", Some("y")).await;
    let bad_grant = app.token(Some(&client), &[("grant_type", "bogus")]).await;

    for answer in [bad_password, bad_client, bad_grant] {
        assert!(answer.status >= 400);
        answer.assert_not_cached();
    }
}

async fn tk_11_password_grant_only_for_confidential_clients_registered_for_it(app: TestApp) {
    let alice = app.user("alice");
    let public = app.public_code_client(&alice);
    let code_only = app.code_only_client(&alice);
    let registered = app.client(&alice, &["password"], "profile", "client_secret_basic");

    let by_public = app.password_grant_by_public(&public.id, "alice").await;
    let by_code_only = app.password_grant(&code_only, "alice", PASSWORD).await;

    assert!(by_public.has_no_access_token());
    assert!(by_code_only.has_no_access_token());
    assert_eq!(
        app.password_tokens(&registered, "alice", None).await.status,
        200
    );
}

async fn tk_12_access_tokens_live_at_most_an_hour(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let password = app.password_tokens(&client, "alice", None).await;
    let credentials = app.client_credentials(&client).await;

    for answer in [password, credentials] {
        let expires_in = answer.body["expires_in"].as_u64().unwrap();
        assert!((1..=3600).contains(&expires_in), "{expires_in}");
    }
}
