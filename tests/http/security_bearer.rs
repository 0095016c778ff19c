//! SECURITY.md §8, bearer tokens at `/api/me` (BR-01 … BR-07, RFC 6750).

use crate::both_backends;
use crate::support::TestApp;

both_backends![
    br_01_no_token_is_401_with_a_bearer_challenge,
    br_02_bad_token_is_invalid_token,
    br_03_token_without_profile_is_403_insufficient_scope,
    br_04_tokens_are_accepted_in_the_header_only,
    br_05_scheme_name_is_case_insensitive,
    br_06_malformed_authorization_headers_are_4xx,
    br_07_resource_responses_are_not_cached
];

async fn br_01_no_token_is_401_with_a_bearer_challenge(app: TestApp) {
    let me = app.me(None).await;

    assert_eq!(me.status, 401);
    assert!(me.header("www-authenticate").starts_with("Bearer"));
}

async fn br_02_bad_token_is_invalid_token(app: TestApp) {
    for token in ["invalid", "A", &"x".repeat(43)] {
        let me = app.me_bearer(token).await;
        assert_eq!(me.status, 401);
        assert!(me
            .header("www-authenticate")
            .contains("error=\"invalid_token\""));
    }
}

async fn br_03_token_without_profile_is_403_insufficient_scope(app: TestApp) {
    let token = app.alice_access_token(Some("email")).await;

    let me = app.me_bearer(&token).await;

    assert_eq!(me.status, 403);
    assert!(me
        .header("www-authenticate")
        .contains("error=\"insufficient_scope\""));
}

async fn br_04_tokens_are_accepted_in_the_header_only(app: TestApp) {
    let token = app.alice_access_token(None).await;

    let in_query = app.get(&format!("/api/me?access_token={token}")).await;
    let in_body = app
        .http
        .post(app.url("/api/me"))
        .form(&[("access_token", token.as_str())])
        .send()
        .await
        .unwrap();

    assert!(in_query.status().is_client_error());
    assert_ne!(in_query.status().as_u16(), 200);
    assert!(in_body.status().is_client_error());
    assert_eq!(app.me_status(&token).await, 200);
}

async fn br_05_scheme_name_is_case_insensitive(app: TestApp) {
    let token = app.alice_access_token(None).await;
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        assert_eq!(
            app.me(Some(&format!("{scheme} {token}"))).await.status,
            200,
            "{scheme}"
        );
    }
}

/// Also the body of `api_me::malformed_authorization_headers_are_4xx`,
/// the same rule.
pub(crate) async fn br_06_malformed_authorization_headers_are_4xx(app: TestApp) {
    let long = format!("Bearer {}", "a".repeat(8192));
    app.assert_me_refuses_headers(&[
        "Bearer",
        "Bearer a b",
        "Bearer  ",
        "Bearer   ",
        "Bearer a\"b",
        "Basic Zm9vOmJhcg==",
        long.as_str(),
        "Bearer a,b",
        "Token abc",
        "",
    ])
    .await;
    for raw in [
        &b"Bearer \xc3\xa9t\xc3\xa9"[..],
        b"Bearer \xff\xfe",
        b"Bearer \x01",
    ] {
        let Ok(value) = reqwest::header::HeaderValue::from_bytes(raw) else {
            // Only the control character cannot be sent at all.
            assert_eq!(raw, &b"Bearer \x01"[..]);
            continue;
        };
        let response = app.me_with_raw_authorization(value).await;
        assert!(response.status().is_client_error(), "{raw:?}");
    }
}

async fn br_07_resource_responses_are_not_cached(app: TestApp) {
    let token = app.alice_access_token(None).await;

    let me = app.me_bearer(&token).await;

    assert_eq!(me.status, 200);
    let cache = me.header("cache-control");
    assert!(
        cache.contains("no-store") || cache.contains("private"),
        "{cache}"
    );
}
