//! The quota-bounded inserts: the count and the insert are one operation,
//! so concurrent attempts never overshoot the quota.

use std::sync::Arc;

use domain::client::{AuthMethod, Client};
use domain::code::AuthorizationCode;
use domain::error::StoreError;
use domain::ports::WithinQuota;
use domain::testing::t;

use crate::support::{self, contract_tests, Store, TestStore};

contract_tests! {
    all: [
        clients_are_inserted_until_the_owner_reaches_the_quota,
        only_unused_unexpired_codes_of_the_user_and_client_count,
    ],
    shared: [
        of_concurrent_client_inserts_the_owner_ends_with_the_quota_exactly,
        of_concurrent_code_inserts_the_quota_is_never_exceeded,
    ],
}

fn clients_are_inserted_until_the_owner_reaches_the_quota(store: &dyn Store) {
    let alice = support::stored_user(store, "alice");
    let bob = support::stored_user(store, "bob");
    let of = |id: &str, owner| support::client(id, owner, AuthMethod::ClientSecretBasic);

    for id in ["a1", "a2", "a3"] {
        assert_eq!(
            store
                .insert_client_within_quota(&of(id, &alice), 3)
                .unwrap(),
            WithinQuota::Inserted
        );
    }
    let fourth = store
        .insert_client_within_quota(&of("a4", &alice), 3)
        .unwrap();
    let bobs = store
        .insert_client_within_quota(&of("b1", &bob), 3)
        .unwrap();
    let clash = store.insert_client_within_quota(&of("a1", &bob), 3);

    assert_eq!(fourth, WithinQuota::QuotaReached);
    assert_eq!(bobs, WithinQuota::Inserted);
    assert!(matches!(clash, Err(StoreError::Conflict)), "{clash:?}");
    assert_eq!(store.list_clients_of(&alice.id).unwrap().len(), 3);
    assert_eq!(store.list_clients_of(&bob.id).unwrap().len(), 1);
    assert!(store.find_client(&of("a4", &alice).id).unwrap().is_none());
}

fn of_concurrent_client_inserts_the_owner_ends_with_the_quota_exactly(db: &TestStore) {
    let alice = support::user("alice");
    db.store.insert_user(&alice).unwrap();
    let outcomes = support::at_once((0..12).map(|i| {
        let store = Arc::clone(&db.store);
        let client: Client =
            support::client(&format!("c{i}"), &alice, AuthMethod::ClientSecretBasic);
        move || store.insert_client_within_quota(&client, 5)
    }));

    let inserted = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(WithinQuota::Inserted)))
        .count();
    assert!(
        outcomes.iter().all(Result::is_ok),
        "a concurrent insert failed: {outcomes:?}"
    );
    assert_eq!(inserted, 5, "{outcomes:?}");
    assert_eq!(db.store.list_clients_of(&alice.id).unwrap().len(), 5);
}

fn only_unused_unexpired_codes_of_the_user_and_client_count(store: &dyn Store) {
    let world = support::world(store);
    let bob = support::stored_user(store, "bob");
    let other_app = support::client("other", &world.owner, AuthMethod::ClientSecretBasic);
    store.insert_client(&other_app).unwrap();
    // Codes issued at t(100), expiring at t(160).
    let fresh = || support::code(&world.client, &world.owner);
    let used = AuthorizationCode {
        used_at: Some(t(110)),
        ..fresh()
    };
    let expired = AuthorizationCode {
        issued_at: t(0),
        expires_at: t(60),
        ..fresh()
    };
    store.insert_code(&used).unwrap();
    store.insert_code(&expired).unwrap();
    store
        .insert_code(&support::code(&other_app, &world.owner))
        .unwrap();
    store
        .insert_code(&support::code(&world.client, &bob))
        .unwrap();

    for _ in 0..2 {
        assert_eq!(
            store.insert_code_within_quota(&fresh(), 2).unwrap(),
            WithinQuota::Inserted
        );
    }
    let third = fresh();
    assert_eq!(
        store.insert_code_within_quota(&third, 2).unwrap(),
        WithinQuota::QuotaReached
    );
    assert_eq!(store.find_code(&third.digest).unwrap(), None);
    // At t(160) the two pending codes have expired: room again.
    let later = AuthorizationCode {
        issued_at: t(160),
        expires_at: t(220),
        ..fresh()
    };
    assert_eq!(
        store.insert_code_within_quota(&later, 2).unwrap(),
        WithinQuota::Inserted
    );
    let clash = store.insert_code_within_quota(
        &AuthorizationCode {
            digest: later.digest.clone(),
            ..support::code(&other_app, &world.owner)
        },
        2,
    );
    assert!(matches!(clash, Err(StoreError::Conflict)), "{clash:?}");
}

fn of_concurrent_code_inserts_the_quota_is_never_exceeded(db: &TestStore) {
    let world = support::world(&*db.store);
    let outcomes = support::at_once((0..12).map(|_| {
        let store = Arc::clone(&db.store);
        let code = support::code(&world.client, &world.owner);
        move || {
            store
                .insert_code_within_quota(&code, 4)
                .map(|o| (o, code.digest))
        }
    }));

    let mut stored = 0;
    for outcome in &outcomes {
        match outcome {
            Ok((WithinQuota::Inserted, digest)) => {
                assert!(db.store.find_code(digest).unwrap().is_some());
                stored += 1;
            }
            Ok((WithinQuota::QuotaReached, digest)) => {
                assert!(db.store.find_code(digest).unwrap().is_none());
            }
            Err(error) => panic!("a concurrent insert failed: {error:?}"),
        }
    }
    assert_eq!(stored, 4);
}
