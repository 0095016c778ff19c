//! `POST /oauth/introspect` (RFC 7662).

use crate::both_backends;
use crate::support::TestApp;

both_backends![
    a_live_token_is_described,
    a_live_refresh_token_is_described_without_a_token_type,
    unknown_revoked_and_client_credentials_tokens,
    introspection_needs_an_authenticated_confidential_client
];

async fn a_live_token_is_described(app: TestApp) {
    let (alice, client, tokens) = app.alice_tokens(Some("profile")).await;

    for hint in ["access_token", "refresh_token"] {
        let answer = app
            .introspect(
                Some(&client),
                &[
                    ("token", tokens.str("access_token")),
                    ("token_type_hint", hint),
                ],
            )
            .await;

        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("cache-control"), "no-store");
        let body = &answer.body;
        assert_eq!(body["active"], true, "{hint}");
        assert_eq!(body["scope"], "profile");
        assert_eq!(body["client_id"], client.id);
        assert_eq!(body["username"], "alice");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["sub"], alice.id.to_string());
        assert_eq!(body["iss"], app.address);
        assert_eq!(
            body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(),
            3600
        );
    }
}

async fn a_live_refresh_token_is_described_without_a_token_type(app: TestApp) {
    let (_, client, tokens) = app.alice_tokens(Some("profile")).await;

    let answer = app
        .introspect(Some(&client), &[("token", tokens.str("refresh_token"))])
        .await;

    assert_eq!(answer.status, 200);
    let body = &answer.body;
    assert_eq!(body["active"], true);
    assert_eq!(body["username"], "alice");
    // RFC 7662 §2.2 takes token types from RFC 6749 §7.1, where a
    // refresh token has none: the member is left out.
    assert!(body.get("token_type").is_none(), "{body}");
}

async fn unknown_revoked_and_client_credentials_tokens(app: TestApp) {
    let (_, client, tokens) = app.alice_tokens(None).await;
    let app_token = app.client_credentials(&client).await;
    app.revoke(Some(&client), &[("token", tokens.str("refresh_token"))])
        .await;

    let unknown = app.introspect(Some(&client), &[("token", "nothing")]).await;
    let revoked = app
        .introspect(Some(&client), &[("token", tokens.str("access_token"))])
        .await;
    let machine = app
        .introspect(Some(&client), &[("token", app_token.str("access_token"))])
        .await;

    assert_eq!(unknown.body, serde_json::json!({"active": false}));
    assert_eq!(revoked.body, serde_json::json!({"active": false}));
    assert_eq!(machine.body["active"], true);
    assert!(machine.body.get("username").is_none());
    assert!(machine.body.get("sub").is_none());
}

async fn introspection_needs_an_authenticated_confidential_client(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let public = app.client(&alice, &["authorization_code"], "profile", "none");
    let tokens = app.password_tokens(&client, "alice", None).await;
    let access = tokens.str("access_token");
    let wrong = client.with_secret("nope");

    let anonymous = app.introspect(None, &[("token", access)]).await;
    let bad_secret = app.introspect(Some(&wrong), &[("token", access)]).await;
    let by_public = app
        .introspect(None, &[("token", access), ("client_id", &public.id)])
        .await;
    let no_token = app
        .introspect(Some(&client), &[("token_type_hint", "access_token")])
        .await;

    anonymous.assert_error(401, "invalid_client");
    bad_secret.assert_error(401, "invalid_client");
    by_public.assert_error(401, "invalid_client");
    no_token.assert_error(400, "invalid_request");
}
