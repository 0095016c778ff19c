//! `GET|POST /oauth/userinfo` (OpenID Connect Core 1.0 §5.3; the token as
//! RFC 6750 §2.1 and §2.2 carry it; refusals as RFC 6750 §3).

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{answer, Answer, TestApp, TestClient};
use domain::user::User;

/// Until issue 13's always-known scopes are merged, the server is told
/// them; afterwards this only repeats them.
const OPENID_SCOPES: &[&str] = &["--scopes", "openid profile email offline_access"];

both_backends!(
    settings = OPENID_SCOPES,
    get_with_the_header_answers_sub_and_the_claims_of_the_scope,
    post_with_the_header_or_the_form_body_gives_the_same_answer,
    each_scope_releases_its_claims_only,
    updated_at_moves_when_the_name_is_set,
    no_token_is_401_with_a_bare_challenge,
    unknown_revoked_expired_and_refresh_tokens_are_401_invalid_token,
    a_token_without_openid_is_403_insufficient_scope,
    a_client_credentials_token_is_401_invalid_token,
    a_token_sent_twice_or_two_ways_is_400_invalid_request,
    a_token_in_the_query_is_not_read,
    browsers_may_call_it_from_any_origin,
    other_methods_are_405,
);

/// `alice` (with an address and a name) and a client of hers that may ask
/// for the OpenID scopes.
fn alice_and_client(app: &TestApp) -> (User, TestClient) {
    let alice = app.user("alice");
    app.services
        .set_email(&alice.id, Some("Alice@Example.com"), true)
        .unwrap();
    app.services
        .set_display_name(&alice.id, Some("Alice Liddell"))
        .unwrap();
    let client = app.client(
        &alice,
        &["authorization_code", "refresh_token", "client_credentials"],
        "openid profile email",
        "client_secret_basic",
    );
    (alice, client)
}

/// The tokens of a code flow of alice's with `scope`.
async fn code_flow(app: &TestApp, client: &TestClient, alice: &User, scope: &str) -> Answer {
    let code = app.code(client, alice, Some(scope));
    let tokens = app.redeem(client, &code).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    tokens
}

/// An access token of alice's with `scope`.
async fn access_token(app: &TestApp, scope: &str) -> (User, String) {
    let (alice, client) = alice_and_client(app);
    let tokens = code_flow(app, &client, &alice, scope).await;
    (alice, tokens.str("access_token").to_owned())
}

async fn get(app: &TestApp, authorization: Option<&str>) -> Answer {
    let mut request = app.http.get(app.url("/oauth/userinfo"));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    answer(request.send().await.unwrap()).await
}

async fn post(app: &TestApp, authorization: Option<&str>, form: &[(&str, &str)]) -> Answer {
    let mut request = app.http.post(app.url("/oauth/userinfo")).form(form);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    answer(request.send().await.unwrap()).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[track_caller]
fn assert_challenge(answer: &Answer, status: u16, error: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.error(), error);
    let challenge = answer.header("www-authenticate");
    assert!(
        challenge.starts_with("Bearer realm=\"oauth2-server\"")
            && challenge.contains(&format!("error=\"{error}\"")),
        "{challenge}"
    );
}

async fn get_with_the_header_answers_sub_and_the_claims_of_the_scope(app: TestApp) {
    let (alice, token) = access_token(&app, "openid profile email").await;
    let stored = app.services.find_user(&alice.id).unwrap().unwrap();

    let info = get(&app, Some(&bearer(&token))).await;

    assert_eq!(info.status, 200);
    assert_eq!(
        info.body,
        json!({
            "sub": alice.id.to_string(),
            "name": "Alice Liddell",
            "preferred_username": "alice",
            "updated_at": stored.updated_at.unix_seconds(),
            "email": "Alice@Example.com",
            "email_verified": true,
        })
    );
    assert!(info.header("content-type").starts_with("application/json"));
    // Core §5.3.2 answers personal data: never cached.
    assert_eq!(info.header("cache-control"), "no-store");
}

async fn post_with_the_header_or_the_form_body_gives_the_same_answer(app: TestApp) {
    let (alice, token) = access_token(&app, "openid profile").await;

    let by_get = get(&app, Some(&bearer(&token))).await;
    let by_header = post(&app, Some(&bearer(&token)), &[]).await;
    let by_body = post(&app, None, &[("access_token", &token)]).await;

    assert_eq!(by_get.status, 200);
    assert_eq!(by_get.body["sub"], alice.id.to_string());
    for answer in [&by_header, &by_body] {
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(answer.body, by_get.body);
    }
}

async fn each_scope_releases_its_claims_only(app: TestApp) {
    let (alice, client) = alice_and_client(&app);
    let keys = |body: &Value| -> Vec<String> {
        let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    for (scope, claims) in [
        ("openid", &["sub"][..]),
        (
            "openid profile",
            &["name", "preferred_username", "sub", "updated_at"][..],
        ),
        ("openid email", &["email", "email_verified", "sub"][..]),
    ] {
        let tokens = code_flow(&app, &client, &alice, scope).await;
        let info = get(&app, Some(&bearer(tokens.str("access_token")))).await;
        assert_eq!(info.status, 200, "{scope}");
        assert_eq!(keys(&info.body), claims, "{scope}");
    }
}

async fn updated_at_moves_when_the_name_is_set(app: TestApp) {
    let (alice, token) = access_token(&app, "openid profile").await;
    let before = get(&app, Some(&bearer(&token))).await.body["updated_at"]
        .as_i64()
        .unwrap();

    app.advance(Duration::from_secs(120));
    // What `oauth2-server user set-name` runs.
    app.services
        .set_display_name(&alice.id, Some("Alice P. Liddell"))
        .unwrap();
    let after = get(&app, Some(&bearer(&token))).await.body;

    assert_eq!(after["name"], "Alice P. Liddell");
    let moved = after["updated_at"].as_i64().unwrap() - before;
    assert!((120..=121).contains(&moved), "{moved}");
}

async fn no_token_is_401_with_a_bare_challenge(app: TestApp) {
    for answer in [get(&app, None).await, post(&app, None, &[]).await] {
        assert_eq!(answer.status, 401);
        // RFC 6750 §3.1: no error code when no credentials were sent.
        assert_eq!(
            answer.header("www-authenticate"),
            "Bearer realm=\"oauth2-server\""
        );
    }
    let basic = get(&app, Some("Basic YWxpY2U6c2VjcmV0")).await;
    assert_eq!(basic.status, 401);
}

async fn unknown_revoked_expired_and_refresh_tokens_are_401_invalid_token(app: TestApp) {
    let (alice, client) = alice_and_client(&app);
    let revoked = code_flow(&app, &client, &alice, "openid profile").await;
    app.revoke(Some(&client), &[("token", revoked.str("access_token"))])
        .await;
    // A request without `openid` keeps today's refresh-token rule.
    let with_refresh = code_flow(&app, &client, &alice, "profile").await;
    let refresh = with_refresh.str("refresh_token");
    assert!(!refresh.is_empty(), "{:?}", with_refresh.body);

    for (case, token) in [
        ("unknown", "no-such-token"),
        ("revoked", revoked.str("access_token")),
        ("refresh token", refresh),
    ] {
        let answer = get(&app, Some(&bearer(token))).await;
        assert_eq!(answer.status, 401, "{case}");
        assert_challenge(&answer, 401, "invalid_token");
    }

    let expiring = code_flow(&app, &client, &alice, "openid").await;
    app.advance(Duration::from_secs(3601));
    let expired = get(&app, Some(&bearer(expiring.str("access_token")))).await;
    assert_challenge(&expired, 401, "invalid_token");
}

async fn a_token_without_openid_is_403_insufficient_scope(app: TestApp) {
    let (_, token) = access_token(&app, "profile email").await;

    for answer in [
        get(&app, Some(&bearer(&token))).await,
        post(&app, None, &[("access_token", &token)]).await,
    ] {
        assert_challenge(&answer, 403, "insufficient_scope");
        assert!(answer
            .header("www-authenticate")
            .contains("scope=\"openid\""));
    }
}

/// Core §5.3: UserInfo takes the access token of an OpenID Connect
/// authentication request; a client's own token names no user, and no
/// scope would change that, so it is an invalid token here (RFC 6750
/// §3.1), not an insufficient scope.
async fn a_client_credentials_token_is_401_invalid_token(app: TestApp) {
    let (_, client) = alice_and_client(&app);
    for scope in ["openid", "profile"] {
        let machine = app
            .token(
                Some(&client),
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(machine.status, 200, "{:?}", machine.body);

        let answer = get(&app, Some(&bearer(machine.str("access_token")))).await;

        assert_challenge(&answer, 401, "invalid_token");
    }
}

async fn a_token_sent_twice_or_two_ways_is_400_invalid_request(app: TestApp) {
    let (_, token) = access_token(&app, "openid").await;

    let both = post(&app, Some(&bearer(&token)), &[("access_token", &token)]).await;
    let twice = post(
        &app,
        None,
        &[("access_token", &token), ("access_token", &token)],
    )
    .await;
    let malformed_header = get(&app, Some("Bearer two tokens")).await;
    let malformed_body = post(&app, None, &[("access_token", "not a token")]).await;

    for (case, answer) in [
        ("header and body", both),
        ("body twice", twice),
        ("malformed header", malformed_header),
        ("malformed body", malformed_body),
    ] {
        assert_eq!(answer.status, 400, "{case}");
        assert_challenge(&answer, 400, "invalid_request");
    }
}

/// RFC 9700 §4.3.2 (and RFC 6750 §2.3 is not implemented): a token in the
/// URL is not read.
async fn a_token_in_the_query_is_not_read(app: TestApp) {
    let (_, token) = access_token(&app, "openid").await;

    let response = app
        .get(&format!("/oauth/userinfo?access_token={token}"))
        .await;

    assert_eq!(response.status().as_u16(), 401);
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Core §5.3.1: UserInfo SHOULD support CORS. Any origin, no credentials
/// (the endpoint reads no cookie), `Authorization` allowed by the
/// preflight, the challenge readable.
async fn browsers_may_call_it_from_any_origin(app: TestApp) {
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/oauth/userinfo"))
        .header("Origin", "https://spa.example.net")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    let headers = preflight.headers();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(header(headers, "access-control-allow-origin"), "*");
    assert!(header(headers, "access-control-allow-methods").contains("GET"));
    assert!(header(headers, "access-control-allow-methods").contains("POST"));
    assert!(header(headers, "access-control-allow-headers")
        .to_ascii_lowercase()
        .contains("authorization"));
    assert!(headers.get("access-control-allow-credentials").is_none());

    let (_, token) = access_token(&app, "openid").await;
    let ok = get(&app, Some(&bearer(&token))).await;
    let refused = get(&app, None).await;
    for answer in [ok, refused] {
        assert_eq!(answer.header("access-control-allow-origin"), "*");
        assert!(answer
            .headers
            .get("access-control-allow-credentials")
            .is_none());
    }
    let refused = get(&app, None).await;
    assert_eq!(
        refused.header("access-control-expose-headers"),
        "WWW-Authenticate"
    );
}

async fn other_methods_are_405(app: TestApp) {
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE] {
        let response = app
            .http
            .request(method.clone(), app.url("/oauth/userinfo"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method}");
        assert!(header(response.headers(), "allow").contains("GET"));
    }
}
