//! The non-database outbound ports: the system clock, the OS random source
//! and bcrypt password hashing.

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

/// bcrypt password hashing at a fixed cost.
#[derive(Debug, Clone)]
pub struct BcryptHasher {
    cost: u32,
    /// A hash of a fixed password at this cost, checked against when there
    /// is no user, so that an unknown name takes as long as a wrong
    /// password. Made once, up front, so even the first check is not faster.
    dummy: Option<String>,
}

impl BcryptHasher {
    /// A hasher with this bcrypt cost (4 to 31; 12 in production). Costs one
    /// bcrypt hash, for the dummy of unknown users: build it once at startup.
    #[must_use]
    pub fn new(cost: u32) -> Self {
        let dummy = bcrypt::hash("not the password of anybody", cost).ok();
        Self { cost, dummy }
    }

    /// The bcrypt cost.
    #[must_use]
    pub fn cost(&self) -> u32 {
        self.cost
    }
}

impl PasswordHasher for BcryptHasher {
    fn hash(&self, password: &str) -> Result<PasswordHash, StoreError> {
        bcrypt::hash(password, self.cost)
            .map(PasswordHash::new)
            .map_err(|e| StoreError::Other(Box::new(e)))
    }

    fn verify(&self, password: &str, hash: Option<&PasswordHash>) -> bool {
        match hash {
            Some(hash) => bcrypt::verify(password, hash.as_str()).unwrap_or(false),
            None => {
                if let Some(dummy) = &self.dummy {
                    let _ = bcrypt::verify(password, dummy);
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
