//! Proof Key for Code Exchange (RFC 7636), `S256` only.
//!
//! The challenge method must be sent and must be `S256` (RFC 9700 §2.1.1: a
//! missing method would mean `plain`, which we refuse). The challenge is the
//! 43-character base64url SHA-256 of the verifier; the verifier is 43 to 128
//! unreserved characters (RFC 7636 §4.1) and is compared in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::OAuthError;

/// A stored `code_challenge` with method `S256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Validates the challenge parameters of an authorization request.
    ///
    /// # Errors
    /// `invalid_request` when the challenge is missing or not 43 base64url
    /// characters, or the method is missing or not `S256`.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Self, OAuthError> {
        let challenge = challenge.ok_or_else(|| {
            OAuthError::invalid_request("code_challenge is required (PKCE with S256)")
        })?;
        match method {
            Some("S256") => {}
            None => {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method is required and must be S256",
                ))
            }
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method is not supported; use S256",
                ))
            }
        }
        if challenge.len() != 43 || !challenge.bytes().all(is_base64url) {
            return Err(OAuthError::invalid_request("code_challenge is malformed"));
        }
        Ok(Self(challenge.to_owned()))
    }

    /// Re-creates a stored challenge.
    #[must_use]
    pub fn from_stored(challenge: String) -> Self {
        Self(challenge)
    }

    /// The challenge as stored.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a presented `code_verifier` against this challenge.
    ///
    /// # Errors
    /// `invalid_request` for a malformed verifier, `invalid_grant` when it
    /// does not hash to the challenge (RFC 7636 §4.6).
    pub fn verify(&self, verifier: &str) -> Result<(), OAuthError> {
        let verifier = CodeVerifier::parse(verifier)?;
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.0.as_bytes()));
        if bool::from(computed.as_bytes().ct_eq(self.0.as_bytes())) {
            Ok(())
        } else {
            Err(OAuthError::invalid_grant(
                "the code_verifier does not match the code_challenge",
            ))
        }
    }

    /// The S256 challenge of a verifier (what a client computes).
    #[must_use]
    pub fn s256_of(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }
}

/// A syntactically valid `code_verifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Validates the verifier syntax of RFC 7636 §4.1.
    ///
    /// # Errors
    /// `invalid_request` unless it is 43 to 128 of `[A-Za-z0-9-._~]`.
    pub fn parse(value: &str) -> Result<Self, OAuthError> {
        if (43..=128).contains(&value.len()) && value.bytes().all(is_unreserved) {
            Ok(Self(value.to_owned()))
        } else {
            Err(OAuthError::invalid_request("code_verifier is malformed"))
        }
    }
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use proptest::prelude::*;

    // The example of RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_example_verifies() {
        let challenge = CodeChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap();

        assert_eq!(CodeChallenge::s256_of(VERIFIER), CHALLENGE);
        assert!(challenge.verify(VERIFIER).is_ok());
    }

    #[test]
    fn wrong_verifier_is_invalid_grant() {
        let challenge = CodeChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap();
        let wrong = "a".repeat(43);

        assert_eq!(
            challenge.verify(&wrong).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
    }

    #[test]
    fn plain_missing_and_unknown_methods_are_refused() {
        for method in [None, Some("plain"), Some("S512"), Some("s256")] {
            let error = CodeChallenge::parse(Some(CHALLENGE), method).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{method:?}");
        }
    }

    #[test]
    fn missing_or_malformed_challenge_is_refused() {
        assert!(CodeChallenge::parse(None, Some("S256")).is_err());
        assert!(CodeChallenge::parse(Some("abc"), Some("S256")).is_err());
        assert!(CodeChallenge::parse(Some(&"a".repeat(44)), Some("S256")).is_err());
        assert!(
            CodeChallenge::parse(Some(&format!("{}=", &CHALLENGE[..42])), Some("S256")).is_err()
        );
    }

    #[test]
    fn verifier_length_bounds_are_enforced() {
        assert!(CodeVerifier::parse(&"a".repeat(42)).is_err());
        assert!(CodeVerifier::parse(&"a".repeat(43)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(128)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(129)).is_err());
        assert!(CodeVerifier::parse(&format!("{}+", "a".repeat(43))).is_err());
    }

    proptest! {
        #[test]
        fn any_valid_verifier_verifies_against_its_own_challenge(verifier in "[A-Za-z0-9._~-]{43,128}") {
            let challenge = CodeChallenge::parse(Some(&CodeChallenge::s256_of(&verifier)), Some("S256")).unwrap();
            prop_assert!(challenge.verify(&verifier).is_ok());
        }

        #[test]
        fn parsers_never_panic(challenge in "\\PC{0,64}", verifier in "\\PC{0,140}") {
            if let Ok(parsed) = CodeChallenge::parse(Some(&challenge), Some("S256")) {
                let _ = parsed.verify(&verifier);
            }
            let _ = CodeVerifier::parse(&verifier);
        }
    }

    proptest! {
        // The verifier rule of RFC 7636 §4.1 as a model.
        #[test]
        fn verifier_is_accepted_exactly_when_the_rfc_allows(value in "[A-Za-z0-9._~+/= -]{0,140}") {
            let allowed = (43..=128).contains(&value.len()) && value.bytes().all(is_unreserved);
            match CodeVerifier::parse(&value) {
                Ok(_) => prop_assert!(allowed),
                Err(error) => {
                    prop_assert!(!allowed);
                    prop_assert_eq!(error.code, ErrorCode::InvalidRequest);
                }
            }
        }

        // Only a 43-character base64url challenge with method `S256`.
        #[test]
        fn challenge_is_accepted_only_as_s256_base64url(
            challenge in proptest::option::of("[A-Za-z0-9_+/=-]{40,46}"),
            method in proptest::option::of(prop_oneof![Just("S256".to_owned()), Just("plain".to_owned()), "\\PC{0,8}"]),
        ) {
            match CodeChallenge::parse(challenge.as_deref(), method.as_deref()) {
                Ok(parsed) => {
                    prop_assert_eq!(method.as_deref(), Some("S256"));
                    prop_assert_eq!(parsed.as_str().len(), 43);
                    prop_assert!(parsed.as_str().bytes().all(is_base64url));
                }
                Err(error) => prop_assert_eq!(error.code, ErrorCode::InvalidRequest),
            }
        }

        #[test]
        fn verify_fails_only_with_invalid_request_or_invalid_grant(challenge in "[A-Za-z0-9_-]{43}", verifier in "\\PC{0,140}") {
            let parsed = CodeChallenge::parse(Some(&challenge), Some("S256")).unwrap();
            if let Err(error) = parsed.verify(&verifier) {
                prop_assert!(matches!(error.code, ErrorCode::InvalidRequest | ErrorCode::InvalidGrant));
            }
        }
    }

    /// PK-11: the verifier is checked by comparing its S256 hash with the
    /// challenge (the `subtle::ConstantTimeEq` path): exactly the verifier
    /// passes; the challenge itself (the `plain` method), a verifier one
    /// character off, and a challenge one character off do not.
    #[test]
    fn pk_11_verifier_is_compared_in_constant_time() {
        let challenge = CodeChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap();
        let mut wrong = vec![CHALLENGE.to_owned()];
        for at in 0..VERIFIER.len() {
            let mut bytes = VERIFIER.as_bytes().to_vec();
            bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
            wrong.push(String::from_utf8(bytes).unwrap());
        }
        for verifier in &wrong {
            assert_eq!(
                challenge.verify(verifier).unwrap_err().code,
                ErrorCode::InvalidGrant,
                "{verifier}"
            );
        }
        assert!(challenge.verify(VERIFIER).is_ok());
        let mut off = CHALLENGE.to_owned();
        off.replace_range(42.., "A");
        let off = CodeChallenge::parse(Some(&off), Some("S256")).unwrap();
        assert_eq!(
            off.verify(VERIFIER).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
    }

    proptest! {
        // PK-11 as a model: a well-formed verifier passes exactly when its
        // S256 hash is the challenge.
        #[test]
        fn pk_11_verify_agrees_with_the_s256_model(verifier in "[A-Za-z0-9._~-]{43,128}", other in "[A-Za-z0-9._~-]{43}", same in any::<bool>()) {
            let challenge_of = if same { verifier.clone() } else { other };
            let challenge = CodeChallenge::parse(Some(&CodeChallenge::s256_of(&challenge_of)), Some("S256")).unwrap();
            prop_assert_eq!(challenge.verify(&verifier).is_ok(), CodeChallenge::s256_of(&verifier) == challenge.as_str());
        }
    }
}
