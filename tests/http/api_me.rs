//! `GET /api/me`, the protected resource (RFC 6750).

use crate::both_backends;
use crate::support::TestApp;

both_backends![
    a_valid_token_reads_the_user_and_the_answer_is_not_cached,
    no_token_is_401_with_a_bare_bearer_challenge,
    another_scheme_is_401_with_a_bearer_challenge,
    bad_or_revoked_tokens_are_invalid_token,
    a_token_without_profile_is_403_insufficient_scope,
    a_client_credentials_token_gets_a_clear_403,
    a_token_in_the_query_string_is_not_accepted,
    malformed_authorization_headers_are_4xx
];

async fn a_valid_token_reads_the_user_and_the_answer_is_not_cached(app: TestApp) {
    let (alice, _, tokens) = app.alice_tokens(None).await;
    let access = tokens.str("access_token");

    for scheme in ["Bearer", "bearer", "BEARER"] {
        let me = app.me(Some(&format!("{scheme} {access}"))).await;
        assert_eq!(me.status, 200, "{scheme}");
        assert_eq!(
            me.body,
            serde_json::json!({"id": alice.id.to_string(), "username": "alice"})
        );
        assert_eq!(me.header("cache-control"), "no-store");
    }
}

async fn no_token_is_401_with_a_bare_bearer_challenge(app: TestApp) {
    let me = app.me(None).await;

    assert_eq!(me.status, 401);
    assert_eq!(
        me.header("www-authenticate"),
        "Bearer realm=\"oauth2-server\""
    );
}

async fn another_scheme_is_401_with_a_bearer_challenge(app: TestApp) {
    let me = app.me(Some("invalid token")).await;

    assert_eq!(me.status, 401);
    assert!(me.header("www-authenticate").starts_with("Bearer"));
}

async fn bad_or_revoked_tokens_are_invalid_token(app: TestApp) {
    let (_, client, tokens) = app.alice_tokens(None).await;
    app.revoke(Some(&client), &[("token", tokens.str("access_token"))])
        .await;

    for token in [
        "invalid",
        tokens.str("access_token"),
        tokens.str("refresh_token"),
    ] {
        let me = app.me_bearer(token).await;
        assert_eq!(me.status, 401);
        assert!(
            me.header("www-authenticate")
                .contains("error=\"invalid_token\""),
            "{}",
            me.header("www-authenticate")
        );
        assert_eq!(me.error(), "invalid_token");
    }
}

async fn a_token_without_profile_is_403_insufficient_scope(app: TestApp) {
    let (_, _, email_only) = app.alice_tokens(Some("email")).await;

    let me = app.me_bearer(email_only.str("access_token")).await;

    assert_eq!(me.status, 403);
    assert!(me
        .header("www-authenticate")
        .contains("error=\"insufficient_scope\""));
    assert!(me.header("www-authenticate").contains("scope=\"profile\""));
}

async fn a_client_credentials_token_gets_a_clear_403(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let machine = app
        .token(
            Some(&client),
            &[("grant_type", "client_credentials"), ("scope", "profile")],
        )
        .await;

    let me = app.me_bearer(machine.str("access_token")).await;

    assert_eq!(me.status, 403);
    assert_eq!(me.error(), "insufficient_scope");
}

async fn a_token_in_the_query_string_is_not_accepted(app: TestApp) {
    let access = app.alice_access_token(None).await;

    let response = app.get(&format!("/api/me?access_token={access}")).await;

    assert_eq!(response.status().as_u16(), 401);
}

/// RFC 6750 §2.1: a header that is not `Bearer` and one token is refused;
/// the same rule as BR-06, checked by the same body.
async fn malformed_authorization_headers_are_4xx(app: TestApp) {
    crate::security_bearer::br_06_malformed_authorization_headers_are_4xx(app).await;
}
