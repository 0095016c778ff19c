//! Private keys at rest: AES-256-GCM (aws-lc-rs's `aead`) under the key-encryption
//! key from the configuration, a random 96-bit nonce per key, the `kid` as
//! associated data (so a sealed key moved to another row does not open).
//! Stored as `v1.` + base64url(nonce ‖ ciphertext ‖ tag).

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::SecureRandom as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::key::Pkcs8;
use super::JoseError;

const PREFIX: &str = "v1.";

/// The 32-byte key-encryption key (`KEY_ENCRYPTION_KEY`). Its `Debug`
/// shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyEncryptionKey([u8; 32]);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey([redacted])")
    }
}

impl KeyEncryptionKey {
    /// The key of these 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A new random key.
    ///
    /// # Errors
    /// The OS random source failed.
    pub fn random() -> Result<Self, JoseError> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| JoseError::Generate)?;
        Ok(Self(bytes))
    }

    /// A key derived from another secret (HKDF-SHA-256, RFC 5869), for
    /// when only `SESSION_KEY` is configured: every instance sharing it
    /// derives the same key.
    ///
    /// # Errors
    /// Never in practice (HKDF refuses only outputs over 8 160 bytes).
    pub fn derive_from(secret: &[u8]) -> Result<Self, JoseError> {
        let mut bytes = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(None, secret)
            .expand(b"oauth2-server signing key encryption v1", &mut bytes)
            .map_err(|_| JoseError::Generate)?;
        Ok(Self(bytes))
    }

    /// Parses 32 bytes written as 64 hex digits or as base64url (43
    /// characters, padding optional). The error never repeats the value.
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()
        } else {
            URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
        };
        bytes
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(Self)
            .ok_or_else(|| {
                "KEY_ENCRYPTION_KEY must be 32 bytes as 64 hex digits or base64url \
                 (e.g. `openssl rand -hex 32`)"
                    .to_owned()
            })
    }

    /// The key as 64 hex digits (to write the generated key file).
    #[must_use]
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn aead(&self) -> Result<LessSafeKey, JoseError> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| JoseError::Sign)
    }

    /// `pkcs8` encrypted for the row of `kid`.
    ///
    /// # Errors
    /// The random source failed.
    pub fn seal(&self, kid: &str, pkcs8: &Pkcs8) -> Result<String, JoseError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| JoseError::Generate)?;
        let mut buffer = pkcs8.der().to_vec();
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| JoseError::Generate)?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&buffer);
        buffer.fill(0);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(stored)))
    }

    /// The private key sealed for `kid`.
    ///
    /// # Errors
    /// [`JoseError::WrongKeyEncryptionKey`] when it does not open under this
    /// key (another key, another kid, or changed bytes).
    pub fn open(&self, kid: &str, sealed: &str) -> Result<Pkcs8, JoseError> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .ok_or(JoseError::WrongKeyEncryptionKey)?;
        if bytes.len() < NONCE_LEN {
            return Err(JoseError::WrongKeyEncryptionKey);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| JoseError::WrongKeyEncryptionKey)?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .aead()?
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buffer)
            .map_err(|_| JoseError::WrongKeyEncryptionKey)?;
        let pkcs8 = Pkcs8::new(plain.to_vec());
        buffer.fill(0);
        Ok(pkcs8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_under_its_key_and_kid() {
        let kek = KeyEncryptionKey::random().unwrap();
        let pkcs8 = Pkcs8::new(b"private key bytes".to_vec());
        let sealed = kek.seal("kid-1", &pkcs8).unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains(&URL_SAFE_NO_PAD.encode(pkcs8.der())));
        assert_eq!(kek.open("kid-1", &sealed).unwrap().der(), pkcs8.der());
        assert!(kek.open("kid-2", &sealed).is_err());
        let other = KeyEncryptionKey::random().unwrap();
        assert!(other.open("kid-1", &sealed).is_err());
        // Two seals of one key differ (random nonce).
        assert_ne!(kek.seal("kid-1", &pkcs8).unwrap(), sealed);
    }

    #[test]
    fn the_setting_takes_hex_or_base64url_and_never_repeats_itself() {
        let hex = "00".repeat(31) + "ff";
        let key = KeyEncryptionKey::parse(&hex).unwrap();
        assert_eq!(key.to_hex(), hex);
        let b64 = URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert_eq!(KeyEncryptionKey::parse(&b64).unwrap().0, [7u8; 32]);
        let error = KeyEncryptionKey::parse("too-short-secret").unwrap_err();
        assert!(!error.contains("too-short-secret"));
        assert_eq!(format!("{key:?}"), "KeyEncryptionKey([redacted])");
    }
}
