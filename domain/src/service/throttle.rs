//! Brute-force limits (RFC 6749 §4.3.2, RFC 6819 §5.1.4.2.3), counted in
//! the store so that they hold across instances, in a sliding window.
//!
//! A password check is *reserved* before it runs: one row under each key of
//! the attempt, counted and inserted in one atomic store step
//! ([`AttemptRepository::reserve`](crate::ports::AttemptRepository::reserve)),
//! so that N concurrent guesses get at most the limit of checks. Over a
//! limit the attempt is refused with `slow_down` (HTTP 429) and a
//! `Retry-After`, and the password is not checked. A failure leaves its rows
//! as the count; a success releases them and forgives the failures of the
//! attempt's own keys (not its address's).
//!
//! Who is counted under which key (the rules of `docs/security.md`, CA-09):
//!
//! - A log-in from a browser that signed in as that user before (it shows a
//!   [`KnownDevice`], OWASP's *device cookie*) is counted under that device
//!   alone: strangers' failures never lock it out.
//! - Every other password check (the login page without a device cookie,
//!   the password grant) is counted under the user from this address, the
//!   user from anywhere (a ceiling [`ACCOUNT_CEILING_FACTOR`] times higher)
//!   and the address. Strangers can exhaust the ceiling; that locks out
//!   only those who cannot prove an earlier sign-in.
//! - A client authentication is never limited when it succeeds: client
//!   secrets are 256-bit values made here, so counting guesses at them
//!   protects nothing, while counting them would let anyone who knows a
//!   (public) client id lock the client out. A failing one is counted under
//!   its address; past the per-address limit, failing requests from there
//!   are answered `slow_down` instead of `invalid_client`.
//! - Sign-ups are counted per address, all of them (each costs a password
//!   hash and a row).

use crate::device::KnownDevice;
use crate::error::{ErrorCode, OAuthError, SecurityEvent, StoreError};
use crate::ports::{KeyLimit, Reserve};
use crate::secret::SecretDigest;
use crate::time::{Lifetime, Timestamp};
use crate::user::User;

use super::Services;

/// How many failures are allowed, and over what window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed per account within the window: a user from one
    /// address, a known device, and sign-ups from one address.
    pub per_account: u32,
    /// Failures allowed per client address within the window (password
    /// checks of any user; failed client authentications, apart).
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

/// How much larger the limit of a user from every address together is than
/// its limit from one address: guessing from one place is stopped early,
/// while exhausting the ceiling takes failures from many places.
pub const ACCOUNT_CEILING_FACTOR: u32 = 10;

/// The description of the `slow_down` that answers a failing client
/// authentication from an address past its limit.
pub const CLIENT_FAILURES_SLOWED: &str =
    "too many failed client authentications from this address; try again later";

/// Whether `error`, answered by a client endpoint, reports a failed client
/// authentication (a security event, by its type): `invalid_client`, or the `slow_down`
/// that replaces it past the per-address limit.
#[must_use]
pub fn is_failed_client_authentication(error: &OAuthError) -> bool {
    error.event == Some(SecurityEvent::ClientAuthFailed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    /// The attempt's own account: a user from one address, a device, or
    /// sign-ups from one address. Forgiven by a success.
    Own,
    /// The user from every address: the ceiling. Forgiven by a success.
    Ceiling,
    /// The address. Kept after a success: one address guessing many
    /// accounts stays limited.
    Address,
}

/// Who is trying, as the keys it is counted under. Keys are SHA-256
/// digests, so a long or odd name never reaches an index as is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempt {
    keys: Vec<(String, KeyKind)>,
}

fn hashed(raw: &str) -> String {
    SecretDigest::of(raw).as_hex().to_owned()
}

impl Attempt {
    /// A password check of user `name` from `address`, by a client that
    /// cannot prove an earlier sign-in (the password grant, or a browser
    /// without a device cookie for `name`).
    #[must_use]
    pub fn user(name: &str, address: Option<&str>) -> Self {
        let user = format!("user:{}", crate::user::fold_username(name));
        let keys = match address {
            Some(a) => vec![
                (hashed(&format!("{user}|addr:{a}")), KeyKind::Own),
                (hashed(&user), KeyKind::Ceiling),
                (hashed(&format!("addr:{a}")), KeyKind::Address),
            ],
            // Without an address the user alone carries the per-account limit.
            None => vec![(hashed(&user), KeyKind::Own)],
        };
        Self { keys }
    }

    /// A log-in as `name` from the login page: under the device alone when
    /// the browser shows a device cookie for `name`, as [`Attempt::user`]
    /// otherwise.
    #[must_use]
    pub fn log_in(
        name: &str,
        address: Option<&str>,
        device: Option<&KnownDevice>,
        now: Timestamp,
    ) -> Self {
        match device.filter(|d| d.is_for(name, now)) {
            Some(device) => Self {
                keys: vec![(
                    hashed(&format!(
                        "device:{}|user:{}",
                        device.id(),
                        crate::user::fold_username(name)
                    )),
                    KeyKind::Own,
                )],
            },
            None => Self::user(name, address),
        }
    }

    /// A failed client authentication from `address` (counted per address
    /// only; nothing without an address).
    #[must_use]
    pub fn client_failure(address: Option<&str>) -> Self {
        Self {
            keys: address
                .map(|a| (hashed(&format!("client-auth|addr:{a}")), KeyKind::Address))
                .into_iter()
                .collect(),
        }
    }

    /// A sign-up from `address`: every sign-up counts, under the
    /// per-account limit (nothing without an address).
    #[must_use]
    pub fn sign_up(address: Option<&str>) -> Self {
        Self {
            keys: address
                .map(|a| (hashed(&format!("sign-up|addr:{a}")), KeyKind::Own))
                .into_iter()
                .collect(),
        }
    }
}

impl KeyKind {
    fn limit(self, policy: &ThrottlePolicy) -> u32 {
        match self {
            Self::Own => policy.per_account,
            Self::Ceiling => policy.per_account.saturating_mul(ACCOUNT_CEILING_FACTOR),
            Self::Address => policy.per_address,
        }
    }
}

/// Whole seconds from `now` until `later`, rounded up: a client retrying
/// after that long is not refused again for the same rows.
fn seconds_from_until(now: Timestamp, later: Timestamp) -> i64 {
    let micros = (later.as_naive_utc() - now.as_naive_utc())
        .num_microseconds()
        .unwrap_or(i64::MAX);
    micros.saturating_add(999_999) / 1_000_000
}

/// How a password check under a [`Reservation`] came out.
pub(crate) enum Checked {
    /// The password is right: released, the account's failures forgiven.
    Passed,
    /// The password (or name) is wrong: the reservation stays as its count.
    Failed,
    /// No answer about the password (the store failed): released.
    Unanswered,
}

/// Rows held under the keys of an attempt: the failure, unless released.
#[derive(Debug)]
#[must_use = "a reservation is counted as a failure unless released"]
pub struct Reservation {
    id: String,
    keys: Vec<(String, KeyKind)>,
}

impl Services {
    /// Reserves one attempt: one row under each of its keys, in one atomic
    /// store step, unless a key is at its limit. Nothing is stored for an
    /// attempt without keys.
    ///
    /// # Errors
    /// `slow_down` with the seconds to wait; `temporarily_unavailable` or
    /// `server_error` when the store fails.
    pub fn reserve_attempt(&self, attempt: &Attempt) -> Result<Reservation, OAuthError> {
        let bytes = self.ports.random.id_bytes();
        let id = uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .simple()
            .to_string();
        let reservation = Reservation {
            id,
            keys: attempt.keys.clone(),
        };
        if attempt.keys.is_empty() {
            return Ok(reservation);
        }
        let policy = self.policy.throttle;
        let now = self.ports.clock.now();
        let since = now.minus(policy.window);
        let limits: Vec<KeyLimit<'_>> = attempt
            .keys
            .iter()
            .map(|(key, kind)| KeyLimit {
                key,
                limit: kind.limit(&policy),
            })
            .collect();
        match self
            .ports
            .attempts
            .reserve(&reservation.id, &limits, since, now)?
        {
            Reserve::Reserved => Ok(reservation),
            Reserve::Refused { frees_at } => Err(OAuthError::slow_down(seconds_from_until(
                now,
                frees_at.plus(policy.window),
            ))),
        }
    }

    /// Ends a reservation that was not a failure: its rows go, and when
    /// `succeeded`, so do the earlier failures of its own account (the
    /// address keeps its count).
    ///
    /// # Errors
    /// Store failures only.
    pub fn release_attempt(
        &self,
        reservation: Reservation,
        succeeded: bool,
    ) -> Result<(), StoreError> {
        if reservation.keys.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = reservation.keys.iter().map(|(k, _)| k.as_str()).collect();
        let forgiven: Vec<&str> = reservation
            .keys
            .iter()
            .filter(|(_, kind)| succeeded && *kind != KeyKind::Address)
            .map(|(k, _)| k.as_str())
            .collect();
        self.ports
            .attempts
            .release(&reservation.id, &keys, &forgiven)
    }

    /// Runs `check` (a password check) under the limits of `attempt`:
    /// reserved first (refused at the limit, the check not run); a failure
    /// (`invalid_grant` or `invalid_client`) keeps the reservation as its
    /// count; a success releases it and forgives the account's failures;
    /// any other error releases it.
    ///
    /// # Errors
    /// `slow_down`, the error of `check`, or a store failure.
    pub fn guarded<T>(
        &self,
        attempt: &Attempt,
        check: impl FnOnce() -> Result<T, OAuthError>,
    ) -> Result<T, OAuthError> {
        let reservation = self.reserve_attempt(attempt)?;
        let outcome = check();
        self.settle(
            reservation,
            match &outcome {
                Ok(_) => Checked::Passed,
                Err(error)
                    if matches!(
                        error.code,
                        ErrorCode::InvalidClient | ErrorCode::InvalidGrant
                    ) =>
                {
                    Checked::Failed
                }
                Err(_) => Checked::Unanswered,
            },
        );
        outcome
    }

    /// Ends the reservation of a password check that came to `checked`.
    pub(crate) fn settle(&self, reservation: Reservation, checked: Checked) {
        match checked {
            Checked::Passed => {
                // A correct password is not refused for a bookkeeping
                // failure: unreleased rows only age out of the window.
                let _ = self.release_attempt(reservation, true);
            }
            Checked::Failed => drop(reservation),
            Checked::Unanswered => {
                // Not an answer about the password: not a failure. If the
                // store fails here too, the row stays, which errs on the
                // safe side.
                let _ = self.release_attempt(reservation, false);
            }
        }
    }

    /// Counts a failed client authentication from `address` and returns the
    /// error to answer: `failure` itself, or past the per-address limit a
    /// `slow_down` ([`CLIENT_FAILURES_SLOWED`]). When the store cannot count
    /// it, `failure` is answered all the same (a failing request gets
    /// nothing either way).
    #[must_use]
    pub fn client_authentication_failed(
        &self,
        address: Option<&str>,
        failure: OAuthError,
    ) -> OAuthError {
        match self.reserve_attempt(&Attempt::client_failure(address)) {
            Ok(_counted) => failure,
            Err(error) if error.code == ErrorCode::SlowDown => OAuthError {
                description: CLIENT_FAILURES_SLOWED.into(),
                ..error
            }
            .with_event(SecurityEvent::ClientAuthFailed),
            Err(_) => failure,
        }
    }

    /// A new device cookie for a browser that just signed in as `user`.
    #[must_use]
    pub fn new_known_device(&self, user: &User) -> KnownDevice {
        KnownDevice::new(
            self.ports.random.id_bytes(),
            self.ports.clock.now(),
            &user.username,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::fixtures::world;
    use crate::testing::t;

    fn fail(w: &crate::service::fixtures::World, attempt: &Attempt) -> Result<(), OAuthError> {
        w.services
            .guarded(attempt, || Err::<(), _>(OAuthError::invalid_grant("wrong")))
    }

    fn succeed(w: &crate::service::fixtures::World, attempt: &Attempt) -> Result<(), OAuthError> {
        w.services.guarded(attempt, || Ok(()))
    }

    fn code_of(result: Result<(), OAuthError>) -> Option<ErrorCode> {
        result.err().map(|e| e.code)
    }

    #[test]
    fn the_account_is_refused_after_the_limit_until_the_window_passes() {
        let w = world();
        let attempt = Attempt::user("alice", Some("192.0.2.1"));
        for _ in 0..10 {
            assert_eq!(code_of(fail(&w, &attempt)), Some(ErrorCode::InvalidGrant));
        }

        let mut checked = false;
        let refused = w
            .services
            .guarded(&attempt, || {
                checked = true;
                Ok(())
            })
            .unwrap_err();
        assert!(!checked, "over the limit the password is not checked");
        assert_eq!(refused.code, ErrorCode::SlowDown);
        assert_eq!(refused.retry_after, Some(900));

        w.clock.set(t(899));
        assert_eq!(succeed(&w, &attempt).unwrap_err().retry_after, Some(1));
        w.clock.set(t(900));
        assert!(succeed(&w, &attempt).is_ok());
    }

    #[test]
    fn the_wait_lasts_until_enough_failures_leave_the_window() {
        let w = world();
        let attempt = Attempt::user("alice", Some("192.0.2.1"));
        for n in 0..10 {
            w.clock.set(t(n * 10));
            fail(&w, &attempt).unwrap_err();
        }
        w.clock.set(t(100));

        // The first failure (at 0) leaves the window at 900.
        assert_eq!(succeed(&w, &attempt).unwrap_err().retry_after, Some(800));
    }

    #[test]
    fn failures_from_one_address_do_not_lock_the_account_out_elsewhere() {
        let w = world();
        let attacker = Attempt::user("alice", Some("203.0.113.66"));
        let owner = Attempt::user("alice", Some("192.0.2.1"));
        for _ in 0..10 {
            fail(&w, &attacker).unwrap_err();
        }

        assert_eq!(code_of(succeed(&w, &attacker)), Some(ErrorCode::SlowDown));
        assert!(succeed(&w, &owner).is_ok());
    }

    #[test]
    fn failures_from_many_addresses_reach_the_ceiling_of_untrusted_clients() {
        let w = world();
        for n in 0..100 {
            let address = format!("198.51.100.{n}");
            fail(&w, &Attempt::user("alice", Some(&address))).unwrap_err();
        }

        let anywhere = Attempt::user("alice", Some("192.0.2.1"));
        assert_eq!(code_of(succeed(&w, &anywhere)), Some(ErrorCode::SlowDown));
        let new_browser = Attempt::log_in("alice", Some("192.0.2.1"), None, t(0));
        assert_eq!(
            code_of(succeed(&w, &new_browser)),
            Some(ErrorCode::SlowDown)
        );
    }

    #[test]
    fn a_known_device_is_counted_against_itself_only() {
        let w = world();
        let device = w.services.new_known_device(&w.alice);
        for n in 0..200 {
            let address = format!("198.51.100.{}", n % 250);
            let _ = fail(&w, &Attempt::user("alice", Some(&address)));
        }
        let from_the_device = Attempt::log_in("alice", Some("198.51.100.1"), Some(&device), t(0));

        assert!(succeed(&w, &from_the_device).is_ok());
        for _ in 0..10 {
            fail(&w, &from_the_device).unwrap_err();
        }
        assert_eq!(
            code_of(succeed(&w, &from_the_device)),
            Some(ErrorCode::SlowDown)
        );
        let other_device = w.services.new_known_device(&w.alice);
        let from_another = Attempt::log_in("alice", None, Some(&other_device), t(0));
        assert!(succeed(&w, &from_another).is_ok());
    }

    #[test]
    fn a_device_cookie_of_another_user_counts_as_none() {
        let w = world();
        let bob = crate::testing::sample_user("bob", "bobs password");
        let bobs_device = w.services.new_known_device(&bob);

        assert_eq!(
            Attempt::log_in("alice", Some("192.0.2.1"), Some(&bobs_device), t(0)),
            Attempt::user("alice", Some("192.0.2.1"))
        );
        assert_ne!(
            Attempt::log_in("bob", Some("192.0.2.1"), Some(&bobs_device), t(0)),
            Attempt::user("bob", Some("192.0.2.1"))
        );
    }

    #[test]
    fn an_expired_device_cookie_counts_as_none() {
        let w = world();
        let device = w.services.new_known_device(&w.alice);
        let year = i64::from(365 * 24 * 3600_u32);

        assert_ne!(
            Attempt::log_in("alice", None, Some(&device), t(year - 1)),
            Attempt::user("alice", None)
        );
        assert_eq!(
            Attempt::log_in("alice", None, Some(&device), t(year)),
            Attempt::user("alice", None)
        );
    }

    #[test]
    fn user_names_are_counted_without_regard_to_case() {
        let w = world();
        for name in ["alice", "Alice", "ALICE", "aLiCe", "alicE"] {
            fail(&w, &Attempt::user(name, Some("192.0.2.1"))).unwrap_err();
            fail(&w, &Attempt::user(name, Some("192.0.2.1"))).unwrap_err();
        }

        assert_eq!(
            code_of(succeed(&w, &Attempt::user("alice", Some("192.0.2.1")))),
            Some(ErrorCode::SlowDown)
        );
    }

    #[test]
    fn keys_are_digests_whatever_the_name() {
        let long = "x".repeat(10_000);
        let attempt = Attempt::user(&long, Some("192.0.2.1"));

        assert!(attempt.keys.iter().all(|(k, _)| k.len() == 64));
    }

    #[test]
    fn a_success_clears_the_account_but_not_the_address() {
        let mut w = world();
        w.services.policy.throttle.per_address = 20;
        let alice = Attempt::user("alice", Some("192.0.2.1"));
        let bob = Attempt::user("bob", Some("192.0.2.1"));
        for _ in 0..9 {
            fail(&w, &alice).unwrap_err();
        }
        succeed(&w, &alice).unwrap();
        for _ in 0..9 {
            fail(&w, &alice).unwrap_err();
        }
        assert!(succeed(&w, &alice).is_ok());

        // Eighteen failures from the address, and two more: at its limit,
        // for any account. The successes were not counted.
        fail(&w, &bob).unwrap_err();
        fail(&w, &bob).unwrap_err();
        assert_eq!(code_of(succeed(&w, &bob)), Some(ErrorCode::SlowDown));
    }

    #[test]
    fn an_error_that_is_not_about_the_password_is_not_counted() {
        let w = world();
        let attempt = Attempt::user("alice", None);
        for _ in 0..20 {
            let _ = w.services.guarded(&attempt, || {
                Err::<(), _>(OAuthError::temporarily_unavailable("down"))
            });
        }

        assert!(succeed(&w, &attempt).is_ok());
    }

    #[test]
    fn failed_client_authentications_are_slowed_per_address_only() {
        let w = world();
        let failure = || OAuthError::invalid_client("client authentication failed");
        for _ in 0..100 {
            let answer = w
                .services
                .client_authentication_failed(Some("192.0.2.1"), failure());
            assert_eq!(answer.code, ErrorCode::InvalidClient);
        }

        let slowed = w
            .services
            .client_authentication_failed(Some("192.0.2.1"), failure());
        assert_eq!(slowed.code, ErrorCode::SlowDown);
        assert!(is_failed_client_authentication(&slowed));
        assert_eq!(
            w.services
                .client_authentication_failed(Some("192.0.2.2"), failure())
                .code,
            ErrorCode::InvalidClient
        );
        assert_eq!(
            w.services
                .client_authentication_failed(None, failure())
                .code,
            ErrorCode::InvalidClient
        );
        // Password checks from that address are not affected.
        assert!(succeed(&w, &Attempt::user("alice", Some("192.0.2.1"))).is_ok());
    }
}
