//! Brute-force limits (RFC 6749 §4.3.2, RFC 6819 §5.1.4.2.3): failed
//! password checks and client authentications are counted per account (a
//! user name or a client id) and per client address, in the store, so the
//! limit holds across instances. Over the limit, requests are refused with
//! `slow_down` (HTTP 429) and a `Retry-After` until the oldest counted
//! failure leaves the window; the password is not even checked then. A
//! success clears the account's count.

use crate::error::{ErrorCode, OAuthError, StoreError};
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

/// Who is trying: an account key (`user:NAME` or `client:ID`) and the
/// client's address, either of which may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempt {
    /// The account key.
    pub account: Option<String>,
    /// The address key.
    pub address: Option<String>,
}

impl Attempt {
    /// An attempt on user `name` from `address`.
    #[must_use]
    pub fn user(name: &str, address: Option<&str>) -> Self {
        Self {
            account: Some(format!("user:{name}")),
            address: address.map(|a| format!("addr:{a}")),
        }
    }

    /// An attempt to authenticate as client `id` from `address`.
    #[must_use]
    pub fn client(id: &str, address: Option<&str>) -> Self {
        Self {
            account: Some(format!("client:{id}")),
            address: address.map(|a| format!("addr:{a}")),
        }
    }

    fn keys(&self) -> impl Iterator<Item = (&str, bool)> {
        self.account
            .iter()
            .map(|k| (k.as_str(), true))
            .chain(self.address.iter().map(|k| (k.as_str(), false)))
    }
}

impl Services {
    /// Refuses the attempt while its account or address is over the limit;
    /// otherwise returns how many failures the account has (so that a
    /// success clears them only when there are some).
    ///
    /// # Errors
    /// `slow_down` with the seconds to wait; store failures.
    pub fn check_attempt(&self, attempt: &Attempt) -> Result<u32, OAuthError> {
        let policy = self.policy.throttle;
        let now = self.ports.clock.now();
        let since = Timestamp::from_unix_seconds(now.unix_seconds() - policy.window.seconds())
            .unwrap_or(now);
        let mut wait = 0;
        let mut account_failures = 0;
        for (key, is_account) in attempt.keys() {
            let limit = if is_account {
                policy.per_account
            } else {
                policy.per_address
            };
            let (failures, oldest) = self.ports.attempts.failures_since(key, since, limit)?;
            if is_account {
                account_failures = failures;
            }
            if failures >= limit {
                let free_at = oldest.unwrap_or(now).plus(policy.window);
                wait = wait.max(now.seconds_until(free_at));
            }
        }
        if wait > 0 {
            Err(OAuthError::slow_down(wait))
        } else {
            Ok(account_failures)
        }
    }

    /// Counts a failed attempt against its account and address.
    ///
    /// # Errors
    /// Store failures only.
    pub fn record_failure(&self, attempt: &Attempt) -> Result<(), StoreError> {
        let now = self.ports.clock.now();
        for (key, _) in attempt.keys() {
            self.ports.attempts.record_failure(key, now)?;
        }
        Ok(())
    }

    /// Forgets the account's failures after a success (the address keeps
    /// its count: one address guessing many accounts stays limited).
    ///
    /// # Errors
    /// Store failures only.
    pub fn record_success(&self, attempt: &Attempt) -> Result<(), StoreError> {
        match &attempt.account {
            Some(key) => self.ports.attempts.clear_failures(key),
            None => Ok(()),
        }
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
