//! Known devices: what a device cookie says (OWASP, "Slow down online
//! guessing attacks with device cookies"). A browser that signed in as a
//! user gets one; a later log-in as that user showing it is counted under
//! the device alone by the brute-force limits (`service::throttle`), so
//! strangers' failures never lock it out. The adapter keeps it in a cookie
//! that only the server can make or read.

use std::fmt;

use crate::time::{Lifetime, Timestamp};
use crate::user::Username;

/// A browser that signed in as a user before.
#[derive(Clone, PartialEq, Eq)]
pub struct KnownDevice {
    /// A random id (32 hex digits), new at each sign-in.
    id: String,
    /// When it signed in, in whole seconds.
    issued_at: Timestamp,
    /// The user it signed in as.
    username: String,
}

impl fmt::Debug for KnownDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnownDevice")
            .field("issued_at", &self.issued_at)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// How far in the future a sign-in time may be (clocks of instances differ).
const CLOCK_SKEW: Lifetime = Lifetime::at_least_one_second(60);

impl KnownDevice {
    /// How long a browser stays known without signing in again.
    pub const LIFETIME: Lifetime = Lifetime::at_least_one_second(365 * 24 * 3600);

    /// The device of a browser that signed in as `username` at `now`, with
    /// a random `id`.
    #[must_use]
    pub fn new(id: [u8; 16], now: Timestamp, username: &Username) -> Self {
        let mut hex = String::with_capacity(32);
        for byte in id {
            hex.push_str(&format!("{byte:02x}"));
        }
        Self {
            id: hex,
            issued_at: Timestamp::from_unix_seconds(now.unix_seconds()).unwrap_or(now),
            username: username.as_str().to_owned(),
        }
    }

    /// Reads a cookie value made by [`KnownDevice::cookie_value`].
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.strip_prefix("v1:")?.splitn(3, ':');
        let (id, issued_at, username) = (parts.next()?, parts.next()?, parts.next()?);
        let issued_at = Timestamp::from_unix_seconds(issued_at.parse().ok()?)?;
        (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !username.is_empty()).then(
            || Self {
                id: id.to_owned(),
                issued_at,
                username: username.to_owned(),
            },
        )
    }

    /// The cookie value: `v1:ID:ISSUED_AT:USERNAME` (Unix seconds).
    #[must_use]
    pub fn cookie_value(&self) -> String {
        format!(
            "v1:{}:{}:{}",
            self.id,
            self.issued_at.unix_seconds(),
            self.username
        )
    }

    /// The random id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether it speaks for `username` at `now`: exactly the name it was
    /// issued for (not case-folded: accounts from before case folding may
    /// differ only in case, and the owner of `Alice` must not get a device
    /// budget for guessing at `alice`), and not
    /// older than [`KnownDevice::LIFETIME`] (the cookie's own expiry is the
    /// browser's to keep; this one is the server's).
    #[must_use]
    pub fn is_for(&self, username: &str, now: Timestamp) -> bool {
        self.username == username
            && now < self.issued_at.plus(Self::LIFETIME)
            && self.issued_at.minus(CLOCK_SKEW) <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::t;

    fn alice() -> Username {
        Username::parse("alice").unwrap()
    }

    #[test]
    fn device_cookie_values_round_trip_and_odd_ones_are_refused() {
        let device = KnownDevice::new([7; 16], t(0), &alice());

        assert_eq!(KnownDevice::parse(&device.cookie_value()), Some(device));
        for odd in [
            "",
            "v1:",
            "v1:abc:0:alice",
            "v1:0123456789abcdef0123456789abcdef:alice",
            "v1:0123456789abcdef0123456789abcdef:x:alice",
            "v1:0123456789abcdef0123456789abcdef:0:",
            "v2:0123456789abcdef0123456789abcdef:0:alice",
        ] {
            assert_eq!(KnownDevice::parse(odd), None, "{odd}");
        }
    }

    #[test]
    fn the_id_is_not_in_debug_output() {
        let device = KnownDevice::parse("v1:0123456789abcdef0123456789abcdef:0:al").unwrap();

        assert!(!format!("{device:?}").contains("0123"));
    }

    #[test]
    fn a_device_speaks_for_its_user_for_a_year() {
        let device = KnownDevice::new([1; 16], t(0), &alice());
        let year = i64::from(365 * 24 * 3600_u32);

        assert!(device.is_for("alice", t(0)));
        assert!(device.is_for("alice", t(year - 1)));
        // Exactly the name: a case-duplicate account from before folding
        // gets no device budget for the other spelling.
        assert!(!device.is_for("Alice", t(0)));
        assert!(!device.is_for("alice", t(year)));
        assert!(!device.is_for("bob", t(0)));
        let from_the_future = KnownDevice::new([2; 16], t(3600), &alice());
        assert!(!from_the_future.is_for("alice", t(0)));
    }
}
