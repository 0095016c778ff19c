//! The server's metadata: `GET /.well-known/openid-configuration`
//! (OpenID Connect Discovery 1.0 §3, §4) and `GET
//! /.well-known/oauth-authorization-server` (RFC 8414), the same members.

use serde_json::{json, Value};

use crate::both_backends;
use crate::support::TestApp;

both_backends![
    discovery_lists_every_member_and_exactly_what_the_server_supports,
    the_rfc_8414_document_carries_the_same_values,
    both_documents_are_cacheable_json_readable_from_any_origin,
    every_advertised_endpoint_answers,
];
both_backends!(
    settings = &[
        "--disable-grant",
        "implicit",
        "--scopes",
        "profile email read:files"
    ],
    without_implicit_only_code_and_query_and_the_configured_scopes_follow_the_openid_ones,
);
both_backends!(
    settings = &["--issuer", PATH_ISSUER],
    a_path_issuer_is_repeated_byte_for_byte
);
both_backends!(
    settings = &["--issuer", SLASH_ISSUER],
    a_trailing_slash_issuer_is_repeated_and_not_doubled
);

/// Discovery §4.1: the document of issuer `I` is at
/// `I/.well-known/openid-configuration`.
async fn discovery(app: &TestApp) -> Value {
    let response = app.anonymous_get("/.well-known/openid-configuration").await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("discovery is JSON")
}

/// The implicit grant's response types: `token` (RFC 6749 §4.2) and, with
/// issue 13's ID tokens, `id_token` and `id_token token` (Core §3.2).
const IMPLICIT_RESPONSE_TYPES: [&str; 3] = ["token", "id_token", "id_token token"];

async fn discovery_lists_every_member_and_exactly_what_the_server_supports(app: TestApp) {
    let mut body = discovery(&app).await;
    let issuer = app.address.clone();

    // Discovery §3: `code` always; the implicit ones with the implicit
    // grant on (as by default). Taken out to compare the rest exactly.
    let response_types = body
        .as_object_mut()
        .unwrap()
        .remove("response_types_supported")
        .expect("response_types_supported (REQUIRED)");
    let response_types: Vec<&str> = response_types
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(response_types[0], "code");
    assert!(response_types.contains(&"token"), "{response_types:?}");
    assert!(
        response_types[1..]
            .iter()
            .all(|r| IMPLICIT_RESPONSE_TYPES.contains(r)),
        "{response_types:?}"
    );
    assert_eq!(
        body,
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth/authorize"),
            "token_endpoint": format!("{issuer}/oauth/token"),
            "userinfo_endpoint": format!("{issuer}/oauth/userinfo"),
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "end_session_endpoint": format!("{issuer}/oauth/logout"),
            "revocation_endpoint": format!("{issuer}/oauth/revoke"),
            "introspection_endpoint": format!("{issuer}/oauth/introspect"),
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": ["authorization_code", "implicit", "password", "client_credentials", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": [
                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "amr",
                "sid", "name", "preferred_username", "updated_at", "email", "email_verified"
            ],
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "display_values_supported": ["page"],
            "claim_types_supported": ["normal"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
        })
    );
}

async fn the_rfc_8414_document_carries_the_same_values(app: TestApp) {
    let discovery = app
        .anonymous_get("/.well-known/openid-configuration")
        .await
        .bytes()
        .await
        .unwrap();
    let oauth = app
        .anonymous_get("/.well-known/oauth-authorization-server")
        .await
        .bytes()
        .await
        .unwrap();

    assert_eq!(discovery, oauth);
    assert_eq!(app.metadata().await["issuer"], app.address.as_str());
}

async fn both_documents_are_cacheable_json_readable_from_any_origin(app: TestApp) {
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let response = app
            .http
            .get(app.url(path))
            .header("Origin", "https://rp.example.net")
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert_eq!(header("content-type"), "application/json", "{path}");
        assert_eq!(header("cache-control"), "public, max-age=3600", "{path}");
        assert_eq!(header("access-control-allow-origin"), "*", "{path}");
    }
}

async fn every_advertised_endpoint_answers(app: TestApp) {
    let body = discovery(&app).await;
    let endpoints = [
        ("authorization_endpoint", "GET"),
        ("token_endpoint", "POST"),
        ("userinfo_endpoint", "GET"),
        ("jwks_uri", "GET"),
        ("end_session_endpoint", "GET"),
        ("revocation_endpoint", "POST"),
        ("introspection_endpoint", "POST"),
    ];
    for (member, method) in endpoints {
        let url = body[member].as_str().unwrap_or_else(|| panic!("{member}"));
        assert!(url.starts_with(&app.address), "{member}: {url}");
        let response = app
            .http
            .request(method.parse().unwrap(), url)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        // Answered by the endpoint itself: an error of its own, not "no
        // such route" and not "wrong method".
        assert!(
            status != 404 && status != 405 && status < 500,
            "{member} {method} {url}: {status}"
        );
    }
}

async fn without_implicit_only_code_and_query_and_the_configured_scopes_follow_the_openid_ones(
    app: TestApp,
) {
    let body = discovery(&app).await;

    assert_eq!(body["response_types_supported"], json!(["code"]));
    assert_eq!(body["response_modes_supported"], json!(["query"]));
    assert_eq!(
        body["grant_types_supported"],
        json!([
            "authorization_code",
            "password",
            "client_credentials",
            "refresh_token"
        ])
    );
    assert_eq!(
        body["scopes_supported"],
        json!(["openid", "profile", "email", "offline_access", "read:files"])
    );
}

/// Discovery §4.3 and RFC 8414 §3.3: `issuer` is the configured issuer
/// byte for byte, with a path or a trailing slash; the endpoints hang off
/// it without a doubled slash.
async fn assert_issuer_and_endpoints(app: &TestApp, issuer: &str, base: &str) {
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let body: Value = app.anonymous_get(path).await.json().await.unwrap();
        assert_eq!(body["issuer"], issuer, "{path}");
        assert_eq!(body["token_endpoint"], format!("{base}/oauth/token"));
        assert_eq!(body["userinfo_endpoint"], format!("{base}/oauth/userinfo"));
        assert_eq!(body["jwks_uri"], format!("{base}/.well-known/jwks.json"));
    }
}

const PATH_ISSUER: &str = "http://Auth.example.com:8443/tenant/a";
const SLASH_ISSUER: &str = "http://auth.example.com/";

async fn a_path_issuer_is_repeated_byte_for_byte(app: TestApp) {
    assert_issuer_and_endpoints(&app, PATH_ISSUER, PATH_ISSUER).await;
}

async fn a_trailing_slash_issuer_is_repeated_and_not_doubled(app: TestApp) {
    assert_issuer_and_endpoints(&app, SLASH_ISSUER, "http://auth.example.com").await;
}
