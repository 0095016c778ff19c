use domain::client::{AuthMethod, Client, ClientMetadata};
use domain::error::StoreError;
use domain::ids::ClientId;
use domain::testing::t;

use crate::support::{self, contract_tests, Store};

contract_tests! {
    all: [
        confidential_and_public_clients_round_trip_exactly,
        existing_client_id_is_a_conflict,
        set_client_secret_replaces_the_digest_of_known_clients_only,
        deleting_a_client_deletes_its_codes_and_tokens_only,
    ],
}

fn confidential_and_public_clients_round_trip_exactly(store: &dyn Store) {
    let alice = support::stored_user(store, "alice");
    let bob = support::stored_user(store, "bob");
    let confidential = support::client("web-app", &alice, AuthMethod::ClientSecretPost);
    let native = support::client("native-app", &alice, AuthMethod::None);
    // The OpenID metadata round-trips too (issue 13.9).
    let public = Client {
        issued_at: t(20),
        metadata: ClientMetadata {
            id_token_signed_response_alg: domain::id_token::JwsAlgorithm::EdDsa,
            default_max_age: domain::time::Lifetime::from_seconds(600),
            require_auth_time: true,
            post_logout_redirect_uris: vec![
                domain::redirect_uri::RedirectUri::parse("https://app.example.com/bye?x=1")
                    .unwrap(),
                domain::redirect_uri::RedirectUri::parse("com.example.app:/signed-out").unwrap(),
            ],
            ..native.metadata.clone()
        },
        ..native
    };
    let minimal = Client {
        issued_at: t(30),
        metadata: ClientMetadata {
            redirect_uris: vec![],
            grant_types: vec![],
            response_types: vec![],
            scope: domain::scope::Scope::default(),
            post_logout_redirect_uris: vec![],
            ..support::client("x", &bob, AuthMethod::ClientSecretBasic).metadata
        },
        ..support::client("bobs-service", &bob, AuthMethod::ClientSecretBasic)
    };
    assert_eq!(public.secret_digest, None);
    assert_eq!(public.metadata.client_uri, None);

    for client in [&confidential, &public, &minimal] {
        store.insert_client(client).unwrap();
    }

    assert_eq!(
        store.find_client(&confidential.id).unwrap(),
        Some(confidential.clone())
    );
    assert_eq!(store.find_client(&public.id).unwrap(), Some(public.clone()));
    assert_eq!(
        store.find_client(&minimal.id).unwrap(),
        Some(minimal.clone())
    );
    assert_eq!(
        store
            .find_client(&ClientId::parse("unknown").unwrap())
            .unwrap(),
        None
    );
    assert_eq!(
        store.list_clients_of(&alice.id).unwrap(),
        vec![confidential.clone(), public.clone()]
    );
    assert_eq!(
        store.list_clients_of(&support::user("ghost").id).unwrap(),
        vec![]
    );
    assert_eq!(
        store.list_clients().unwrap(),
        vec![confidential, public, minimal]
    );
}

fn existing_client_id_is_a_conflict(store: &dyn Store) {
    let world = support::world(store);

    let again = store.insert_client(&Client {
        issued_at: t(99),
        ..support::client("app", &world.owner, AuthMethod::None)
    });

    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    assert_eq!(
        store.find_client(&world.client.id).unwrap(),
        Some(world.client)
    );
}

fn set_client_secret_replaces_the_digest_of_known_clients_only(store: &dyn Store) {
    let world = support::world(store);
    let digest = support::digest();

    assert!(store.set_client_secret(&world.client.id, &digest).unwrap());
    assert!(!store
        .set_client_secret(&ClientId::parse("unknown").unwrap(), &digest)
        .unwrap());

    let stored = store.find_client(&world.client.id).unwrap().unwrap();
    assert_eq!(
        stored,
        Client {
            secret_digest: Some(digest),
            ..world.client
        }
    );
}

fn deleting_a_client_deletes_its_codes_and_tokens_only(store: &dyn Store) {
    let world = support::world(store);
    let other = Client {
        issued_at: t(11),
        ..support::client("other", &world.owner, AuthMethod::None)
    };
    store.insert_client(&other).unwrap();
    let code = support::code(&world.client, &world.owner);
    let other_code = support::code(&other, &world.owner);
    store.insert_code(&code).unwrap();
    store.insert_code(&other_code).unwrap();
    let tokens = support::tokens(support::family(), &world.client, Some(&world.owner));
    let other_tokens = support::tokens(support::family(), &other, Some(&world.owner));
    store.insert_tokens(&tokens).unwrap();
    store.insert_tokens(&other_tokens).unwrap();

    assert!(store.delete_client(&world.client.id).unwrap());

    assert_eq!(store.find_client(&world.client.id).unwrap(), None);
    assert_eq!(store.find_code(&code.digest).unwrap(), None);
    assert_eq!(store.find_token(&tokens.access.digest).unwrap(), None);
    assert_eq!(
        store.find_token(&tokens.refresh.unwrap().digest).unwrap(),
        None
    );
    assert_eq!(store.find_client(&other.id).unwrap(), Some(other));
    assert_eq!(
        store.find_code(&other_code.digest).unwrap(),
        Some(other_code)
    );
    assert_eq!(
        store.find_token(&other_tokens.access.digest).unwrap(),
        Some(other_tokens.access)
    );
    assert_eq!(store.find_user(&world.owner.id).unwrap(), Some(world.owner));
    assert!(!store.delete_client(&world.client.id).unwrap());
}
