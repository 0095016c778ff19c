//! Issue 11.12: a write that refers to a user or client deleted meanwhile
//! is `StoreError::Gone` (a foreign key failed), never `Other`, on every
//! store, and changes nothing. Issue 11.10: the `trusted` flag of clients.

use domain::client::AuthMethod;
use domain::error::StoreError;
use domain::ports::CodeRedemption;
use domain::testing::t;

use crate::support::{self, contract_tests, Store};

contract_tests! {
    all: [
        tokens_for_a_missing_user_or_client_are_gone,
        a_code_for_a_missing_user_or_client_is_gone,
        a_client_of_a_missing_owner_is_gone,
        redeeming_a_code_into_tokens_of_a_missing_user_is_gone_and_keeps_the_code_unused,
        clients_start_untrusted_and_set_client_trusted_round_trips,
    ],
}

fn tokens_for_a_missing_user_or_client_are_gone(store: &dyn Store) {
    let world = support::world(store);
    let ghost = support::user("ghost");
    let ghost_client = support::client("ghost-app", &world.owner, AuthMethod::ClientSecretBasic);

    let no_user = support::tokens(support::family(), &world.client, Some(&ghost));
    let no_client = support::tokens(support::family(), &ghost_client, Some(&world.owner));

    assert!(matches!(
        store.insert_tokens(&no_user),
        Err(StoreError::Gone)
    ));
    assert!(matches!(
        store.insert_tokens(&no_client),
        Err(StoreError::Gone)
    ));
    assert_eq!(store.find_token(&no_user.access.digest).unwrap(), None);
    assert_eq!(store.find_token(&no_client.access.digest).unwrap(), None);
}

fn a_code_for_a_missing_user_or_client_is_gone(store: &dyn Store) {
    let world = support::world(store);
    let ghost = support::user("ghost");
    let ghost_client = support::client("ghost-app", &world.owner, AuthMethod::ClientSecretBasic);

    let no_user = support::code(&world.client, &ghost);
    let no_client = support::code(&ghost_client, &world.owner);

    assert!(matches!(store.insert_code(&no_user), Err(StoreError::Gone)));
    assert!(matches!(
        store.insert_code(&no_client),
        Err(StoreError::Gone)
    ));
    assert_eq!(store.find_code(&no_user.digest).unwrap(), None);
}

fn a_client_of_a_missing_owner_is_gone(store: &dyn Store) {
    let ghost = support::user("ghost");
    let client = support::client("orphan", &ghost, AuthMethod::ClientSecretPost);

    assert!(matches!(
        store.insert_client(&client),
        Err(StoreError::Gone)
    ));
    assert_eq!(store.find_client(&client.id).unwrap(), None);
}

fn redeeming_a_code_into_tokens_of_a_missing_user_is_gone_and_keeps_the_code_unused(
    store: &dyn Store,
) {
    let world = support::world(store);
    let code = support::code(&world.client, &world.owner);
    store.insert_code(&code).unwrap();
    let ghost = support::user("ghost");

    let tokens = support::tokens(code.family, &world.client, Some(&ghost));
    let outcome = store.redeem_code(&code.digest, t(5), &tokens);

    assert!(matches!(outcome, Err(StoreError::Gone)), "{outcome:?}");
    assert_eq!(
        store.find_code(&code.digest).unwrap().unwrap().used_at,
        None
    );
    let tokens = support::tokens(code.family, &world.client, Some(&world.owner));
    assert!(matches!(
        store.redeem_code(&code.digest, t(6), &tokens),
        Ok(CodeRedemption::Redeemed)
    ));
}

fn clients_start_untrusted_and_set_client_trusted_round_trips(store: &dyn Store) {
    let world = support::world(store);
    let unknown = domain::ids::ClientId::parse("unknown").unwrap();
    let trusted = || {
        store
            .find_client(&world.client.id)
            .unwrap()
            .unwrap()
            .trusted
    };

    assert!(!trusted());
    assert!(store.set_client_trusted(&world.client.id, true).unwrap());
    assert!(trusted());
    assert!(store.set_client_trusted(&world.client.id, false).unwrap());
    assert!(!trusted());
    assert!(!store.set_client_trusted(&unknown, true).unwrap());
}
