//! What the tests of the token grants share: forms, credentials, a code
//! issued to a client, and the requests they repeat.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

pub use crate::client::{AuthMethod, Client};
pub use crate::error::{ErrorCode, OAuthError, SecurityEvent};
pub use crate::service::fixtures::{world, World, ALICE_PASSWORD};

use crate::code::AuthorizationCode;
use crate::ids::FamilyId;
use crate::params::Params;
use crate::pkce::CodeChallenge;
use crate::ports::{Clock, CodeRepository, TokenRepository};
use crate::scope::Scope;
use crate::secret::SecretDigest;
use crate::testing::t;

use super::TokenGrant;

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const REDIRECT: &str = "https://client.example.com/cb";

pub fn basic(client: &Client, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{secret}", client.id))
    )
}

/// A world with a registered `client_secret_basic` client and its secret.
pub fn with_basic_client() -> (World, Client, String) {
    let w = world();
    let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
    (w, client, secret)
}

pub fn form(pairs: &[(&str, &str)]) -> Params {
    Params::from_pairs(pairs.iter().copied())
}

pub fn error_of(result: Result<TokenGrant, OAuthError>) -> ErrorCode {
    result.map(|_| ()).unwrap_err().code
}

/// A token request with `pairs`, the client authenticating with Basic.
pub fn token_basic(
    w: &World,
    client: &Client,
    secret: &str,
    pairs: &[(&str, &str)],
) -> Result<TokenGrant, OAuthError> {
    w.services.token(Some(&basic(client, secret)), &form(pairs))
}

/// The fields of a password request for `username`, plus `extra`.
pub fn password_pairs<'a>(
    username: &'a str,
    password: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ];
    pairs.extend_from_slice(extra);
    pairs
}

/// A client credentials request, the client authenticating with Basic.
pub fn client_credentials_request(
    w: &World,
    client: &Client,
    secret: &str,
) -> Result<TokenGrant, OAuthError> {
    token_basic(w, client, secret, &[("grant_type", "client_credentials")])
}

/// Stores an unused code `code` for alice and `client`, bound to
/// [`REDIRECT`] and [`VERIFIER`], valid from t=0 to t=60.
pub fn issue_code(w: &World, client: &Client, code: &str) {
    w.store
        .insert_code(&AuthorizationCode {
            digest: SecretDigest::of(code),
            client_id: client.id.clone(),
            user_id: w.alice.id,
            redirect_uri: Some(REDIRECT.to_owned()),
            scope: Scope::parse("profile").unwrap(),
            challenge: CodeChallenge::parse(Some(&CodeChallenge::s256_of(VERIFIER)), Some("S256"))
                .unwrap(),
            family: FamilyId::from_random_bytes([42; 16]),
            issued_at: t(0),
            expires_at: t(60),
            used_at: None,
            nonce: None,
            authentication: None,
        })
        .unwrap();
}

pub fn redeem(
    w: &World,
    client: &Client,
    secret: &str,
    code: &str,
) -> Result<TokenGrant, OAuthError> {
    token_basic(
        w,
        client,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
}

/// alice's password request, the client authenticating with Basic.
pub fn password_request(
    w: &World,
    client: &Client,
    secret: &str,
) -> Result<TokenGrant, OAuthError> {
    token_basic(
        w,
        client,
        secret,
        &password_pairs("alice", ALICE_PASSWORD, &[]),
    )
}

pub fn password_grant(w: &World, client: &Client, secret: &str) -> TokenGrant {
    password_request(w, client, secret).unwrap()
}

/// The refresh token of a fresh password grant.
pub fn password_refresh_token(w: &World, client: &Client, secret: &str) -> String {
    let grant = password_grant(w, client, secret);
    grant.tokens.refresh_token.unwrap().expose().to_owned()
}

pub fn refresh(
    w: &World,
    client: &Client,
    secret: &str,
    token: &str,
) -> Result<TokenGrant, OAuthError> {
    token_basic(
        w,
        client,
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
}

pub fn is_live(w: &World, token: &str) -> bool {
    w.store
        .find_token(&SecretDigest::of(token))
        .unwrap()
        .is_some_and(|t| t.is_active(w.clock.now()))
}
