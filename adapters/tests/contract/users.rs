use domain::client::AuthMethod;
use domain::error::StoreError;
use domain::user::{DisplayName, EmailAddress, PasswordHash, User};

use crate::support::{self, contract_tests, Store};

contract_tests! {
    all: [
        user_round_trips_exactly,
        taken_username_is_a_conflict,
        claims_round_trip_and_emails_are_found_by_their_folded_key,
        an_email_taken_in_another_case_is_a_conflict,
        set_password_replaces_the_hash_of_known_users_only,
        deleting_a_user_deletes_their_clients_and_every_code_and_token_of_them,
    ],
}

fn user_round_trips_exactly(store: &dyn Store) {
    let bob = support::user("bob");
    let alice = support::user("alice");
    let upper = support::user("Zed");

    store.insert_user(&bob).unwrap();
    store.insert_user(&alice).unwrap();
    store.insert_user(&upper).unwrap();

    assert_eq!(store.find_user(&bob.id).unwrap(), Some(bob.clone()));
    // "ALICE": case-folded (RFC 8265 §3.3), see hardening_accounts.rs.
    for name in ["alice", "ALICE"] {
        assert_eq!(
            store.find_user_by_name(name).unwrap(),
            Some(alice.clone()),
            "{name}"
        );
    }
    assert_eq!(store.find_user(&support::user("nobody").id).unwrap(), None);
    assert_eq!(store.list_users().unwrap(), vec![upper, alice, bob]);
}

fn taken_username_is_a_conflict(store: &dyn Store) {
    let first = support::stored_user(store, "alice");

    let same_name = store.insert_user(&support::user("alice"));
    let same_id = store.insert_user(&domain::user::User {
        username: domain::user::Username::parse("other").unwrap(),
        ..first.clone()
    });

    assert!(
        matches!(same_name, Err(StoreError::Conflict)),
        "{same_name:?}"
    );
    assert!(matches!(same_id, Err(StoreError::Conflict)), "{same_id:?}");
    assert_eq!(store.list_users().unwrap(), vec![first]);
}

/// `support::user(name)` with an e-mail address and a display name.
fn user_with_email(name: &str, email: &str) -> User {
    User {
        email: Some(EmailAddress::parse(email).unwrap()),
        email_verified: true,
        name: Some(DisplayName::parse("Ann Example").unwrap()),
        ..support::user(name)
    }
}

fn claims_round_trip_and_emails_are_found_by_their_folded_key(store: &dyn Store) {
    let ann = user_with_email("ann", "Ann@Example.com");
    store.insert_user(&ann).unwrap();
    // Many users without an address: the unique index allows many NULLs.
    let bob = support::stored_user(store, "bob");
    let carol = support::stored_user(store, "carol");

    assert_eq!(store.find_user(&ann.id).unwrap(), Some(ann.clone()));
    assert_eq!(
        store.find_user_by_email("ann@example.com").unwrap(),
        Some(ann.clone())
    );
    assert_eq!(
        store.find_user_by_email("nobody@example.com").unwrap(),
        None
    );

    let new = EmailAddress::parse("bob@example.org").unwrap();
    assert!(store
        .set_email(&bob.id, Some(&new), false, support::precise(11))
        .unwrap());
    assert_eq!(
        store.find_user(&bob.id).unwrap().unwrap().updated_at,
        support::precise(11)
    );
    let name = DisplayName::parse("Bob").unwrap();
    assert!(store
        .set_name(&bob.id, Some(&name), support::precise(12))
        .unwrap());
    let stored = store.find_user(&bob.id).unwrap().unwrap();
    assert_eq!(
        (stored.email, stored.email_verified, stored.name),
        (Some(new), false, Some(name))
    );
    // `updated_at` is the last change's, to the microsecond; `created_at` stays.
    assert_eq!(
        (stored.created_at, stored.updated_at),
        (bob.created_at, support::precise(12))
    );
    assert!(store
        .set_email(&ann.id, None, false, support::precise(13))
        .unwrap());
    assert!(store.set_name(&ann.id, None, support::precise(14)).unwrap());
    let stored = store.find_user(&ann.id).unwrap().unwrap();
    assert_eq!((stored.email, stored.name), (None, None));
    assert_eq!(stored.updated_at, support::precise(14));
    assert_eq!(store.find_user_by_email("ann@example.com").unwrap(), None);

    let nobody = support::user("nobody");
    assert!(!store
        .set_email(&nobody.id, None, false, support::precise(15))
        .unwrap());
    assert!(!store
        .set_name(&nobody.id, None, support::precise(15))
        .unwrap());
    assert_eq!(store.find_user(&carol.id).unwrap(), Some(carol));
}

fn an_email_taken_in_another_case_is_a_conflict(store: &dyn Store) {
    let ann = user_with_email("ann", "ann@example.com");
    store.insert_user(&ann).unwrap();
    let bob = support::stored_user(store, "bob");

    let same_email = store.insert_user(&user_with_email("anne", "ANN@Example.COM"));
    let taken = EmailAddress::parse("Ann@EXAMPLE.com").unwrap();
    let set_taken = store.set_email(&bob.id, Some(&taken), false, support::precise(1));

    assert!(
        matches!(same_email, Err(StoreError::Conflict)),
        "{same_email:?}"
    );
    assert!(
        matches!(set_taken, Err(StoreError::Conflict)),
        "{set_taken:?}"
    );
    assert_eq!(store.list_users().unwrap(), vec![ann, bob]);
}

fn set_password_replaces_the_hash_of_known_users_only(store: &dyn Store) {
    let alice = support::stored_user(store, "alice");
    let new_hash = PasswordHash::new("$2b$04$new".to_owned());

    assert!(store
        .set_password(&alice.id, &new_hash, support::precise(21))
        .unwrap());
    assert!(!store
        .set_password(&support::user("ghost").id, &new_hash, support::precise(21))
        .unwrap());

    let stored = store.find_user(&alice.id).unwrap().unwrap();
    assert_eq!(stored.password_hash, new_hash);
    assert_eq!(stored.updated_at, support::precise(21));
}

fn deleting_a_user_deletes_their_clients_and_every_code_and_token_of_them(store: &dyn Store) {
    let alice = support::stored_user(store, "alice");
    let bob = support::stored_user(store, "bob");
    let alices_app = support::client("alices-app", &alice, AuthMethod::ClientSecretBasic);
    let bobs_app = support::client("bobs-app", &bob, AuthMethod::None);
    store.insert_client(&alices_app).unwrap();
    store.insert_client(&bobs_app).unwrap();
    // Bob uses Alice's app, Alice uses Bob's app, Bob uses his own.
    let code_of_bob_on_alices_app = support::code(&alices_app, &bob);
    let code_of_alice_on_bobs_app = support::code(&bobs_app, &alice);
    let code_of_bob_on_bobs_app = support::code(&bobs_app, &bob);
    for code in [
        &code_of_bob_on_alices_app,
        &code_of_alice_on_bobs_app,
        &code_of_bob_on_bobs_app,
    ] {
        store.insert_code(code).unwrap();
    }
    let bob_on_alices_app = support::tokens(support::family(), &alices_app, Some(&bob));
    let alice_on_bobs_app = support::tokens(support::family(), &bobs_app, Some(&alice));
    let bob_on_bobs_app = support::tokens(support::family(), &bobs_app, Some(&bob));
    let alices_app_alone = support::tokens(support::family(), &alices_app, None);
    for tokens in [
        &bob_on_alices_app,
        &alice_on_bobs_app,
        &bob_on_bobs_app,
        &alices_app_alone,
    ] {
        store.insert_tokens(tokens).unwrap();
    }

    assert!(store.delete_user(&alice.id).unwrap());

    assert_eq!(store.find_user(&alice.id).unwrap(), None);
    assert_eq!(store.find_client(&alices_app.id).unwrap(), None);
    assert_eq!(store.list_clients().unwrap(), vec![bobs_app]);
    assert_eq!(
        store.find_code(&code_of_bob_on_alices_app.digest).unwrap(),
        None
    );
    assert_eq!(
        store.find_code(&code_of_alice_on_bobs_app.digest).unwrap(),
        None
    );
    assert_eq!(
        store.find_code(&code_of_bob_on_bobs_app.digest).unwrap(),
        Some(code_of_bob_on_bobs_app)
    );
    for gone in [&bob_on_alices_app, &alice_on_bobs_app, &alices_app_alone] {
        support::assert_not_stored(store, gone);
    }
    assert_eq!(
        store.find_token(&bob_on_bobs_app.access.digest).unwrap(),
        Some(bob_on_bobs_app.access.clone())
    );
    assert_eq!(store.find_user(&bob.id).unwrap(), Some(bob));
    assert!(!store.delete_user(&alice.id).unwrap());
}
