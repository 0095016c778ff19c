//! ID token signing keys (issue 13 item 4): stored whole, read back in
//! (alg, generation) order, unique by `kid` and by (alg, generation) so that
//! of two instances rotating at once exactly one adds the key.

use std::sync::Arc;

use domain::error::StoreError;
use domain::id_token::JwsAlgorithm;
use domain::signing_key::StoredSigningKey;
use domain::testing::t;

use crate::support::{at_once, contract_tests, Store, TestStore};

contract_tests! {
    all: [
        a_key_round_trips_and_keys_come_in_alg_and_generation_order,
        a_second_key_with_the_same_kid_or_generation_is_refused_and_not_stored,
        deleting_removes_only_the_named_keys,
    ],
    shared: [of_racing_rotations_exactly_one_adds_the_key],
}

fn key(kid: &str, alg: JwsAlgorithm, generation: i64) -> StoredSigningKey {
    StoredSigningKey {
        kid: kid.to_owned(),
        alg,
        generation,
        created_at: t(100),
        signs_from: t(100 + generation * 10),
        sealed_private_key: format!("sealed-{kid}"),
    }
}

/// The stored keys' ids, in the store's order.
fn kids(store: &dyn Store) -> Vec<String> {
    store
        .signing_keys()
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect()
}

fn a_key_round_trips_and_keys_come_in_alg_and_generation_order(store: &dyn Store) {
    assert!(store.signing_keys().unwrap().is_empty());
    let rs2 = key("rs-2", JwsAlgorithm::Rs256, 2);
    let rs1 = key("rs-1", JwsAlgorithm::Rs256, 1);
    let es1 = key("es-1", JwsAlgorithm::Es256, 1);
    for k in [&rs2, &rs1, &es1] {
        store.insert_signing_key(k).unwrap();
    }
    // "ES256" < "RS256" as text; generations ascending within each.
    assert_eq!(kids(store), ["es-1", "rs-1", "rs-2"]);
    let stored = store.signing_keys().unwrap();
    assert_eq!(stored[2], rs2, "every field survives the round trip");
}

fn a_second_key_with_the_same_kid_or_generation_is_refused_and_not_stored(store: &dyn Store) {
    store
        .insert_signing_key(&key("k1", JwsAlgorithm::Rs256, 1))
        .unwrap();
    let same_generation = key("k2", JwsAlgorithm::Rs256, 1);
    assert!(matches!(
        store.insert_signing_key(&same_generation),
        Err(StoreError::Conflict)
    ));
    let same_kid = key("k1", JwsAlgorithm::EdDsa, 1);
    assert!(matches!(
        store.insert_signing_key(&same_kid),
        Err(StoreError::Conflict)
    ));
    // The same generation of another algorithm is another key.
    store
        .insert_signing_key(&key("k3", JwsAlgorithm::Es256, 1))
        .unwrap();
    assert_eq!(kids(store), ["k3", "k1"]);
    assert_eq!(
        store.signing_keys().unwrap()[1].sealed_private_key,
        "sealed-k1"
    );
}

fn deleting_removes_only_the_named_keys(store: &dyn Store) {
    for (kid, generation) in [("a", 1), ("b", 2), ("c", 3)] {
        store
            .insert_signing_key(&key(kid, JwsAlgorithm::Rs256, generation))
            .unwrap();
    }
    let deleted = store
        .delete_signing_keys(&["a".to_owned(), "c".to_owned(), "unknown".to_owned()])
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(kids(store), ["b"]);
    assert_eq!(store.delete_signing_keys(&[]).unwrap(), 0);
}

fn of_racing_rotations_exactly_one_adds_the_key(test: &TestStore) {
    test.store
        .insert_signing_key(&key("first", JwsAlgorithm::Rs256, 1))
        .unwrap();
    // Eight instances decide at once that generation 2 is due, each with a
    // key of its own.
    let results = at_once((0..8).map(|i| {
        let store: Arc<dyn Store> = Arc::clone(&test.store);
        move || store.insert_signing_key(&key(&format!("next-{i}"), JwsAlgorithm::Rs256, 2))
    }));
    let added = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict)))
        .count();
    assert_eq!((added, conflicts), (1, 7), "{results:?}");
    let generation_two: Vec<StoredSigningKey> = test
        .store
        .signing_keys()
        .unwrap()
        .into_iter()
        .filter(|k| k.generation == 2)
        .collect();
    assert_eq!(generation_two.len(), 1);
}
