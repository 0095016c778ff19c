//! The non-database outbound ports: the system clock, the OS random source
//! and bcrypt password hashing.

use base64::engine::general_purpose::{NO_PAD, STANDARD};
use base64::engine::GeneralPurpose;
use base64::{alphabet, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use domain::error::StoreError;
use domain::ports::{Clock, PasswordHasher, SecureRandom};
use domain::time::Timestamp;
use domain::user::PasswordHash;

/// The system clock, in UTC.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_naive_utc(chrono::Utc::now().naive_utc())
    }
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill_bytes(&self, buf: &mut [u8]) {
        // Every code, token and client secret comes from here. If the OS RNG
        // fails there is no safe fallback: continuing would hand out
        // guessable credentials, and the port has no error to report. So
        // the process stops at once (abort: no unwinding that a caller could
        // catch and carry on from).
        if getrandom::fill(buf).is_err() {
            eprintln!("fatal: the operating system's random number generator failed");
            std::process::abort();
        }
    }
}

/// bcrypt password hashing at a fixed cost, over a pre-hash.
///
/// bcrypt reads at most 72 bytes, so a long password would match anything
/// that shares its first 72 bytes, and 64 characters of a non-Latin script
/// do not fit. New hashes are therefore bcrypt over
/// `base64(HMAC-SHA-256(key = the hash's bcrypt salt, password))` (44
/// bytes, never truncated, no NUL), stored as `PREHASH_PREFIX` followed by
/// the bcrypt string: the scheme of passlib's `bcrypt_sha256` v2. Keying the
/// HMAC with the per-hash salt instead of a server pepper means no secret
/// that can be lost (the session key is random per start by default) and
/// no unsalted SHA-256 of the password inside bcrypt (a leaked SHA-256 of
/// the same password elsewhere cannot be tried against it, "shucking").
/// Old hashes (plain bcrypt, `$2…`) still verify; they were made under an
/// 8-to-72-byte rule, so a longer entry is refused against them outright
/// instead of being truncated.
#[derive(Debug, Clone)]
pub struct BcryptHasher {
    cost: u32,
    /// A hash of a fixed password at this cost, checked against when there
    /// is no user, so that an unknown name takes as long as a wrong
    /// password. Made once, up front, so even the first check is not faster.
    dummy: Option<String>,
}

/// The stored prefix of pre-hashed bcrypt hashes.
pub const PREHASH_PREFIX: &str = "$bcrypt-hmac-sha256$";

/// The longest password an old (plain bcrypt) hash was made from.
const OLD_HASH_MAX_BYTES: usize = 72;

/// bcrypt's own base64 (its salt alphabet, no padding).
const BCRYPT_BASE64: GeneralPurpose = GeneralPurpose::new(&alphabet::BCRYPT, NO_PAD);

/// The bcrypt input of a new hash: base64 of HMAC-SHA-256 keyed by the
/// hash's 22-character salt.
fn prehash(salt: &str, password: &str) -> Result<String, StoreError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(salt.as_bytes())
        .map_err(|e| StoreError::Other(Box::new(std::io::Error::other(e.to_string()))))?;
    mac.update(password.as_bytes());
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

impl BcryptHasher {
    /// A hasher with this bcrypt cost (4 to 31; 12 in production). Costs one
    /// bcrypt hash, for the dummy of unknown users: build it once at startup.
    #[must_use]
    pub fn new(cost: u32) -> Self {
        let mut hasher = Self { cost, dummy: None };
        hasher.dummy = hasher
            .hash("not the password of anybody")
            .ok()
            .map(|h| h.as_str().to_owned());
        hasher
    }

    /// The bcrypt cost.
    #[must_use]
    pub fn cost(&self) -> u32 {
        self.cost
    }

    fn verify_stored(password: &str, stored: &str) -> bool {
        if let Some(bcrypt_hash) = stored.strip_prefix(PREHASH_PREFIX) {
            // "$2b$12$" then the 22-character salt.
            let Some(salt) = bcrypt_hash.get(7..29) else {
                return false;
            };
            return prehash(salt, password)
                .is_ok_and(|input| bcrypt::verify(input, bcrypt_hash).unwrap_or(false));
        }
        if password.len() > OLD_HASH_MAX_BYTES {
            // Never accepted at sign-up under the old rule: only a
            // truncation could match. Spend the time all the same.
            let _ = bcrypt::verify(&password.as_bytes()[..OLD_HASH_MAX_BYTES], stored);
            return false;
        }
        bcrypt::verify(password, stored).unwrap_or(false)
    }
}

impl PasswordHasher for BcryptHasher {
    fn hash(&self, password: &str) -> Result<PasswordHash, StoreError> {
        let mut salt = [0u8; 16];
        OsRandom.fill_bytes(&mut salt);
        let salt_text = BCRYPT_BASE64.encode(salt);
        let input = prehash(&salt_text, password)?;
        let parts = bcrypt::hash_with_salt(input, self.cost, salt)
            .map_err(|e| StoreError::Other(Box::new(e)))?;
        if parts.get_salt() != salt_text {
            // The key must be what verify reads back from the hash.
            return Err(StoreError::Other(Box::new(std::io::Error::other(
                "bcrypt salt encoding mismatch",
            ))));
        }
        Ok(PasswordHash::new(format!(
            "{PREHASH_PREFIX}{}",
            parts.format_for_version(bcrypt::Version::TwoB)
        )))
    }

    fn verify(&self, password: &str, hash: Option<&PasswordHash>) -> bool {
        match hash {
            Some(hash) => Self::verify_stored(password, hash.as_str()),
            None => {
                if let Some(dummy) = &self.dummy {
                    let _ = Self::verify_stored(password, dummy);
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_verifies_the_right_password_only() {
        let hasher = BcryptHasher::new(4);

        let hash = hasher.hash("correct horse").ok();

        assert!(hasher.verify("correct horse", hash.as_ref()));
        assert!(!hasher.verify("wrong horse", hash.as_ref()));
        assert!(!hasher.verify("correct horse", None));
        assert!(!hasher.verify(
            "x",
            Some(&PasswordHash::new("not a bcrypt hash".to_owned()))
        ));
    }

    #[test]
    fn a_password_longer_than_72_bytes_is_checked_whole() {
        let hasher = BcryptHasher::new(4);
        let first_72 = "a-password-of-exactly-seventy-two-bytes-which-bcrypt-would-cut-here-0123";
        assert_eq!(first_72.len(), 72);

        let hash = hasher.hash(first_72).ok();

        assert!(hash.as_ref().unwrap().as_str().starts_with(PREHASH_PREFIX));
        assert!(hasher.verify(first_72, hash.as_ref()));
        assert!(!hasher.verify(&format!("{first_72}anything"), hash.as_ref()));
        let long = format!("{first_72}-and-then-some-more");
        let long_hash = hasher.hash(&long).ok();
        assert!(hasher.verify(&long, long_hash.as_ref()));
        assert!(!hasher.verify(first_72, long_hash.as_ref()));
        assert!(!hasher.verify(&format!("{first_72}-and-then-some-mor"), long_hash.as_ref()));
    }

    #[test]
    fn sixty_four_cyrillic_characters_verify_exactly() {
        let hasher = BcryptHasher::new(4);
        let password: String = "пароль".chars().cycle().take(64).collect();
        assert!(password.len() > 72);

        let hash = hasher.hash(&password).ok();

        assert!(hasher.verify(&password, hash.as_ref()));
        let mut other: String = password.chars().take(63).collect();
        other.push('ы');
        assert!(!hasher.verify(&other, hash.as_ref()));
    }

    #[test]
    fn old_plain_bcrypt_hashes_still_verify_but_never_by_truncation() {
        let hasher = BcryptHasher::new(4);
        let first_72 = "b".repeat(36) + &"c".repeat(36);
        let old = PasswordHash::new(bcrypt::hash("correct horse", 4).unwrap());
        let old_72 = PasswordHash::new(bcrypt::hash(&first_72, 4).unwrap());

        assert!(hasher.verify("correct horse", Some(&old)));
        assert!(!hasher.verify("wrong horse", Some(&old)));
        assert!(hasher.verify(&first_72, Some(&old_72)));
        // Plain bcrypt would accept this (it reads 72 bytes only).
        assert!(bcrypt::verify(format!("{first_72}x"), old_72.as_str()).unwrap());
        assert!(!hasher.verify(&format!("{first_72}x"), Some(&old_72)));
    }

    #[test]
    fn os_random_fills_the_buffer() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];

        OsRandom.fill_bytes(&mut a);
        OsRandom.fill_bytes(&mut b);

        assert_ne!(a, b);
    }

    #[test]
    fn system_clock_is_microsecond_truncated() {
        let now = SystemClock.now().as_naive_utc();

        assert_eq!(now.and_utc().timestamp_subsec_nanos() % 1_000, 0);
    }
}
