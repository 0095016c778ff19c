//! The lifecycle of the ID token signing keys: per algorithm, one key
//! signs at a time; a new key is published before it signs (so that the
//! relying parties' cached JWKS already holds it, OpenID Connect Core §10.1.1)
//! and an old key stays published until every ID token it signed has
//! expired. The whole schedule follows from each key's `signs_from`: a key
//! retires when a later key starts signing, and is published until its
//! retirement plus the ID token lifetime plus a margin.

use crate::id_token::JwsAlgorithm;
use crate::time::{Lifetime, Timestamp};

/// A stored signing key. The private key is sealed (encrypted) by the
/// adapter; the domain never sees it in the clear.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    /// The key id (the adapter's JWK thumbprint).
    pub kid: String,
    /// The algorithm it signs with.
    pub alg: JwsAlgorithm,
    /// 1 for the first key of `alg`, then one more per rotation; unique per
    /// algorithm, so that two instances rotating at once cannot both add a
    /// key (the second insert conflicts).
    pub generation: i64,
    /// When it was made (and published).
    pub created_at: Timestamp,
    /// From when it signs.
    pub signs_from: Timestamp,
    /// The encrypted private key, as the adapter wrote it.
    pub sealed_private_key: String,
}

impl std::fmt::Debug for StoredSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("generation", &self.generation)
            .field("created_at", &self.created_at)
            .field("signs_from", &self.signs_from)
            .field("sealed_private_key", &"[redacted]")
            .finish()
    }
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not signing yet.
    Next,
    /// Signing (and published).
    Current,
    /// No longer signing; published until its last token has expired.
    Retired,
}

impl KeyState {
    /// The name `keys list` shows.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Retired => "retired",
        }
    }
}

/// The timing of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySchedule {
    /// `SIGNING_KEY_ROTATION`: how long a key signs before the next one
    /// takes over.
    pub rotation: Lifetime,
    /// How long a new key is published before it signs: at least the JWKS
    /// `max-age` plus the instances' reload interval.
    pub lead: Lifetime,
    /// `ID_TOKEN_TTL`: the longest an ID token lives.
    pub id_token: Lifetime,
    /// Added to the ID token lifetime before a retired key is dropped
    /// (clock skew, the reload interval).
    pub margin: Lifetime,
}

impl KeySchedule {
    /// Default of `SIGNING_KEY_ROTATION`: 90 days.
    pub const DEFAULT_ROTATION_SECONDS: u32 = 90 * 24 * 3600;
}

/// One key with its place in the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// The key.
    pub key: StoredSigningKey,
    /// Its state now.
    pub state: KeyState,
    /// When a later key took or takes over, if one exists.
    pub retires_at: Option<Timestamp>,
    /// Until when it is published (none: while it signs, and after).
    pub published_until: Option<Timestamp>,
}

impl KeyStatus {
    /// Whether the JWKS carries it at `now`.
    #[must_use]
    pub fn published_at(&self, now: Timestamp) -> bool {
        self.published_until.is_none_or(|until| now < until)
    }
}

fn order(key: &StoredSigningKey) -> (Timestamp, i64) {
    (key.signs_from, key.generation)
}

/// Every key with its state at `now`, by algorithm then by `signs_from`.
#[must_use]
pub fn statuses(
    keys: &[StoredSigningKey],
    now: Timestamp,
    schedule: &KeySchedule,
) -> Vec<KeyStatus> {
    let mut sorted: Vec<&StoredSigningKey> = keys.iter().collect();
    sorted.sort_by_key(|k| (k.alg, order(k)));
    sorted
        .iter()
        .map(|key| {
            let retires_at = sorted
                .iter()
                .filter(|other| other.alg == key.alg && order(other) > order(key))
                .map(|other| other.signs_from)
                .min();
            let state = if key.signs_from > now {
                KeyState::Next
            } else if retires_at.is_some_and(|at| at <= now) {
                KeyState::Retired
            } else {
                KeyState::Current
            };
            KeyStatus {
                key: (*key).clone(),
                state,
                retires_at,
                published_until: retires_at
                    .map(|at| at.plus(schedule.id_token).plus(schedule.margin)),
            }
        })
        .collect()
}

/// The keys to publish at `now` (every key not past its `published_until`).
#[must_use]
pub fn published(
    keys: &[StoredSigningKey],
    now: Timestamp,
    schedule: &KeySchedule,
) -> Vec<KeyStatus> {
    statuses(keys, now, schedule)
        .into_iter()
        .filter(|s| s.published_at(now))
        .collect()
}

/// The keys the cleanup may delete at `now`: retired and no longer
/// published (every token they signed has expired).
#[must_use]
pub fn deletable(keys: &[StoredSigningKey], now: Timestamp, schedule: &KeySchedule) -> Vec<String> {
    statuses(keys, now, schedule)
        .into_iter()
        .filter(|s| !s.published_at(now))
        .map(|s| s.key.kid)
        .collect()
}

/// A key to make: its generation and when it starts signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedKey {
    /// The algorithm.
    pub alg: JwsAlgorithm,
    /// One more than the newest key of `alg`.
    pub generation: i64,
    /// From when it signs.
    pub signs_from: Timestamp,
}

/// How a rotation is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The timer: only when the current key's period ends within the lead
    /// and no next key is waiting.
    WhenDue,
    /// `keys rotate`: a new key now, signing after the lead, unless a next
    /// key is already waiting.
    Scheduled,
    /// `keys rotate --now` (a key believed compromised): a new key that
    /// signs at once, without waiting for caches; relying parties that meet
    /// its unknown `kid` refetch the JWKS. The old key still retires
    /// normally (tokens it signed verify until they expire).
    Immediate,
}

/// The key to make for `alg` at `now`, if any: the first key (signing at
/// once, nothing can have cached anything), or the next one per `rotation`.
#[must_use]
pub fn plan(
    alg: JwsAlgorithm,
    keys: &[StoredSigningKey],
    now: Timestamp,
    schedule: &KeySchedule,
    rotation: Rotation,
) -> Option<PlannedKey> {
    let of_alg: Vec<&StoredSigningKey> = keys.iter().filter(|k| k.alg == alg).collect();
    let generation = of_alg.iter().map(|k| k.generation).max().unwrap_or(0) + 1;
    let Some(latest) = of_alg.iter().max_by_key(|k| order(k)) else {
        return Some(PlannedKey {
            alg,
            generation,
            signs_from: now,
        });
    };
    let waiting = latest.signs_from > now;
    let signs_from = match rotation {
        Rotation::Immediate => now,
        Rotation::Scheduled if waiting => return None,
        Rotation::Scheduled => now.plus(schedule.lead),
        Rotation::WhenDue => {
            let period_end = latest.signs_from.plus(schedule.rotation);
            if waiting || period_end > now.plus(schedule.lead) {
                return None;
            }
            period_end.max(now.plus(schedule.lead))
        }
    };
    Some(PlannedKey {
        alg,
        generation,
        signs_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::t;

    fn schedule() -> KeySchedule {
        KeySchedule {
            rotation: Lifetime::from_seconds(10_000).unwrap(),
            lead: Lifetime::from_seconds(600).unwrap(),
            id_token: Lifetime::from_seconds(3_600).unwrap(),
            margin: Lifetime::from_seconds(300).unwrap(),
        }
    }

    fn key(kid: &str, generation: i64, created: i64, signs_from: i64) -> StoredSigningKey {
        StoredSigningKey {
            kid: kid.into(),
            alg: JwsAlgorithm::Rs256,
            generation,
            created_at: t(created),
            signs_from: t(signs_from),
            sealed_private_key: "sealed".into(),
        }
    }

    fn states(keys: &[StoredSigningKey], now: i64) -> Vec<(String, KeyState)> {
        statuses(keys, t(now), &schedule())
            .into_iter()
            .map(|s| (s.key.kid, s.state))
            .collect()
    }

    #[test]
    fn the_first_key_signs_at_once() {
        let planned = plan(
            JwsAlgorithm::Es256,
            &[],
            t(5),
            &schedule(),
            Rotation::WhenDue,
        );
        assert_eq!(
            planned,
            Some(PlannedKey {
                alg: JwsAlgorithm::Es256,
                generation: 1,
                signs_from: t(5)
            })
        );
    }

    #[test]
    fn the_timer_rotates_only_within_the_lead_of_the_period_end() {
        let keys = [key("a", 1, 0, 0)];
        // The period ends at 10 000; the lead is 600.
        assert_eq!(
            plan(
                JwsAlgorithm::Rs256,
                &keys,
                t(9_399),
                &schedule(),
                Rotation::WhenDue
            ),
            None
        );
        let planned = plan(
            JwsAlgorithm::Rs256,
            &keys,
            t(9_400),
            &schedule(),
            Rotation::WhenDue,
        )
        .unwrap();
        assert_eq!((planned.generation, planned.signs_from), (2, t(10_000)));
        // A late timer still gives caches the whole lead.
        let late = plan(
            JwsAlgorithm::Rs256,
            &keys,
            t(20_000),
            &schedule(),
            Rotation::WhenDue,
        )
        .unwrap();
        assert_eq!(late.signs_from, t(20_600));
        // Other algorithms are planned on their own.
        assert_eq!(
            plan(
                JwsAlgorithm::EdDsa,
                &keys,
                t(9_400),
                &schedule(),
                Rotation::WhenDue
            )
            .map(|p| p.generation),
            Some(1)
        );
    }

    #[test]
    fn no_second_next_key_while_one_is_waiting() {
        let keys = [key("a", 1, 0, 0), key("b", 2, 9_400, 10_000)];
        for rotation in [Rotation::WhenDue, Rotation::Scheduled] {
            assert_eq!(
                plan(JwsAlgorithm::Rs256, &keys, t(9_500), &schedule(), rotation),
                None
            );
        }
    }

    #[test]
    fn a_manual_rotation_publishes_first_and_an_immediate_one_signs_at_once() {
        let keys = [key("a", 1, 0, 0)];
        let scheduled = plan(
            JwsAlgorithm::Rs256,
            &keys,
            t(100),
            &schedule(),
            Rotation::Scheduled,
        )
        .unwrap();
        assert_eq!((scheduled.generation, scheduled.signs_from), (2, t(700)));
        let immediate = plan(
            JwsAlgorithm::Rs256,
            &keys,
            t(100),
            &schedule(),
            Rotation::Immediate,
        )
        .unwrap();
        assert_eq!((immediate.generation, immediate.signs_from), (2, t(100)));
    }

    #[test]
    fn a_new_key_is_next_then_current_and_the_old_one_retires_when_it_takes_over() {
        let keys = [key("a", 1, 0, 0), key("b", 2, 9_400, 10_000)];
        assert_eq!(
            states(&keys, 9_999),
            [
                ("a".into(), KeyState::Current),
                ("b".into(), KeyState::Next)
            ]
        );
        assert_eq!(
            states(&keys, 10_000),
            [
                ("a".into(), KeyState::Retired),
                ("b".into(), KeyState::Current)
            ]
        );
    }

    #[test]
    fn a_retired_key_stays_published_until_its_last_token_expired() {
        let keys = [key("a", 1, 0, 0), key("b", 2, 9_400, 10_000)];
        // Retired at 10 000, + 3 600 ID token lifetime + 300 margin.
        let kids = |now| {
            published(&keys, t(now), &schedule())
                .into_iter()
                .map(|s| s.key.kid)
                .collect::<Vec<_>>()
        };
        assert_eq!(kids(9_400), ["a", "b"]);
        assert_eq!(kids(13_899), ["a", "b"]);
        assert_eq!(kids(13_900), ["b"]);
        assert!(deletable(&keys, t(13_899), &schedule()).is_empty());
        assert_eq!(deletable(&keys, t(13_900), &schedule()), ["a"]);
    }

    #[test]
    fn an_immediate_key_takes_over_from_a_waiting_one_until_that_ones_time() {
        // b waits for 10 000; c is made at 9 500 to sign at once.
        let keys = [
            key("a", 1, 0, 0),
            key("b", 2, 9_400, 10_000),
            key("c", 3, 9_500, 9_500),
        ];
        assert_eq!(
            states(&keys, 9_600),
            [
                ("a".into(), KeyState::Retired),
                ("c".into(), KeyState::Current),
                ("b".into(), KeyState::Next)
            ]
        );
    }

    #[test]
    fn debug_hides_the_sealed_key() {
        let printed = format!("{:?}", key("a", 1, 0, 0));
        assert!(!printed.contains("sealed\""), "{printed}");
        assert!(printed.contains("redacted"));
    }
}
