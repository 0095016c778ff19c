//! The server's metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2):
//! one list of members, served as `/.well-known/openid-configuration` and
//! as `/.well-known/oauth-authorization-server` (RFC 8414 §7.1.2 registers
//! the Discovery members for both), naming exactly what this server does.
//! A member for something not built (`registration_endpoint`, encrypted ID
//! tokens, front- or back-channel logout) is left out, so its default of
//! "not supported" holds.

use crate::client::{AuthMethod, GrantType, ResponseType, ServerCapabilities};
use crate::id_token::JwsAlgorithm;

/// Path of the authorization endpoint (RFC 6749 §3.1).
pub const AUTHORIZATION_PATH: &str = "/oauth/authorize";
/// Path of the token endpoint (RFC 6749 §3.2).
pub const TOKEN_PATH: &str = "/oauth/token";
/// Path of the UserInfo endpoint (Core §5.3).
pub const USERINFO_PATH: &str = "/oauth/userinfo";
/// Path of the JWK set (Discovery §3 `jwks_uri`).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Path of the end-session endpoint (RP-Initiated Logout 1.0 §2).
pub const END_SESSION_PATH: &str = "/oauth/logout";
/// Path of the revocation endpoint (RFC 7009).
pub const REVOCATION_PATH: &str = "/oauth/revoke";
/// Path of the introspection endpoint (RFC 7662).
pub const INTROSPECTION_PATH: &str = "/oauth/introspect";

/// The scopes of OpenID Connect (Core §3.1.2.1 `openid`, §5.4 `profile`
/// and `email`, §11 `offline_access`), known to every server.
pub const OPENID_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The claims this server can release (Discovery §3 `claims_supported`):
/// those of the ID token (Core §2) and those of the scopes
/// ([`crate::claims::released_claims`]).
pub const CLAIMS_SUPPORTED: [&str; 16] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "azp",
    "amr",
    "sid",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
];

/// `prompt` values the authorization endpoint acts on (Core §3.1.2.1;
/// `prompt_values_supported` from Initiating User Registration via OpenID
/// Connect 1.0 §4).
pub const PROMPT_VALUES: [&str; 4] = ["none", "login", "consent", "select_account"];

/// The value of one metadata member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataValue {
    /// A string (an identifier or a URL).
    Text(String),
    /// A JSON array of strings.
    Names(Vec<String>),
    /// A JSON boolean.
    Flag(bool),
}

/// The metadata document's members, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// `(name, value)`, each name once.
    pub members: Vec<(&'static str, MetadataValue)>,
}

impl ProviderMetadata {
    /// The metadata of a server whose issuer is `issuer` (as configured,
    /// repeated byte for byte: Discovery §4.3, RFC 8414 §3.3) and which
    /// offers `capabilities`. Endpoints are the issuer with their path
    /// appended (a trailing `/` of the issuer is not doubled).
    #[must_use]
    pub fn new(issuer: &str, capabilities: &ServerCapabilities) -> Self {
        let base = issuer.trim_end_matches('/');
        let url = |path: &str| MetadataValue::Text(format!("{base}{path}"));
        let names = |items: &mut dyn Iterator<Item = &str>| {
            MetadataValue::Names(items.map(str::to_owned).collect())
        };
        let response_types = &capabilities.response_types;
        let mut members = vec![("issuer", MetadataValue::Text(issuer.to_owned()))];
        // Only with a flow that uses it (Discovery §3 REQUIRES it of an
        // OpenID Provider: with neither, this is an OAuth-only server).
        if capabilities
            .grant_types
            .iter()
            .any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::Implicit))
        {
            members.push(("authorization_endpoint", url(AUTHORIZATION_PATH)));
        }
        members.extend([
            ("token_endpoint", url(TOKEN_PATH)),
            ("userinfo_endpoint", url(USERINFO_PATH)),
            ("jwks_uri", url(JWKS_PATH)),
            ("end_session_endpoint", url(END_SESSION_PATH)),
            ("revocation_endpoint", url(REVOCATION_PATH)),
            ("introspection_endpoint", url(INTROSPECTION_PATH)),
        ]);
        // The OpenID scopes first, then the configured ones (Discovery §3:
        // `openid` MUST be listed).
        let mut scopes: Vec<&str> = OPENID_SCOPES.to_vec();
        scopes.extend(capabilities.scopes.tokens().filter(|s| !scopes_has(s)));
        // Without `response_mode` support, the modes are the defaults of
        // the response types offered (OAuth 2.0 Multiple Response Type
        // Encoding Practices §5): `query` for `code`, `fragment` for any
        // response type that returns a token.
        let mut modes = Vec::new();
        if response_types.contains(&ResponseType::Code) {
            modes.push("query");
        }
        if response_types.iter().any(|r| *r != ResponseType::Code) {
            modes.push("fragment");
        }
        let all_methods = || AuthMethod::ALL.iter().map(|m| m.as_str());
        members.extend([
            ("scopes_supported", names(&mut scopes.into_iter())),
            (
                "response_types_supported",
                names(&mut response_types.iter().map(|r| r.as_str())),
            ),
            ("response_modes_supported", names(&mut modes.into_iter())),
            (
                "grant_types_supported",
                names(&mut capabilities.grant_types.iter().map(|g| g.as_str())),
            ),
            // The user's id, the same for every client (Core §8).
            (
                "subject_types_supported",
                names(&mut ["public"].into_iter()),
            ),
            (
                "id_token_signing_alg_values_supported",
                names(&mut JwsAlgorithm::ALL.iter().map(|a| a.as_str())),
            ),
            (
                "token_endpoint_auth_methods_supported",
                names(&mut all_methods()),
            ),
            (
                "revocation_endpoint_auth_methods_supported",
                names(&mut all_methods()),
            ),
            // RFC 7662 §2.1: introspection needs an authenticated client.
            (
                "introspection_endpoint_auth_methods_supported",
                names(
                    &mut AuthMethod::ALL
                        .iter()
                        .filter(|m| m.is_confidential())
                        .map(|m| m.as_str()),
                ),
            ),
            ("claims_supported", names(&mut CLAIMS_SUPPORTED.into_iter())),
            // PKCE with S256 only (RFC 9700 §2.1.1: `plain` is refused).
            (
                "code_challenge_methods_supported",
                names(&mut ["S256"].into_iter()),
            ),
            (
                "prompt_values_supported",
                names(&mut PROMPT_VALUES.into_iter()),
            ),
            // `display` is accepted and ignored: every page is a full page.
            ("display_values_supported", names(&mut ["page"].into_iter())),
            // Claims are plain JSON members, never aggregated or
            // distributed (Core §5.6).
            ("claim_types_supported", names(&mut ["normal"].into_iter())),
            // Core §5.5 and §6 are not built; `request_uri_parameter_supported`
            // defaults to true (Discovery §3), so all three are said.
            ("claims_parameter_supported", MetadataValue::Flag(false)),
            ("request_parameter_supported", MetadataValue::Flag(false)),
            (
                "request_uri_parameter_supported",
                MetadataValue::Flag(false),
            ),
            // RFC 9207: every authorization response carries `iss`.
            (
                "authorization_response_iss_parameter_supported",
                MetadataValue::Flag(true),
            ),
        ]);
        Self { members }
    }

    /// The value of member `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&MetadataValue> {
        self.members
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

/// Whether `scope` is one of [`OPENID_SCOPES`].
fn scopes_has(scope: &str) -> bool {
    OPENID_SCOPES.contains(&scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::Scope;

    fn server(scopes: &str) -> ServerCapabilities {
        ServerCapabilities::all(Scope::parse(scopes).unwrap())
    }

    fn text<'a>(metadata: &'a ProviderMetadata, name: &str) -> &'a str {
        match metadata.get(name) {
            Some(MetadataValue::Text(text)) => text,
            other => panic!("{name}: {other:?}"),
        }
    }

    fn list<'a>(metadata: &'a ProviderMetadata, name: &str) -> Vec<&'a str> {
        match metadata.get(name) {
            Some(MetadataValue::Names(names)) => names.iter().map(String::as_str).collect(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn every_required_member_is_there_discovery_section_3() {
        let metadata = ProviderMetadata::new("https://auth.example.com", &server("profile"));
        for required in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "response_types_supported",
            "subject_types_supported",
            "id_token_signing_alg_values_supported",
        ] {
            assert!(metadata.get(required).is_some(), "{required}");
        }
        assert!(list(&metadata, "id_token_signing_alg_values_supported").contains(&"RS256"));
        assert_eq!(list(&metadata, "subject_types_supported"), ["public"]);
        assert_eq!(
            metadata.get("request_uri_parameter_supported"),
            Some(&MetadataValue::Flag(false))
        );
        assert!(metadata.get("registration_endpoint").is_none());
        let mut names: Vec<&str> = metadata.members.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), metadata.members.len(), "a member is repeated");
    }

    #[test]
    fn the_issuer_is_repeated_byte_for_byte_and_endpoints_hang_off_it() {
        for (issuer, base) in [
            ("https://Auth.example.com", "https://Auth.example.com"),
            ("https://auth.example.com/", "https://auth.example.com"),
            (
                "https://example.com/tenant/a",
                "https://example.com/tenant/a",
            ),
        ] {
            let metadata = ProviderMetadata::new(issuer, &server("profile"));
            assert_eq!(text(&metadata, "issuer"), issuer);
            assert_eq!(
                text(&metadata, "userinfo_endpoint"),
                format!("{base}/oauth/userinfo")
            );
            assert_eq!(
                text(&metadata, "jwks_uri"),
                format!("{base}/.well-known/jwks.json")
            );
        }
    }

    #[test]
    fn scopes_are_the_openid_ones_then_the_configured_ones_each_once() {
        let metadata = ProviderMetadata::new("https://a.example", &server("email read openid"));
        assert_eq!(
            list(&metadata, "scopes_supported"),
            ["openid", "profile", "email", "offline_access", "read"]
        );
    }

    #[test]
    fn response_types_modes_and_the_authorization_endpoint_follow_the_grants() {
        let all = ProviderMetadata::new("https://a.example", &server("profile"));
        // Every response type of the server, `code` first (issue 13 adds
        // the implicit `id_token` ones to `ResponseType::ALL`).
        let response_types = list(&all, "response_types_supported");
        assert_eq!(response_types.first(), Some(&"code"));
        assert!(response_types.contains(&"token"), "{response_types:?}");
        assert_eq!(
            response_types,
            ResponseType::ALL.map(ResponseType::as_str).to_vec()
        );
        assert_eq!(
            list(&all, "response_modes_supported"),
            ["query", "fragment"]
        );

        let no_implicit = ProviderMetadata::new(
            "https://a.example",
            &server("profile").without(&[GrantType::Implicit]),
        );
        assert_eq!(list(&no_implicit, "response_types_supported"), ["code"]);
        assert_eq!(list(&no_implicit, "response_modes_supported"), ["query"]);
        assert!(!list(&no_implicit, "grant_types_supported").contains(&"implicit"));

        let no_browser = ProviderMetadata::new(
            "https://a.example",
            &server("profile").without(&[GrantType::Implicit, GrantType::AuthorizationCode]),
        );
        assert!(no_browser.get("authorization_endpoint").is_none());
    }

    #[test]
    fn claims_supported_covers_every_claim_released_or_signed() {
        let metadata = ProviderMetadata::new("https://a.example", &server("profile"));
        let claims = list(&metadata, "claims_supported");
        for claim in [
            "sub",
            "iss",
            "auth_time",
            "nonce",
            "at_hash",
            "sid",
            "name",
            "preferred_username",
            "updated_at",
            "email",
            "email_verified",
        ] {
            assert!(claims.contains(&claim), "{claim}");
        }
        // Every claim a scope releases is listed.
        let mut user = crate::testing::sample_user("alice", "pw");
        user.email = crate::user::EmailAddress::parse("a@example.com").ok();
        user.name = crate::user::DisplayName::parse("Alice").ok();
        let scope = Scope::parse("openid profile email").unwrap();
        for (claim, _) in crate::claims::released_claims(&user, &scope) {
            assert!(claims.contains(&claim.as_str()), "{claim}");
        }
    }
}
