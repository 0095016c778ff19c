//! `POST /oauth/revoke` (RFC 7009).

use crate::both_backends;
use crate::support::TestApp;

both_backends![
    revoking_an_access_token_ends_it_whatever_the_hint,
    revoking_a_refresh_token_revokes_its_family,
    unknown_tokens_answer_200,
    another_clients_token_is_refused_and_left_alone,
    client_authentication_is_required,
    only_post_revokes,
    a_public_client_revokes_its_own_tokens
];

async fn revoking_an_access_token_ends_it_whatever_the_hint(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for hint in [
        None,
        Some("access_token"),
        Some("refresh_token"),
        Some("unsupported_token_type"),
    ] {
        let tokens = app.password_tokens(&client, "alice", None).await;
        let access = tokens.str("access_token");
        let mut form = vec![("token", access)];
        if let Some(hint) = hint {
            form.push(("token_type_hint", hint));
        }

        let answer = app.revoke(Some(&client), &form).await;

        assert_eq!(answer.status, 200, "{hint:?}: {:?}", answer.body);
        assert_eq!(answer.header("cache-control"), "no-store");
        assert_eq!(app.me_status(access).await, 401, "{hint:?}");
        // Revoking the access token leaves the refresh token alone.
        assert_eq!(
            app.refresh_status(&client, tokens.str("refresh_token"))
                .await,
            200
        );
    }
}

async fn revoking_a_refresh_token_revokes_its_family(app: TestApp) {
    let (_, client, tokens) = app.alice_tokens(None).await;

    let answer = app
        .revoke(Some(&client), &[("token", tokens.str("refresh_token"))])
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(
        app.refresh(&client, tokens.str("refresh_token"))
            .await
            .error(),
        "invalid_grant"
    );
    assert_eq!(app.me_status(tokens.str("access_token")).await, 401);
}

async fn unknown_tokens_answer_200(app: TestApp) {
    let (_, client) = app.user_with_client("alice");

    let answer = app
        .revoke(Some(&client), &[("token", "invalid-token")])
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, serde_json::json!({}));
}

async fn another_clients_token_is_refused_and_left_alone(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let other = app.full_client(&alice);
    let tokens = app.password_tokens(&client, "alice", None).await;

    let answer = app
        .revoke(Some(&other), &[("token", tokens.str("access_token"))])
        .await;

    assert!((400..500).contains(&answer.status));
    assert_eq!(app.me_status(tokens.str("access_token")).await, 200);
}

async fn client_authentication_is_required(app: TestApp) {
    let (_, client, tokens) = app.alice_tokens(None).await;
    let access = tokens.str("access_token");
    let wrong = client.with_secret("wrong");

    let anonymous = app.revoke(None, &[("token", access)]).await;
    let bad_secret = app.revoke(Some(&wrong), &[("token", access)]).await;
    let odd_scheme = crate::support::answer(
        app.http
            .post(app.url("/oauth/revoke"))
            .header("Authorization", "invalid token_string")
            .form(&[("token", access)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let no_token = app.revoke(Some(&client), &[]).await;

    anonymous.assert_error(401, "invalid_client");
    bad_secret.assert_error(401, "invalid_client");
    assert!(bad_secret.header("www-authenticate").starts_with("Basic"));
    assert_eq!(odd_scheme.error(), "invalid_client");
    no_token.assert_error(400, "invalid_request");
    assert_eq!(app.me_status(access).await, 200);
}

async fn only_post_revokes(app: TestApp) {
    let (_, client, tokens) = app.alice_tokens(None).await;
    let access = tokens.str("access_token");

    let response = app
        .send_with_basic(
            reqwest::Method::GET,
            &format!("/oauth/revoke?token={access}"),
            &client,
        )
        .await;

    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(app.me_status(access).await, 200);
}

async fn a_public_client_revokes_its_own_tokens(app: TestApp) {
    let alice = app.user("alice");
    let public = app.client(&alice, &["authorization_code"], "profile", "none");
    let code = app.code(&public, &alice, None);
    let tokens = app
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", crate::support::REDIRECT_URI),
                ("code_verifier", crate::support::VERIFIER),
                ("client_id", &public.id),
            ],
        )
        .await;
    let access = tokens.str("access_token");

    let answer = app
        .revoke(None, &[("token", access), ("client_id", &public.id)])
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(app.me_status(access).await, 401);
}
