//! Brute-force limits (RFC 6749 §4.3.2, RFC 6819 §5.1.4.2.3): failed
//! password checks and client authentications are counted per account (a
//! user name or a client id) and per client address, in the store, so the
//! limit holds across instances. Over the limit, requests are refused with
//! `slow_down` (HTTP 429) and a `Retry-After` until the oldest counted
//! failure leaves the window; the password is not even checked then. A
//! success clears the account's count.

use crate::error::{ErrorCode, OAuthError, StoreError};
use crate::secret::SecretDigest;
use crate::time::{Lifetime, Timestamp};

use super::Services;

/// How many failures are allowed, and over what window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed per account within the window.
    pub per_account: u32,
    /// Failures allowed per client address within the window.
    pub per_address: u32,
    /// The sliding window.
    pub window: Lifetime,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            per_account: 10,
            per_address: 100,
            window: Lifetime::at_least_one_second(15 * 60),
        }
    }
}

/// Who is trying, as the keys failures are counted under: the account
/// alone, the account from this address, and the address alone. Keys are
/// SHA-256 digests, so a long or odd name never reaches an index as is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempt {
    /// The account (`user:NAME` or `client:ID`), hashed.
    account: Option<String>,
    /// The account from this address, hashed.
    pair: Option<String>,
    /// The address, hashed.
    address: Option<String>,
}

/// How much larger the limit of an account from every address together is
/// than its limit from one address: guessing from one place is stopped
/// early, while locking a user out takes failures from many places.
const ACCOUNT_CEILING_FACTOR: u32 = 10;

#[derive(Clone, Copy)]
enum KeyKind {
    Pair,
    Account,
    Address,
}

fn hashed(raw: &str) -> String {
    SecretDigest::of(raw).as_hex().to_owned()
}

impl Attempt {
    fn new(account: String, address: Option<&str>) -> Self {
        Self {
            pair: address.map(|a| hashed(&format!("{account}|addr:{a}"))),
            address: address.map(|a| hashed(&format!("addr:{a}"))),
            account: Some(hashed(&account)),
        }
    }

    /// An attempt on user `name` from `address`. Counted under the folded
    /// name: `ALICE` logs in as `alice` (RFC 8265 §3.3), so its failures
    /// count against the same account.
    #[must_use]
    pub fn user(name: &str, address: Option<&str>) -> Self {
        Self::new(
            format!("user:{}", crate::user::fold_username(name)),
            address,
        )
    }

    /// An attempt to authenticate as client `id` from `address`.
    #[must_use]
    pub fn client(id: &str, address: Option<&str>) -> Self {
        Self::new(format!("client:{id}"), address)
    }

    /// A sign-up from `address`: every sign-up counts, under the
    /// per-account limit (each one costs a password hash and a row).
    #[must_use]
    pub fn sign_up(address: Option<&str>) -> Self {
        Self {
            account: None,
            pair: address.map(|a| hashed(&format!("sign-up|addr:{a}"))),
            address: None,
        }
    }

    fn keys(&self) -> Vec<(&str, KeyKind)> {
        let mut keys = Vec::with_capacity(3);
        if let Some(k) = &self.pair {
            keys.push((k.as_str(), KeyKind::Pair));
        }
        if let Some(k) = &self.account {
            keys.push((k.as_str(), KeyKind::Account));
        }
        if let Some(k) = &self.address {
            keys.push((k.as_str(), KeyKind::Address));
        }
        keys
    }
}

impl Services {
    /// Refuses the attempt while any of its keys is over its limit (one
    /// store read for all of them); otherwise returns how many failures the
    /// account has from this address (so that a success clears them only
    /// when there are some).
    ///
    /// # Errors
    /// `slow_down` with the seconds to wait; store failures.
    pub fn check_attempt(&self, attempt: &Attempt) -> Result<u32, OAuthError> {
        let policy = self.policy.throttle;
        let now = self.ports.clock.now();
        let since = Timestamp::from_unix_seconds(now.unix_seconds() - policy.window.seconds())
            .unwrap_or(now);
        let keys = attempt.keys();
        let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
        let counts = self.ports.attempts.failures_since(&names, since)?;
        let mut wait = 0;
        let mut own_failures = 0;
        for ((_, kind), (failures, oldest)) in keys.iter().zip(counts) {
            let limit = match kind {
                KeyKind::Pair => policy.per_account,
                // Without an address there is no pair: the account alone
                // carries the per-account limit.
                KeyKind::Account if attempt.pair.is_none() => policy.per_account,
                KeyKind::Account => policy.per_account.saturating_mul(ACCOUNT_CEILING_FACTOR),
                KeyKind::Address => policy.per_address,
            };
            if matches!(kind, KeyKind::Pair)
                || (attempt.pair.is_none() && matches!(kind, KeyKind::Account))
            {
                own_failures = failures;
            }
            if failures >= limit {
                let free_at = oldest.unwrap_or(now).plus(policy.window);
                wait = wait.max(now.seconds_until(free_at));
            }
        }
        if wait > 0 {
            Err(OAuthError::slow_down(wait))
        } else {
            Ok(own_failures)
        }
    }

    /// Counts a failed attempt against each of its keys.
    ///
    /// # Errors
    /// Store failures only.
    pub fn record_failure(&self, attempt: &Attempt) -> Result<(), StoreError> {
        let now = self.ports.clock.now();
        let keys: Vec<&str> = attempt.keys().into_iter().map(|(k, _)| k).collect();
        self.ports.attempts.record_failure(&keys, now)
    }

    /// Forgets the account's failures after a success (the address keeps
    /// its count: one address guessing many accounts stays limited).
    ///
    /// # Errors
    /// Store failures only.
    pub fn record_success(&self, attempt: &Attempt) -> Result<(), StoreError> {
        let keys: Vec<&str> = attempt
            .pair
            .iter()
            .chain(&attempt.account)
            .map(String::as_str)
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        self.ports.attempts.clear_failures(&keys)
    }

    /// Runs `check` (a password or secret check) under the limits of
    /// `attempt`: refused while over the limit, a failure counted, a
    /// success clearing the account's count.
    ///
    /// # Errors
    /// `slow_down`, the error of `check`, or a store failure.
    pub fn guarded<T>(
        &self,
        attempt: &Attempt,
        check: impl FnOnce() -> Result<T, OAuthError>,
    ) -> Result<T, OAuthError> {
        let earlier_failures = self.check_attempt(attempt)?;
        match check() {
            Ok(value) => {
                if earlier_failures > 0 {
                    self.record_success(attempt)?;
                }
                Ok(value)
            }
            Err(error)
                if matches!(
                    error.code,
                    ErrorCode::InvalidClient | ErrorCode::InvalidGrant
                ) =>
            {
                self.record_failure(attempt)?;
                Err(error)
            }
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::fixtures::world;
    use crate::testing::t;

    #[test]
    fn the_account_is_refused_after_the_limit_until_the_window_passes() {
        let w = world();
        let attempt = Attempt::user("alice", Some("192.0.2.1"));
        for _ in 0..10 {
            assert!(w.services.check_attempt(&attempt).is_ok());
            w.services.record_failure(&attempt).unwrap();
        }

        let refused = w.services.check_attempt(&attempt).unwrap_err();
        assert_eq!(refused.code, ErrorCode::SlowDown);
        assert_eq!(refused.retry_after, Some(900));

        w.clock.set(t(899));
        assert_eq!(
            w.services.check_attempt(&attempt).unwrap_err().retry_after,
            Some(1)
        );
        w.clock.set(t(900));
        assert!(w.services.check_attempt(&attempt).is_ok());
    }

    #[test]
    fn failures_from_one_address_do_not_lock_the_account_out_elsewhere() {
        let w = world();
        let attacker = Attempt::user("alice", Some("203.0.113.66"));
        let owner = Attempt::user("alice", Some("192.0.2.1"));
        for _ in 0..10 {
            w.services.record_failure(&attacker).unwrap();
        }

        assert_eq!(
            w.services.check_attempt(&attacker).unwrap_err().code,
            ErrorCode::SlowDown
        );
        assert!(w.services.check_attempt(&owner).is_ok());
    }

    #[test]
    fn failures_from_many_addresses_reach_the_account_ceiling() {
        let w = world();
        for n in 0..100 {
            let address = format!("198.51.100.{n}");
            w.services
                .record_failure(&Attempt::user("alice", Some(&address)))
                .unwrap();
        }

        let anywhere = Attempt::user("alice", Some("192.0.2.1"));
        assert_eq!(
            w.services.check_attempt(&anywhere).unwrap_err().code,
            ErrorCode::SlowDown
        );
    }

    #[test]
    fn keys_are_digests_whatever_the_name() {
        let long = "x".repeat(10_000);
        let attempt = Attempt::client(&long, Some("192.0.2.1"));

        assert!(attempt.keys().iter().all(|(k, _)| k.len() == 64));
    }

    #[test]
    fn a_success_clears_the_account_but_not_the_address() {
        let mut w = world();
        w.services.policy.throttle.per_address = 20;
        let alice = Attempt::user("alice", Some("192.0.2.1"));
        let bob = Attempt::user("bob", Some("192.0.2.1"));
        for _ in 0..9 {
            w.services.record_failure(&alice).unwrap();
        }
        w.services.record_success(&alice).unwrap();
        for _ in 0..9 {
            w.services.record_failure(&alice).unwrap();
        }
        assert!(w.services.check_attempt(&alice).is_ok());

        // Twenty failures from the address: at its limit, for any account.
        assert!(w.services.check_attempt(&bob).is_ok());
        w.services.record_failure(&bob).unwrap();
        w.services.record_failure(&bob).unwrap();
        assert_eq!(
            w.services.check_attempt(&bob).unwrap_err().code,
            ErrorCode::SlowDown
        );
    }
}
