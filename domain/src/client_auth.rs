//! Client authentication at the token, revocation and introspection
//! endpoints (RFC 6749 §2.3.1, §3.2.1; RFC 7591 §2 methods).
//!
//! A client authenticates with exactly the method it registered; a request
//! that uses two methods at once is refused (RFC 6749 §2.3). Failures are all
//! `invalid_client` with one description, so that an unknown client and a
//! wrong secret cannot be told apart.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::client::{AuthMethod, Client};
use crate::error::OAuthError;
use crate::ids::ClientId;
use crate::params::{decode_component, Params};
use crate::secret::SecretDigest;

/// Longest `Authorization` header value read, in bytes.
const MAX_AUTHORIZATION_LEN: usize = 4096;

/// The credentials a request presents. `Debug` shows the method and the
/// client id, never the secret.
#[derive(PartialEq, Eq)]
pub enum PresentedCredentials {
    /// `Authorization: Basic` (`client_secret_basic`).
    Basic {
        /// The client id, form-decoded.
        client_id: String,
        /// The secret, form-decoded.
        secret: String,
    },
    /// `client_id` and `client_secret` in the body (`client_secret_post`).
    Post {
        /// The client id.
        client_id: String,
        /// The secret.
        secret: String,
    },
    /// `client_id` alone (`none`, a public client).
    Public {
        /// The client id.
        client_id: String,
    },
}

impl PresentedCredentials {
    /// Reads the credentials of a request from its `Authorization` header
    /// value (if any) and its body parameters.
    ///
    /// # Errors
    /// `invalid_client` for a malformed or non-Basic `Authorization` header or
    /// no credentials at all; `invalid_request` for two methods at once or a
    /// repeated parameter.
    pub fn from_request(authorization: Option<&str>, params: &Params) -> Result<Self, OAuthError> {
        let body_id = params.get("client_id")?;
        let body_secret = params.get("client_secret")?;
        if let Some(header) = authorization {
            let (client_id, secret) = parse_basic_authorization(header)?;
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not several",
                ));
            }
            if body_id.is_some_and(|id| id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the Authorization header",
                ));
            }
            return Ok(Self::Basic { client_id, secret });
        }
        match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok(Self::Post {
                client_id: id.to_owned(),
                secret: secret.to_owned(),
            }),
            (Some(id), None) => Ok(Self::Public {
                client_id: id.to_owned(),
            }),
            (None, _) => Err(OAuthError::invalid_client(
                "client authentication is required",
            )),
        }
    }

    /// The presented client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::Public { client_id } => client_id,
        }
    }

    /// The presented client id, if it can name a client at all.
    #[must_use]
    pub fn parsed_client_id(&self) -> Option<ClientId> {
        ClientId::parse(self.client_id())
    }

    fn method(&self) -> AuthMethod {
        match self {
            Self::Basic { .. } => AuthMethod::ClientSecretBasic,
            Self::Post { .. } => AuthMethod::ClientSecretPost,
            Self::Public { .. } => AuthMethod::None,
        }
    }

    fn secret(&self) -> Option<&str> {
        match self {
            Self::Basic { secret, .. } | Self::Post { secret, .. } => Some(secret),
            Self::Public { .. } => None,
        }
    }

    /// Authenticates the presented credentials against the client they name
    /// (`None` when no such client exists).
    ///
    /// # Errors
    /// `invalid_client` when the client is unknown, used another method than
    /// the one it registered, or the secret does not match.
    pub fn authenticate(self, client: Option<Client>) -> Result<Client, OAuthError> {
        let failed = || OAuthError::invalid_client("client authentication failed");
        let Some(client) = client else {
            // Same work as a wrong secret, so timing does not reveal which
            // client ids exist.
            let _ = SecretDigest::of(self.secret().unwrap_or_default()).ct_eq(&UNKNOWN_DIGEST);
            return Err(failed());
        };
        if client.metadata.token_endpoint_auth_method != self.method() {
            return Err(failed());
        }
        match (&client.secret_digest, self.secret()) {
            (Some(digest), Some(secret)) if digest.matches(secret) => Ok(client),
            (None, None) => Ok(client),
            _ => Err(failed()),
        }
    }
}

impl fmt::Debug for PresentedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (variant, client_id, secret) = match self {
            Self::Basic { client_id, .. } => ("Basic", client_id, Some("[redacted]")),
            Self::Post { client_id, .. } => ("Post", client_id, Some("[redacted]")),
            Self::Public { client_id } => ("Public", client_id, None),
        };
        let mut shown = f.debug_struct(variant);
        shown.field("client_id", client_id);
        if let Some(redacted) = secret {
            shown.field("secret", &format_args!("{redacted}"));
        }
        shown.finish()
    }
}

static UNKNOWN_DIGEST: std::sync::LazyLock<SecretDigest> =
    std::sync::LazyLock::new(|| SecretDigest::of("no such client"));

/// Parses `Basic <base64(id:secret)>`, where id and secret are each
/// form-urlencoded (RFC 6749 §2.3.1). The scheme is case-insensitive.
///
/// # Errors
/// `invalid_client` for another scheme, a malformed Basic value or an empty
/// client id.
pub fn parse_basic_authorization(header: &str) -> Result<(String, String), OAuthError> {
    let malformed = || OAuthError::invalid_client("the Basic authorization header is malformed");
    if header.len() > MAX_AUTHORIZATION_LEN {
        return Err(malformed());
    }
    let (scheme, value) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "only the Basic authorization scheme is accepted here",
        ));
    }
    let decoded = STANDARD.decode(value.trim()).map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    // RFC 6749 §2.3.1: the id and the secret are each form-urlencoded, then
    // joined by the first ':' (an encoded id has none). Each half is decoded
    // on its own, so a raw '&' or '=' in either is just a character.
    let (raw_id, raw_secret) = text.split_once(':').ok_or_else(malformed)?;
    let id = decode_component(raw_id.as_bytes()).map_err(|_| malformed())?;
    let secret = decode_component(raw_secret.as_bytes()).map_err(|_| malformed())?;
    if id.is_empty() {
        return Err(malformed());
    }
    Ok((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::testing::sample_client;
    use proptest::prelude::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = basic("my%20client", "p%40ss+word");

        let (id, secret) = parse_basic_authorization(&header).unwrap();

        assert_eq!(id, "my client");
        assert_eq!(secret, "p@ss word");
    }

    /// Every reserved character (RFC 3986 gen-delims and sub-delims) plus
    /// '%', '+', space and a non-ASCII letter, in raw and in encoded form.
    const AWKWARD: &[&str] = &[
        ":", "/", "?", "#", "[", "]", "@", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=",
        "%", " ", "é",
    ];

    #[test]
    fn each_basic_half_is_decoded_on_its_own() {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        for c in AWKWARD {
            let id = format!("id{c}x");
            let secret = format!("s{c}e{c}c");
            let (got_id, got_secret) =
                parse_basic_authorization(&basic(&enc(&id), &enc(&secret))).unwrap();
            assert_eq!(
                (got_id.as_str(), got_secret.as_str()),
                (id.as_str(), secret.as_str()),
                "encoded {c}"
            );
        }
        // Characters that need no form-encoding to survive may also come raw
        // (clients that skip the encoding): '&' and '=' are kept, not split.
        for c in [
            "&", "=", "!", "$", "'", "(", ")", "*", ",", ";", "@", "/", "?", "[", "]", "#", ":",
        ] {
            let secret = format!("a{c}b{c}");
            let (id, got) = parse_basic_authorization(&basic("client", &secret)).unwrap();
            assert_eq!(
                (id.as_str(), got.as_str()),
                ("client", secret.as_str()),
                "raw {c}"
            );
        }
        let (id, secret) =
            parse_basic_authorization(&basic("client&secret=forged", "real&x=y")).unwrap();
        assert_eq!(
            (id.as_str(), secret.as_str()),
            ("client&secret=forged", "real&x=y")
        );
        let (id, secret) = parse_basic_authorization(&basic("a=b", "")).unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("a=b", ""));
    }

    #[test]
    fn malformed_basic_headers_are_invalid_client() {
        for header in [
            "Basic",
            "Basic !!!",
            "Basic Zm9v",
            &basic("", "x"),
            &basic("a%ZZ", "x"),
        ] {
            let error = parse_basic_authorization(header).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidClient, "{header}");
        }
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let params = Params::from_pairs([("client_secret", "s")]);

        let error =
            PresentedCredentials::from_request(Some(&basic("c", "s")), &params).unwrap_err();

        assert_eq!(error.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn no_credentials_is_invalid_client() {
        let error = PresentedCredentials::from_request(None, &Params::default()).unwrap_err();

        assert_eq!(error.code, ErrorCode::InvalidClient);
    }

    #[test]
    fn registered_method_is_enforced() {
        let (client, secret) = sample_client(AuthMethod::ClientSecretBasic);
        let post = PresentedCredentials::Post {
            client_id: client.id.to_string(),
            secret: secret.clone(),
        };
        assert_eq!(
            post.authenticate(Some(client.clone())).unwrap_err().code,
            ErrorCode::InvalidClient
        );

        let basic = PresentedCredentials::Basic {
            client_id: client.id.to_string(),
            secret,
        };
        assert!(basic.authenticate(Some(client)).is_ok());
    }

    #[test]
    fn wrong_secret_and_unknown_client_fail_alike() {
        let (client, secret) = sample_client(AuthMethod::ClientSecretPost);
        let wrong = PresentedCredentials::Post {
            client_id: client.id.to_string(),
            secret: format!("{secret}x"),
        };
        let unknown = PresentedCredentials::Post {
            client_id: "nobody".to_owned(),
            secret,
        };

        let a = wrong.authenticate(Some(client)).unwrap_err();
        let b = unknown.authenticate(None).unwrap_err();

        assert_eq!(a, b);
    }

    #[test]
    fn confidential_client_without_secret_is_refused() {
        let (client, _) = sample_client(AuthMethod::ClientSecretPost);
        let public = PresentedCredentials::Public {
            client_id: client.id.to_string(),
        };

        assert_eq!(
            public.authenticate(Some(client)).unwrap_err().code,
            ErrorCode::InvalidClient
        );
    }

    proptest! {
        #[test]
        fn basic_parser_never_panics(header in "\\PC{0,80}") {
            if let Err(error) = parse_basic_authorization(&header) {
                prop_assert_eq!(error.code, ErrorCode::InvalidClient);
            }
        }

        #[test]
        fn encoded_credentials_round_trip(id in "[ -~]{1,20}", secret in "[ -~]{0,20}") {
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let header = basic(&enc(&id), &enc(&secret));
            let (got_id, got_secret) = parse_basic_authorization(&header).unwrap();
            prop_assert_eq!(got_id, id);
            prop_assert_eq!(got_secret, secret);
        }
    }

    proptest! {
        // `Basic` + base64 of arbitrary bytes reaches the decoding paths.
        #[test]
        fn basic_of_arbitrary_bytes_parses_or_is_invalid_client(
            scheme in prop_oneof![Just("Basic".to_owned()), Just("basic".to_owned()), Just("BASIC".to_owned()), Just("Bearer".to_owned()), "[A-Za-z]{0,8}"],
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let header = format!("{scheme} {}", STANDARD.encode(&bytes));
            match parse_basic_authorization(&header) {
                Ok((id, _)) => {
                    prop_assert!(scheme.eq_ignore_ascii_case("basic"));
                    prop_assert!(!id.is_empty());
                }
                Err(error) => prop_assert_eq!(error.code, ErrorCode::InvalidClient),
            }
        }

        #[test]
        fn oversized_headers_are_invalid_client(extra in 1usize..512) {
            let header = format!("Basic {}", "A".repeat(MAX_AUTHORIZATION_LEN + extra));
            prop_assert_eq!(parse_basic_authorization(&header).unwrap_err().code, ErrorCode::InvalidClient);
        }
    }

    /// CA-08: a presented secret is checked against the stored SHA-256
    /// digest (`SecretDigest::matches`, the `subtle::ConstantTimeEq` path):
    /// exactly the secret passes, the stored digest itself does not, and an
    /// unknown client fails with the very same error as a wrong secret.
    #[test]
    fn ca_08_secret_is_checked_by_constant_time_digest_comparison() {
        let (client, secret) = sample_client(AuthMethod::ClientSecretPost);
        let digest = client.secret_digest.clone().unwrap();
        let post = |secret: &str| PresentedCredentials::Post {
            client_id: client.id.to_string(),
            secret: secret.to_owned(),
        };
        let mut candidates = vec![
            String::new(),
            format!("{secret}x"),
            secret[..secret.len() - 1].to_owned(),
            secret.to_uppercase(),
            digest.as_hex().to_owned(),
        ];
        for at in 0..secret.len() {
            let mut bytes = secret.clone().into_bytes();
            bytes[at] ^= 1;
            candidates.push(String::from_utf8(bytes).unwrap());
        }
        let failed = OAuthError::invalid_client("client authentication failed");

        for candidate in &candidates {
            assert!(!digest.matches(candidate), "{candidate}");
            assert_eq!(
                post(candidate).authenticate(Some(client.clone())),
                Err(failed.clone()),
                "{candidate}"
            );
            assert_eq!(post(candidate).authenticate(None), Err(failed.clone()));
        }
        assert!(digest.matches(&secret));
        assert!(post(&secret).authenticate(Some(client.clone())).is_ok());
        assert_eq!(post(&secret).authenticate(None), Err(failed));
    }

    #[test]
    fn debug_shows_the_client_id_and_not_the_secret() {
        for credentials in [
            PresentedCredentials::Basic {
                client_id: "the-client".to_owned(),
                secret: "s3cr3t-basic".to_owned(),
            },
            PresentedCredentials::Post {
                client_id: "the-client".to_owned(),
                secret: "s3cr3t-post".to_owned(),
            },
        ] {
            let shown = format!("{credentials:?}");
            assert!(shown.contains("the-client"), "{shown}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }
}
