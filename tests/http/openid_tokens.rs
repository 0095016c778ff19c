//! ID tokens over HTTP, through the real sign-up, consent and registration
//! pages (OpenID Connect Core 1.0 §2, §3.1.3.3, §3.2.2.5, §11, §12.2).
//! The payload is decoded here; the signature is verified by the relying
//! party tests, but the JOSE header must name `alg` and `kid`.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use domain::id_token::JwsAlgorithm;

use crate::both_backends;
use crate::support::web::{encode, fields, WebUser};
use crate::support::{location_params, TestApp, REDIRECT_URI, VERIFIER};

both_backends![
    the_code_flow_returns_an_id_token_with_every_claim,
    the_nonce_is_echoed_exactly_and_left_out_when_not_sent,
    a_refresh_token_needs_offline_access_and_a_refresh_keeps_the_authentication,
    without_openid_there_is_no_id_token,
    implicit_id_token_needs_a_nonce_and_carries_the_claims_of_the_scope,
    implicit_id_token_token_carries_at_hash,
    the_registration_page_offers_the_openid_implicit_response_types,
    the_password_grant_never_returns_an_id_token
];

both_backends!(
    settings = &["--disable-grant", "implicit"],
    implicit_id_token_is_refused_when_the_implicit_grant_is_off
);

const ALL_SCOPES: &str = "openid profile email offline_access";

/// The header and the payload of a compact JWS, as JSON.
fn decode(id_token: &str) -> (Value, Value) {
    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS: {id_token}");
    let json = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
    };
    (json(parts[0]), json(parts[1]))
}

fn now_seconds() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// alice, signed up and so signed in, with a confidential code-flow client
/// registered on the page for every OpenID scope.
async fn alice_with_openid_client(app: &TestApp) -> (WebUser<'_>, crate::support::TestClient) {
    let alice = WebUser::signed_up(app, "alice").await;
    let form = vec![
        ("client_name", "RP".to_owned()),
        ("client_uri", "https://client.example.com".to_owned()),
        ("scope", ALL_SCOPES.to_owned()),
        ("redirect_uri", REDIRECT_URI.to_owned()),
        ("grant_type", "authorization_code\nrefresh_token".to_owned()),
        ("response_type", "code".to_owned()),
        (
            "token_endpoint_auth_method",
            "client_secret_basic".to_owned(),
        ),
    ];
    let (id, secret) = alice.create_client(&fields(&form)).await;
    (
        alice,
        crate::support::TestClient {
            id,
            secret: secret.unwrap_or_default(),
        },
    )
}

/// A code request of `client_id` for `scope`, with `extra` query parameters.
fn code_query(client_id: &str, scope: &str, extra: &str) -> String {
    let challenge = domain::pkce::CodeChallenge::s256_of(VERIFIER);
    format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope={}&state=st&code_challenge={challenge}&code_challenge_method=S256{extra}",
        encode(REDIRECT_URI),
        encode(scope)
    )
}

/// Consents on the page of `query`; the redirect's parameters.
async fn consent(visitor: &WebUser<'_>, query: &str) -> std::collections::HashMap<String, String> {
    let approved = visitor.submit_at(query, &[("confirm", "yes")]).await;
    assert_eq!(approved.status, 302, "{}", approved.body);
    location_params(approved.location())
}

async fn the_code_flow_returns_an_id_token_with_every_claim(app: TestApp) {
    let (alice, client) = alice_with_openid_client(&app).await;
    let signed_in_at = now_seconds();
    let user = app.services.find_user_by_name("alice").unwrap().unwrap();

    let params = consent(
        &alice,
        &code_query(&client.id, "openid profile", "&nonce=n-0S6_WzA2Mj"),
    )
    .await;
    let tokens = app.redeem(&client, &params["code"]).await;

    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let (header, claims) = decode(tokens.str("id_token"));
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert_eq!(claims["iss"], app.address);
    assert_eq!(claims["sub"], user.id.to_string());
    assert_eq!(claims["aud"], client.id);
    assert_eq!(claims["azp"], client.id);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 3600, "ID_TOKEN_TTL");
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!(
        (signed_in_at - 5..=signed_in_at + 5).contains(&auth_time) && auth_time <= iat,
        "auth_time is when alice signed up and in: {auth_time} vs {signed_in_at}"
    );
    assert_eq!(
        claims["at_hash"],
        JwsAlgorithm::Rs256.half_hash(tokens.str("access_token"))
    );
    // Core §5.4: with an access token, the claims come from UserInfo.
    assert!(claims.get("preferred_username").is_none());
    // Core §11: no offline_access, no refresh token.
    assert!(
        tokens.body.get("refresh_token").is_none(),
        "{:?}",
        tokens.body
    );
}

async fn the_nonce_is_echoed_exactly_and_left_out_when_not_sent(app: TestApp) {
    let (alice, client) = alice_with_openid_client(&app).await;
    let odd = "  Ünïcødé &=?#/+ nonce  ";

    let with = consent(
        &alice,
        &code_query(&client.id, "openid", &format!("&nonce={}", encode(odd))),
    )
    .await;
    let without = consent(&alice, &code_query(&client.id, "openid", "&prompt=consent")).await;
    let with = app.redeem(&client, &with["code"]).await;
    let without = app.redeem(&client, &without["code"]).await;

    assert_eq!(decode(with.str("id_token")).1["nonce"], odd);
    assert!(decode(without.str("id_token")).1.get("nonce").is_none());
    let too_long = format!("&nonce={}", "n".repeat(513));
    let refused = alice
        .get(&code_query(&client.id, "openid", &too_long))
        .await;
    assert_eq!(
        location_params(refused.location())["error"],
        "invalid_request"
    );
}

async fn a_refresh_token_needs_offline_access_and_a_refresh_keeps_the_authentication(app: TestApp) {
    let (alice, client) = alice_with_openid_client(&app).await;
    // prompt=consent: Core §11 lets offline_access through only then.
    let params = consent(
        &alice,
        &code_query(
            &client.id,
            "openid offline_access",
            "&nonce=first&prompt=consent",
        ),
    )
    .await;
    let first = app.redeem(&client, &params["code"]).await;
    let (_, original) = decode(first.str("id_token"));
    assert!(!first.str("refresh_token").is_empty(), "{:?}", first.body);
    app.advance(Duration::from_secs(600));

    let refreshed = app.refresh(&client, first.str("refresh_token")).await;

    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    let (header, claims) = decode(refreshed.str("id_token"));
    assert_eq!(header["alg"], "RS256");
    for same in ["iss", "sub", "aud", "azp", "auth_time", "sid", "amr"] {
        assert_eq!(claims[same], original[same], "{same}");
    }
    assert!(claims["iat"].as_i64().unwrap() >= original["iat"].as_i64().unwrap() + 600);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    // Core §12.2: SHOULD NOT carry a nonce.
    assert!(claims.get("nonce").is_none());
    assert_eq!(
        claims["at_hash"],
        JwsAlgorithm::Rs256.half_hash(refreshed.str("access_token"))
    );
}

async fn without_openid_there_is_no_id_token(app: TestApp) {
    let (alice, client) = alice_with_openid_client(&app).await;

    let params = consent(&alice, &code_query(&client.id, "profile", "&nonce=n")).await;
    let tokens = app.redeem(&client, &params["code"]).await;

    assert_eq!(tokens.status, 200);
    assert!(tokens.body.get("id_token").is_none(), "{:?}", tokens.body);
    assert!(!tokens.str("refresh_token").is_empty(), "today's rule");
}

/// alice, signed in, with a public client registered on the page for the
/// OpenID implicit response types.
async fn alice_with_implicit_client(app: &TestApp) -> (WebUser<'_>, String) {
    let alice = WebUser::signed_up(app, "alice").await;
    let (id, _) = alice
        .create_client(&[
            ("client_name", "SPA"),
            ("scope", "openid profile"),
            ("redirect_uri", REDIRECT_URI),
            ("grant_type", "implicit"),
            ("response_type", "id_token"),
            ("response_type", "id_token token"),
            ("token_endpoint_auth_method", "none"),
        ])
        .await;
    (alice, id)
}

fn implicit_query(client_id: &str, response_type: &str, extra: &str) -> String {
    format!(
        "/oauth/authorize?response_type={}&client_id={client_id}&redirect_uri={}&scope=openid%20profile&state=imp{extra}",
        encode(response_type),
        encode(REDIRECT_URI)
    )
}

async fn the_registration_page_offers_the_openid_implicit_response_types(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;

    let form = alice.get("/create_client").await;

    for (id, value) in [
        ("response_type_id_token", "id_token"),
        ("response_type_id_token_token", "id_token token"),
    ] {
        assert!(
            form.body
                .contains(&format!("id=\"{id}\" value=\"{value}\"")),
            "{id}"
        );
    }
}

async fn implicit_id_token_needs_a_nonce_and_carries_the_claims_of_the_scope(app: TestApp) {
    let (alice, client_id) = alice_with_implicit_client(&app).await;

    let refused = alice.get(&implicit_query(&client_id, "id_token", "")).await;
    assert_eq!(refused.status, 302);
    assert!(
        refused
            .location()
            .starts_with(&format!("{REDIRECT_URI}#error=invalid_request")),
        "{}",
        refused.location()
    );
    assert_eq!(location_params(refused.location())["state"], "imp");

    let approved = alice
        .submit_at(
            &implicit_query(&client_id, "id_token", "&nonce=imp-n"),
            &[("confirm", "yes")],
        )
        .await;

    assert!(approved
        .location()
        .starts_with(&format!("{REDIRECT_URI}#id_token=")));
    let params = location_params(approved.location());
    assert!(!params.contains_key("access_token"));
    assert_eq!(params["state"], "imp");
    let (header, claims) = decode(&params["id_token"]);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["nonce"], "imp-n");
    assert_eq!(claims["aud"], client_id);
    assert_eq!(claims["preferred_username"], "alice");
    assert!(claims.get("at_hash").is_none());
}

async fn implicit_id_token_token_carries_at_hash(app: TestApp) {
    let (alice, client_id) = alice_with_implicit_client(&app).await;

    let params = consent(
        &alice,
        &implicit_query(&client_id, "id_token token", "&nonce=n2"),
    )
    .await;

    let (_, claims) = decode(&params["id_token"]);
    assert_eq!(params["token_type"], "Bearer");
    assert!(!params.contains_key("refresh_token"));
    assert_eq!(
        claims["at_hash"],
        JwsAlgorithm::Rs256.half_hash(&params["access_token"])
    );
    assert_eq!(claims["nonce"], "n2");
    assert!(claims.get("preferred_username").is_none());
}

async fn the_password_grant_never_returns_an_id_token(app: TestApp) {
    let alice = app.user("alice");
    let client = app.client(
        &alice,
        &["password", "refresh_token"],
        ALL_SCOPES,
        "client_secret_basic",
    );

    let tokens = app
        .password_tokens(&client, "alice", Some(ALL_SCOPES))
        .await;
    let refreshed = app.refresh(&client, tokens.str("refresh_token")).await;

    assert!(tokens.body.get("id_token").is_none(), "{:?}", tokens.body);
    assert_eq!(refreshed.status, 200);
    assert!(refreshed.body.get("id_token").is_none());
}

async fn implicit_id_token_is_refused_when_the_implicit_grant_is_off(app: TestApp) {
    let alice = WebUser::signed_up(&app, "alice").await;
    let (client_id, _) = alice
        .create_client(&[
            ("client_name", "RP"),
            ("scope", "openid profile"),
            ("redirect_uri", REDIRECT_URI),
            ("grant_type", "authorization_code"),
            ("response_type", "code"),
            ("token_endpoint_auth_method", "client_secret_basic"),
        ])
        .await;

    let refused = alice
        .get(&implicit_query(&client_id, "id_token", "&nonce=n"))
        .await;

    assert!(refused.location().starts_with(&format!("{REDIRECT_URI}#")));
    assert_eq!(
        location_params(refused.location())["error"],
        "unsupported_response_type"
    );
}
