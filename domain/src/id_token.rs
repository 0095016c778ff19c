//! ID tokens (OpenID Connect Core 1.0 §2) as the domain sees them: the
//! claims, the signing algorithms, and the hashes that bind an ID token to
//! the access token or code issued with it (§3.1.3.6 `at_hash`, §3.3.2.11
//! `c_hash`). Signing itself is a port ([`crate::ports::IdTokenSigner`]):
//! JOSE lives in the adapters.

use sha2::{Digest, Sha256, Sha512};

use crate::ids::{ClientId, UserId};
use crate::time::Timestamp;

/// A JWS algorithm the server signs ID tokens with (RFC 7518 §3.1, RFC 8037
/// §3.1). RS256 is the default (Core §3.1.3.7 step 7; Discovery §3 requires
/// it in `id_token_signing_alg_values_supported`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JwsAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA with P-256 and SHA-256.
    Es256,
    /// EdDSA with Ed25519.
    EdDsa,
}

impl JwsAlgorithm {
    /// Every supported algorithm, the default first.
    pub const ALL: [Self; 3] = [Self::Rs256, Self::Es256, Self::EdDsa];

    /// The `alg` value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The algorithm named exactly `value` (JOSE names are case-sensitive).
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }

    /// The left-most half of the hash of `value` that `at_hash` and `c_hash`
    /// carry, base64url without padding (Core §3.1.3.6): SHA-256 for RS256
    /// and ES256, SHA-512 for EdDSA with Ed25519 (Core 1.0 errata set 2,
    /// §3.1.3.6).
    #[must_use]
    pub fn half_hash(self, value: &str) -> String {
        use base64::Engine as _;
        let digest: Vec<u8> = match self {
            Self::Rs256 | Self::Es256 => Sha256::digest(value.as_bytes()).to_vec(),
            Self::EdDsa => Sha512::digest(value.as_bytes()).to_vec(),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
    }
}

impl std::fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value of an end-user claim put in an ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimValue {
    /// A JSON string.
    Text(String),
    /// A JSON boolean.
    Bool(bool),
    /// A JSON integer (e.g. `updated_at`, seconds since the epoch).
    Number(i64),
}

/// The claims of an ID token (Core §2), in the domain's types; the adapter
/// writes them as JSON (`iss sub aud exp iat auth_time nonce at_hash c_hash
/// azp amr acr sid`, then `user_claims`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// `iss`: the issuer, byte-identical to the configured `ISSUER`.
    pub issuer: String,
    /// `sub`: the user's stable id.
    pub subject: UserId,
    /// `aud` (a single audience) and `azp`: the client.
    pub audience: ClientId,
    /// `exp`.
    pub expires_at: Timestamp,
    /// `iat`.
    pub issued_at: Timestamp,
    /// `auth_time`: when the user last entered their credentials.
    pub auth_time: Option<Timestamp>,
    /// `nonce`, exactly as the authorization request sent it.
    pub nonce: Option<String>,
    /// `at_hash`.
    pub access_token_hash: Option<String>,
    /// `c_hash`.
    pub code_hash: Option<String>,
    /// `amr` (RFC 8176 values), empty for none.
    pub authentication_methods: Vec<String>,
    /// `acr`: the class the sign-in reached ([`crate::authn::acr_of`]),
    /// `None` when the methods are unknown.
    pub acr: Option<String>,
    /// `sid`: the browser session the token was issued in.
    pub session_id: Option<String>,
    /// End-user claims carried in the ID token itself (Core §5.4: when no
    /// access token is issued), by name.
    pub user_claims: Vec<(String, ClaimValue)>,
}

/// How the user signed in, as an ID token states it (Core §2 `auth_time`,
/// `amr`, and the session's `sid`): recorded at approval with the code of an
/// OpenID request and kept on its tokens, so that an ID token minted at a
/// refresh repeats the original authentication (Core §12.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authentication {
    /// When the user entered their credentials.
    pub auth_time: Option<Timestamp>,
    /// The browser session's id (`sid`).
    pub session_id: Option<String>,
    /// The methods used (`amr`, RFC 8176 values), empty for none known.
    pub methods: Vec<String>,
}

impl Authentication {
    /// The `amr` of a password login, the only way in today (RFC 8176 §2).
    pub const PASSWORD: &'static str = "pwd";
}

/// Longest `nonce` accepted, in bytes (Core §3.1.2.1 sets none; a bound
/// keeps codes and ID tokens small).
pub const MAX_NONCE_LEN: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip_and_are_case_sensitive() {
        for alg in JwsAlgorithm::ALL {
            assert_eq!(JwsAlgorithm::parse(alg.as_str()), Some(alg));
        }
        assert_eq!(JwsAlgorithm::parse("rs256"), None);
        assert_eq!(JwsAlgorithm::parse("none"), None);
        assert_eq!(JwsAlgorithm::parse("HS256"), None);
    }

    #[test]
    fn at_hash_is_the_left_half_of_the_hash() {
        // Core §3.1.3.6 / the example of Core A.4 (RS256): the access token
        // "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y" has at_hash
        // "77QmUPtjPfzWtF2AnpK9RQ".
        assert_eq!(
            JwsAlgorithm::Rs256.half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(JwsAlgorithm::Es256.half_hash("x").len(), 22);
        // SHA-512's half is 32 bytes: 43 base64url characters.
        assert_eq!(JwsAlgorithm::EdDsa.half_hash("x").len(), 43);
    }
}
