//! Time as the domain sees it: UTC instants truncated to microseconds, so that
//! SQLite and PostgreSQL round-trip the same value. "Now" is always passed in
//! from the [`crate::ports::Clock`]; the domain never reads a clock itself.

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta};

/// A UTC instant with microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(NaiveDateTime);

impl Timestamp {
    /// The instant `dt` (taken as UTC), truncated to microseconds.
    #[must_use]
    pub fn from_naive_utc(dt: NaiveDateTime) -> Self {
        Self(dt.trunc_subsecs(6))
    }

    /// The instant `secs` seconds after the Unix epoch, if representable.
    #[must_use]
    pub fn from_unix_seconds(secs: i64) -> Option<Self> {
        DateTime::from_timestamp(secs, 0).map(|dt| Self(dt.naive_utc()))
    }

    /// The instant as a naive UTC date-time, as stored.
    #[must_use]
    pub fn as_naive_utc(self) -> NaiveDateTime {
        self.0
    }

    /// Seconds since the Unix epoch (RFC 7662 `exp`/`iat`).
    #[must_use]
    pub fn unix_seconds(self) -> i64 {
        self.0.and_utc().timestamp()
    }

    /// This instant moved forward by `lifetime`.
    #[must_use]
    pub fn plus(self, lifetime: Lifetime) -> Self {
        Self(
            self.0
                .checked_add_signed(TimeDelta::seconds(lifetime.seconds()))
                .unwrap_or(NaiveDateTime::MAX),
        )
    }

    /// This instant moved back by `lifetime`.
    #[must_use]
    pub fn minus(self, lifetime: Lifetime) -> Self {
        Self(
            self.0
                .checked_sub_signed(TimeDelta::seconds(lifetime.seconds()))
                .unwrap_or(NaiveDateTime::MIN),
        )
    }

    /// Whole seconds from `self` until `later` (negative if `later` is earlier).
    #[must_use]
    pub fn seconds_until(self, later: Self) -> i64 {
        (later.0 - self.0).num_seconds()
    }

    /// ISO-8601 form for display, e.g. `2026-11-27 09:30:00 UTC`.
    #[must_use]
    pub fn display(self) -> String {
        self.0.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }
}

/// A length of time in whole seconds, strictly positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lifetime(i64);

impl Lifetime {
    /// A lifetime of `seconds`; `None` unless it is positive.
    #[must_use]
    pub fn from_seconds(seconds: i64) -> Option<Self> {
        (seconds > 0).then_some(Self(seconds))
    }

    /// A lifetime of `seconds`, raised to one second if it is less.
    #[must_use]
    pub const fn at_least_one_second(seconds: u32) -> Self {
        Self(if seconds == 0 { 1 } else { seconds as i64 })
    }

    /// The lifetime in seconds.
    #[must_use]
    pub fn seconds(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn timestamps_are_truncated_to_microseconds() {
        let dt = NaiveDate::from_ymd_opt(2026, 11, 27)
            .and_then(|d| d.and_hms_nano_opt(9, 30, 1, 123_456_789))
            .unwrap();

        let ts = Timestamp::from_naive_utc(dt);

        assert_eq!(
            ts.as_naive_utc().and_utc().timestamp_subsec_nanos(),
            123_456_000
        );
    }

    #[test]
    fn lifetime_must_be_positive_and_adds_seconds() {
        assert!(Lifetime::from_seconds(0).is_none());
        let start = Timestamp::from_unix_seconds(1_000).unwrap();
        let end = start.plus(Lifetime::from_seconds(60).unwrap());

        assert_eq!(end.unix_seconds(), 1_060);
        assert_eq!(start.seconds_until(end), 60);
    }
}
