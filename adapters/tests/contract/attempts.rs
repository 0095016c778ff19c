//! `AttemptRepository`: a reservation counts and inserts in one atomic step,
//! also under concurrency and across instances.

use std::sync::{Arc, Barrier};

use adapters::db::DieselStore;
use domain::error::StoreError;
use domain::ports::{AttemptRepository, KeyLimit, Reserve};
use domain::testing::t;
use domain::time::Timestamp;

use crate::support::{contract_tests, Store, TestStore};

contract_tests! {
    all: [
        reserves_are_refused_at_the_limit_and_insert_nothing_then,
        a_refusal_says_when_the_key_is_under_its_limit_again,
        every_key_of_a_reservation_must_be_under_its_limit,
        release_deletes_its_own_rows_and_the_cleared_keys_only,
    ],
    shared: [
        of_sixty_concurrent_reserves_against_a_limit_of_ten_exactly_ten_succeed,
        concurrent_reserves_sharing_keys_in_any_order_keep_every_limit,
    ],
    diesel: [
        two_instances_on_one_database_share_the_limit,
    ],
}

fn limit(key: &str, limit: u32) -> KeyLimit<'_> {
    KeyLimit { key, limit }
}

fn reserve(
    store: &dyn AttemptRepository,
    id: &str,
    limits: &[KeyLimit<'_>],
    since: Timestamp,
    now: Timestamp,
) -> Reserve {
    store.reserve(id, limits, since, now).unwrap()
}

fn reserves_are_refused_at_the_limit_and_insert_nothing_then(store: &dyn Store) {
    for n in 0..3 {
        assert_eq!(
            reserve(store, &format!("r{n}"), &[limit("k", 3)], t(0), t(10 + n)),
            Reserve::Reserved
        );
    }

    for n in 0..5 {
        assert_eq!(
            reserve(store, "refused", &[limit("k", 3)], t(0), t(20 + n)),
            Reserve::Refused { frees_at: t(10) }
        );
    }
    // The refusals left no row: with the first row out of the window, one
    // more fits, and no more.
    assert_eq!(
        reserve(store, "r3", &[limit("k", 3)], t(10), t(30)),
        Reserve::Reserved
    );
    assert_eq!(
        reserve(store, "r4", &[limit("k", 3)], t(10), t(31)),
        Reserve::Refused { frees_at: t(11) }
    );
    // Another key is counted apart.
    assert_eq!(
        reserve(store, "r5", &[limit("other", 3)], t(0), t(31)),
        Reserve::Reserved
    );
}

fn a_refusal_says_when_the_key_is_under_its_limit_again(store: &dyn Store) {
    for n in 0..5 {
        reserve(store, &format!("r{n}"), &[limit("k", 5)], t(0), t(10 + n));
    }

    // Five rows against a limit of three: under it once three have left.
    let refused = Reserve::Refused { frees_at: t(12) };
    for (id, since, answer) in [
        ("x", 0, refused),
        ("y", 11, refused),
        ("z", 12, Reserve::Reserved),
    ] {
        assert_eq!(
            reserve(store, id, &[limit("k", 3)], t(since), t(20)),
            answer,
            "{id}"
        );
    }
}

fn every_key_of_a_reservation_must_be_under_its_limit(store: &dyn Store) {
    reserve(store, "a1", &[limit("full", 1)], t(0), t(5));
    reserve(store, "a2", &[limit("late", 2)], t(0), t(7));
    reserve(store, "a3", &[limit("late", 2)], t(0), t(8));

    assert_eq!(
        reserve(
            store,
            "b",
            &[limit("free", 10), limit("full", 1), limit("late", 2)],
            t(0),
            t(9)
        ),
        Reserve::Refused { frees_at: t(7) }
    );
    // Nothing was inserted under the free key either.
    for n in 0..10 {
        assert_eq!(
            reserve(store, &format!("c{n}"), &[limit("free", 10)], t(0), t(9)),
            Reserve::Reserved
        );
    }
    assert!(matches!(
        reserve(store, "d", &[limit("free", 10)], t(0), t(9)),
        Reserve::Refused { .. }
    ));
}

fn release_deletes_its_own_rows_and_the_cleared_keys_only(store: &dyn Store) {
    let both = [limit("user", 3), limit("addr", 3)];
    // Same keys, same instant: only the reservation tells them apart.
    reserve(store, "kept", &both, t(0), t(5));
    reserve(store, "released", &both, t(0), t(5));
    reserve(store, "other", &[limit("cleared", 2)], t(0), t(5));
    reserve(store, "other2", &[limit("cleared", 2)], t(0), t(5));

    store.release("released", &["user", "addr"], &[]).unwrap();
    store.release("none", &["user"], &["cleared"]).unwrap();

    // Each key holds one row again ("kept"), "cleared" none.
    for key in ["user", "addr"] {
        assert_eq!(
            reserve(store, "n1", &[limit(key, 2)], t(0), t(6)),
            Reserve::Reserved
        );
        assert_eq!(
            reserve(store, "n2", &[limit(key, 2)], t(0), t(6)),
            Reserve::Refused { frees_at: t(5) }
        );
    }
    assert_eq!(
        reserve(store, "n3", &[limit("cleared", 1)], t(0), t(6)),
        Reserve::Reserved
    );
}

/// Runs `n` reserves at once (after a barrier) on `stores` in turn.
fn concurrently(
    stores: &[Arc<dyn AttemptRepository>],
    n: usize,
    limits_of: impl Fn(usize) -> Vec<(String, u32)> + Sync,
) -> Vec<(usize, Result<Reserve, StoreError>)> {
    let barrier = Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let store = Arc::clone(&stores[i % stores.len()]);
                let barrier = &barrier;
                let limits = limits_of(i);
                scope.spawn(move || {
                    let limits: Vec<KeyLimit<'_>> =
                        limits.iter().map(|(k, l)| limit(k, *l)).collect();
                    barrier.wait();
                    (i, store.reserve(&format!("r{i}"), &limits, t(0), t(10)))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn reserved(outcomes: &[(usize, Result<Reserve, StoreError>)]) -> Vec<usize> {
    outcomes
        .iter()
        .filter_map(|(i, outcome)| match outcome {
            Ok(Reserve::Reserved) => Some(*i),
            Ok(Reserve::Refused { .. }) => None,
            Err(error) => panic!("a concurrent reserve failed: {error:?}"),
        })
        .collect()
}

fn of_sixty_concurrent_reserves_against_a_limit_of_ten_exactly_ten_succeed(db: &TestStore) {
    let store: Arc<dyn AttemptRepository> = db.store.clone();

    let outcomes = concurrently(&[store], 60, |_| vec![("k".to_owned(), 10)]);

    assert_eq!(reserved(&outcomes).len(), 10);
}

fn concurrent_reserves_sharing_keys_in_any_order_keep_every_limit(db: &TestStore) {
    let store: Arc<dyn AttemptRepository> = db.store.clone();

    // Even ones lock (own-even, shared), odd ones (shared, own-odd): the
    // opposite order, which must not deadlock.
    let outcomes = concurrently(&[store], 60, |i| {
        if i % 2 == 0 {
            vec![("own-even".to_owned(), 10), ("shared".to_owned(), 15)]
        } else {
            vec![("shared".to_owned(), 15), ("own-odd".to_owned(), 10)]
        }
    });

    let won = reserved(&outcomes);
    assert_eq!(won.len(), 15, "{won:?}");
    assert!(won.iter().filter(|i| *i % 2 == 0).count() <= 10);
    assert!(won.iter().filter(|i| *i % 2 == 1).count() <= 10);
}

fn two_instances_on_one_database_share_the_limit(db: &TestStore) {
    let first: Arc<dyn AttemptRepository> = db.store.clone();
    let second: Arc<dyn AttemptRepository> = Arc::new(DieselStore::open(db.url(), 10).unwrap());

    let outcomes = concurrently(&[first, second], 60, |_| vec![("k".to_owned(), 10)]);

    assert_eq!(reserved(&outcomes).len(), 10);
}
