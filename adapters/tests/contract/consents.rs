//! Remembered consents (OpenID Connect Core §3.1.2.4): one per user and
//! client, replaced on save, gone with their user or client.

use domain::error::StoreError;
use domain::ports::Consent;
use domain::scope::Scope;
use domain::testing::t;

use crate::support::{self, contract_tests, stored_user, Store};

contract_tests! {
    all: [
        consent_round_trips_and_is_replaced_on_save,
        consents_are_per_user_and_client_and_listed_by_client,
        deleting_a_consent_deletes_only_that_one,
        a_consent_goes_with_its_user_or_its_client,
        a_consent_for_a_missing_user_or_client_is_gone,
    ],
}

fn consent(user: &domain::user::User, client: &domain::client::Client, scope: &str) -> Consent {
    Consent {
        user_id: user.id,
        client_id: client.id.clone(),
        scope: Scope::parse(scope).unwrap(),
        granted_at: t(10),
    }
}

fn consent_round_trips_and_is_replaced_on_save(store: &dyn Store) {
    let world = support::world(store);
    let first = consent(&world.owner, &world.client, "profile");
    store.save_consent(&first).unwrap();
    assert_eq!(
        store
            .find_consent(&world.owner.id, &world.client.id)
            .unwrap(),
        Some(first.clone())
    );

    let wider = Consent {
        scope: Scope::parse("profile email offline_access").unwrap(),
        ..first
    };
    store.save_consent(&wider).unwrap();

    assert_eq!(
        store
            .find_consent(&world.owner.id, &world.client.id)
            .unwrap(),
        Some(wider.clone())
    );
    assert_eq!(store.consents_of(&world.owner.id).unwrap(), vec![wider]);
}

fn consents_are_per_user_and_client_and_listed_by_client(store: &dyn Store) {
    let world = support::world(store);
    let bob = stored_user(store, "bob");
    let other = support::client("another", &world.owner, domain::client::AuthMethod::None);
    store.insert_client(&other).unwrap();
    store
        .save_consent(&consent(&world.owner, &world.client, "profile"))
        .unwrap();
    store
        .save_consent(&consent(&world.owner, &other, "email"))
        .unwrap();

    assert_eq!(store.find_consent(&bob.id, &world.client.id).unwrap(), None);
    assert!(store.consents_of(&bob.id).unwrap().is_empty());
    let listed: Vec<String> = store
        .consents_of(&world.owner.id)
        .unwrap()
        .into_iter()
        .map(|c| c.client_id.to_string())
        .collect();
    let mut expected = vec![world.client.id.to_string(), other.id.to_string()];
    expected.sort();
    assert_eq!(listed, expected);
}

fn deleting_a_consent_deletes_only_that_one(store: &dyn Store) {
    let world = support::world(store);
    let bob = stored_user(store, "bob");
    store
        .save_consent(&consent(&world.owner, &world.client, "profile"))
        .unwrap();
    store
        .save_consent(&consent(&bob, &world.client, "profile"))
        .unwrap();

    assert!(store
        .delete_consent(&world.owner.id, &world.client.id)
        .unwrap());
    assert!(!store
        .delete_consent(&world.owner.id, &world.client.id)
        .unwrap());

    assert_eq!(
        store
            .find_consent(&world.owner.id, &world.client.id)
            .unwrap(),
        None
    );
    assert!(store
        .find_consent(&bob.id, &world.client.id)
        .unwrap()
        .is_some());
}

fn a_consent_goes_with_its_user_or_its_client(store: &dyn Store) {
    let world = support::world(store);
    let bob = stored_user(store, "bob");
    let bobs_app = support::client("bobs-app", &bob, domain::client::AuthMethod::None);
    store.insert_client(&bobs_app).unwrap();
    store
        .save_consent(&consent(&world.owner, &world.client, "profile"))
        .unwrap();
    store
        .save_consent(&consent(&world.owner, &bobs_app, "profile"))
        .unwrap();
    store
        .save_consent(&consent(&bob, &world.client, "profile"))
        .unwrap();

    store.delete_client(&world.client.id).unwrap();
    assert_eq!(store.find_consent(&bob.id, &world.client.id).unwrap(), None);
    assert_eq!(store.consents_of(&world.owner.id).unwrap().len(), 1);

    // Deleting bob deletes his client, and with it alice's consent to it.
    store.delete_user(&bob.id).unwrap();
    assert!(store.consents_of(&world.owner.id).unwrap().is_empty());
}

fn a_consent_for_a_missing_user_or_client_is_gone(store: &dyn Store) {
    let world = support::world(store);
    let ghost = support::user("ghost");
    let ghost_app = support::client("ghost-app", &world.owner, domain::client::AuthMethod::None);

    let no_user = store.save_consent(&consent(&ghost, &world.client, "profile"));
    let no_client = store.save_consent(&consent(&world.owner, &ghost_app, "profile"));

    assert!(matches!(no_user, Err(StoreError::Gone)), "{no_user:?}");
    assert!(matches!(no_client, Err(StoreError::Gone)), "{no_client:?}");
}
