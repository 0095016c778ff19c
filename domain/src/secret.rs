//! Secrets and their digests.
//!
//! Client secrets, authorization codes and tokens are high-entropy values made
//! by the server (RFC 6749 §10.10): only their SHA-256 digests are stored and
//! looked up (RFC 6819 §5.1.4.1.3), and digests are compared in constant time.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes of randomness in every generated secret: 256 bits.
pub const SECRET_BYTES: usize = 32;

/// A secret in clear: shown once to its owner, never stored, never logged.
///
/// `Debug` prints `PlainSecret([redacted])`; the value is reached only through
/// [`PlainSecret::expose`].
pub struct PlainSecret(String);

impl PlainSecret {
    /// Wraps a secret value (generated, or presented by a caller).
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// Encodes random bytes as an unpadded base64url secret.
    #[must_use]
    pub fn from_random_bytes(bytes: &[u8; SECRET_BYTES]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The secret in clear.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest that is stored in place of this secret.
    #[must_use]
    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(&self.0)
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret([redacted])")
    }
}

/// The SHA-256 digest of a secret, as 64 lower-case hex characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretDigest(String);

impl SecretDigest {
    /// The digest of `secret`.
    #[must_use]
    pub fn of(secret: &str) -> Self {
        // `LowerHex` of the digest array: two lower-case digits per byte.
        let hex = format!("{:x}", Sha256::digest(secret.as_bytes()));
        Self(hex)
    }

    /// A digest read back from storage; `None` unless it is 64 lower-case hex
    /// characters.
    #[must_use]
    pub fn from_stored(hex: String) -> Option<Self> {
        (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then_some(Self(hex))
    }

    /// The hex form, as stored.
    #[must_use]
    pub fn as_hex(&self) -> &str {
        &self.0
    }

    /// Whether `secret` hashes to this digest, compared in constant time.
    #[must_use]
    pub fn matches(&self, secret: &str) -> bool {
        self.ct_eq(&Self::of(secret))
    }

    /// Constant-time equality of two digests.
    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A digest of a high-entropy secret is not itself secret, but a short
        // prefix is enough to tell records apart in a debug dump.
        write!(f, "SecretDigest({}…)", self.0.get(..8).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_digest_is_the_lower_case_hex_of_sha256() {
        // FIPS 180-2 appendix B.1: SHA-256("abc"). Stored digests depend on
        // this exact form; its bytes 0x01 and 0x03 keep their leading zero.
        assert_eq!(
            SecretDigest::of("abc").as_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // SHA-256 of the empty string.
        assert_eq!(
            SecretDigest::of("").as_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn digest_is_sha256_hex() {
        let digest = SecretDigest::of("abc");

        assert_eq!(
            digest.as_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = PlainSecret::new("super-secret-value".to_owned());

        assert_eq!(format!("{secret:?}"), "PlainSecret([redacted])");
    }

    #[test]
    fn generated_secret_carries_256_bits() {
        let secret = PlainSecret::from_random_bytes(&[7; SECRET_BYTES]);

        // 43 base64url characters carry 258 bits, enough for 256 random bits.
        assert_eq!(secret.expose().len(), 43);
        assert!(secret.digest().matches(secret.expose()));
        assert!(!secret.digest().matches("something else"));
    }

    #[test]
    fn stored_digest_must_be_hex() {
        assert!(SecretDigest::from_stored("xyz".to_owned()).is_none());
        assert!(SecretDigest::from_stored(SecretDigest::of("a").as_hex().to_owned()).is_some());
    }
}
