use std::sync::Arc;

use domain::error::StoreError;
use domain::ids::TokenId;
use domain::ports::Rotation;
use domain::testing::t;
use domain::token::{NewTokens, TokenKind, TokenRecord};

use crate::support::{self, contract_tests, Store, TestStore};

contract_tests! {
    all: [
        tokens_round_trip_exactly,
        existing_token_digest_is_a_conflict_and_stores_nothing,
        rotating_a_refresh_token_stores_the_new_tokens_once,
        rotating_a_revoked_or_unknown_refresh_token_is_refused,
        revoke_family_revokes_every_live_token_of_that_family_only,
        revoke_token_revokes_a_live_token_once,
        revoke_tokens_of_selects_by_user_client_or_both,
        timestamps_keep_their_microseconds,
    ],
    shared: [
        of_ten_concurrent_rotations_exactly_one_succeeds,
    ],
}

fn tokens_round_trip_exactly(store: &dyn Store) {
    let world = support::world(store);
    let user_tokens = support::tokens(support::family(), &world.client, Some(&world.owner));
    let client_only = NewTokens {
        access: support::token(TokenKind::Access, support::family(), &world.client, None),
        refresh: None,
    };
    let already_ended = TokenRecord {
        revoked_at: Some(t(300)),
        rotated_at: Some(t(250)),
        ..support::token(
            TokenKind::Refresh,
            support::family(),
            &world.client,
            Some(&world.owner),
        )
    };

    store.insert_tokens(&user_tokens).unwrap();
    store.insert_tokens(&client_only).unwrap();
    store
        .insert_tokens(&NewTokens {
            access: already_ended.clone(),
            refresh: None,
        })
        .unwrap();

    let refresh = user_tokens.refresh.unwrap();
    assert_eq!(
        store.find_token(&user_tokens.access.digest).unwrap(),
        Some(user_tokens.access)
    );
    assert_eq!(store.find_token(&refresh.digest).unwrap(), Some(refresh));
    assert_eq!(
        store.find_token(&client_only.access.digest).unwrap(),
        Some(client_only.access)
    );
    assert_eq!(
        store.find_token(&already_ended.digest).unwrap(),
        Some(already_ended)
    );
    assert_eq!(store.find_token(&support::digest()).unwrap(), None);
}

fn existing_token_digest_is_a_conflict_and_stores_nothing(store: &dyn Store) {
    let world = support::world(store);
    let first = support::tokens(support::family(), &world.client, Some(&world.owner));
    store.insert_tokens(&first).unwrap();
    let mut second = support::tokens(support::family(), &world.client, Some(&world.owner));
    second.refresh.as_mut().unwrap().digest = first.access.digest.clone();

    let result = store.insert_tokens(&second);

    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_eq!(store.find_token(&second.access.digest).unwrap(), None);
    assert_eq!(
        store.find_token(&first.access.digest).unwrap(),
        Some(first.access)
    );
}

fn rotating_a_refresh_token_stores_the_new_tokens_once(store: &dyn Store) {
    let world = support::world(store);
    let family = support::family();
    let issued = support::tokens(family, &world.client, Some(&world.owner));
    store.insert_tokens(&issued).unwrap();
    let old = issued.refresh.clone().unwrap();
    let next = support::tokens(family, &world.client, Some(&world.owner));
    let duplicate = support::tokens(family, &world.client, Some(&world.owner));

    let rotated = store.rotate_refresh(&old.id, t(400), &next).unwrap();
    let again = store.rotate_refresh(&old.id, t(405), &duplicate).unwrap();

    assert_eq!(rotated, Rotation::Rotated);
    assert_eq!(again, Rotation::AlreadyRotated(t(400)));
    assert_eq!(
        store.find_token(&old.digest).unwrap(),
        Some(TokenRecord {
            rotated_at: Some(t(400)),
            ..old
        })
    );
    assert_eq!(
        store.find_token(&next.access.digest).unwrap(),
        Some(next.access)
    );
    assert_eq!(store.find_token(&duplicate.access.digest).unwrap(), None);
    assert_eq!(
        store
            .find_token(&duplicate.refresh.unwrap().digest)
            .unwrap(),
        None
    );
}

fn rotating_a_revoked_or_unknown_refresh_token_is_refused(store: &dyn Store) {
    let world = support::world(store);
    let issued = support::tokens(support::family(), &world.client, Some(&world.owner));
    store.insert_tokens(&issued).unwrap();
    let old = issued.refresh.unwrap();
    store.revoke_token(&old.id, t(300)).unwrap();
    let next = support::tokens(old.family, &world.client, Some(&world.owner));

    let revoked = store.rotate_refresh(&old.id, t(400), &next).unwrap();
    let unknown = store
        .rotate_refresh(&TokenId::from_random_bytes([0xee; 16]), t(400), &next)
        .unwrap();

    assert_eq!(revoked, Rotation::Revoked);
    assert_eq!(unknown, Rotation::Revoked);
    assert_eq!(store.find_token(&next.access.digest).unwrap(), None);
    assert_eq!(
        store.find_token(&old.digest).unwrap().unwrap().rotated_at,
        None
    );
}

fn of_ten_concurrent_rotations_exactly_one_succeeds(db: &TestStore) {
    let world = support::world(&*db.store);
    let family = support::family();
    let issued = support::tokens(family, &world.client, Some(&world.owner));
    db.store.insert_tokens(&issued).unwrap();
    let old = issued.refresh.unwrap();
    let results = support::at_once((0..10).map(|i| {
        let store = Arc::clone(&db.store);
        let tokens = support::tokens(family, &world.client, Some(&world.owner));
        move || (store.rotate_refresh(&old.id, t(400 + i), &tokens), tokens)
    }));

    let rotated_at = db
        .store
        .find_token(&old.digest)
        .unwrap()
        .unwrap()
        .rotated_at
        .unwrap();
    let mut winners = 0;
    for (outcome, tokens) in &results {
        match outcome {
            Ok(Rotation::Rotated) => {
                winners += 1;
                assert_eq!(
                    db.store.find_token(&tokens.access.digest).unwrap().as_ref(),
                    Some(&tokens.access)
                );
            }
            Ok(Rotation::AlreadyRotated(at)) => {
                assert_eq!(*at, rotated_at);
                assert_eq!(db.store.find_token(&tokens.access.digest).unwrap(), None);
            }
            other => panic!("unexpected outcome of a concurrent rotation: {other:?}"),
        }
    }
    assert_eq!(winners, 1, "exactly one rotation must succeed");
}

fn revoke_family_revokes_every_live_token_of_that_family_only(store: &dyn Store) {
    let world = support::world(store);
    let family = support::family();
    let first = support::tokens(family, &world.client, Some(&world.owner));
    let already = TokenRecord {
        revoked_at: Some(t(250)),
        ..support::token(TokenKind::Access, family, &world.client, Some(&world.owner))
    };
    let other = support::tokens(support::family(), &world.client, Some(&world.owner));
    store.insert_tokens(&first).unwrap();
    store
        .insert_tokens(&NewTokens {
            access: already.clone(),
            refresh: None,
        })
        .unwrap();
    store.insert_tokens(&other).unwrap();

    assert_eq!(store.revoke_family(&family, t(500)).unwrap(), 2);
    assert_eq!(store.revoke_family(&family, t(600)).unwrap(), 0);

    let revoked_at = |digest: &domain::secret::SecretDigest| {
        store.find_token(digest).unwrap().unwrap().revoked_at
    };
    assert_eq!(revoked_at(&first.access.digest), Some(t(500)));
    assert_eq!(revoked_at(&first.refresh.unwrap().digest), Some(t(500)));
    assert_eq!(revoked_at(&already.digest), Some(t(250)));
    assert_eq!(revoked_at(&other.access.digest), None);
}

fn revoke_token_revokes_a_live_token_once(store: &dyn Store) {
    let world = support::world(store);
    let tokens = support::tokens(support::family(), &world.client, Some(&world.owner));
    store.insert_tokens(&tokens).unwrap();

    assert!(store.revoke_token(&tokens.access.id, t(500)).unwrap());
    assert!(!store.revoke_token(&tokens.access.id, t(600)).unwrap());
    assert!(!store
        .revoke_token(&TokenId::from_random_bytes([0xee; 16]), t(600))
        .unwrap());

    let access = store.find_token(&tokens.access.digest).unwrap().unwrap();
    assert_eq!(access.revoked_at, Some(t(500)));
    let refresh = store
        .find_token(&tokens.refresh.unwrap().digest)
        .unwrap()
        .unwrap();
    assert_eq!(refresh.revoked_at, None);
}

fn revoke_tokens_of_selects_by_user_client_or_both(store: &dyn Store) {
    let world = support::world(store);
    let bob = support::stored_user(store, "bob");
    let other_app = domain::client::Client {
        issued_at: t(11),
        ..support::client("other-app", &bob, domain::client::AuthMethod::None)
    };
    store.insert_client(&other_app).unwrap();
    let alice_app = support::tokens(support::family(), &world.client, Some(&world.owner));
    let alice_other = support::tokens(support::family(), &other_app, Some(&world.owner));
    let bob_app = support::tokens(support::family(), &world.client, Some(&bob));
    let bob_other = support::tokens(support::family(), &other_app, Some(&bob));
    let app_alone = NewTokens {
        access: support::token(TokenKind::Access, support::family(), &world.client, None),
        refresh: None,
    };
    for tokens in [&alice_app, &alice_other, &bob_app, &bob_other, &app_alone] {
        store.insert_tokens(tokens).unwrap();
    }
    let revoked = |tokens: &NewTokens| {
        let access = store.find_token(&tokens.access.digest).unwrap().unwrap();
        access.revoked_at.is_some()
    };

    assert_eq!(store.revoke_tokens_of(None, None, t(500)).unwrap(), 0);
    assert_eq!(
        store
            .revoke_tokens_of(Some(&bob.id), Some(&other_app.id), t(500))
            .unwrap(),
        2
    );
    assert!(revoked(&bob_other) && !revoked(&bob_app));
    assert_eq!(
        store
            .revoke_tokens_of(Some(&world.owner.id), None, t(510))
            .unwrap(),
        4
    );
    assert!(revoked(&alice_app) && revoked(&alice_other) && !revoked(&bob_app));
    assert_eq!(
        store
            .revoke_tokens_of(None, Some(&world.client.id), t(520))
            .unwrap(),
        3
    );
    assert!(revoked(&bob_app) && revoked(&app_alone));
    let first_revocation = store.find_token(&alice_app.access.digest).unwrap().unwrap();
    assert_eq!(first_revocation.revoked_at, Some(t(510)));
}

fn timestamps_keep_their_microseconds(store: &dyn Store) {
    let mut owner = support::user("alice");
    owner.created_at = support::precise(1);
    store.insert_user(&owner).unwrap();
    let mut client = support::client("app", &owner, domain::client::AuthMethod::ClientSecretBasic);
    client.issued_at = support::precise(999_999);
    store.insert_client(&client).unwrap();
    let mut code = support::code(&client, &owner);
    code.issued_at = support::precise(123_456);
    code.expires_at = support::precise(654_321);
    store.insert_code(&code).unwrap();
    let mut tokens = support::tokens(support::family(), &client, Some(&owner));
    tokens.access.issued_at = support::precise(10);
    tokens.access.expires_at = support::precise(100_010);
    let redeemed_at = support::precise(500_001);
    store
        .redeem_code(&code.digest, redeemed_at, &tokens)
        .unwrap();
    let old = tokens.refresh.clone().unwrap();
    let rotated_at = support::precise(700_007);
    let next = support::tokens(support::family(), &client, Some(&owner));
    store.rotate_refresh(&old.id, rotated_at, &next).unwrap();
    let revoked_at = support::precise(800_008);
    store.revoke_token(&tokens.access.id, revoked_at).unwrap();

    assert_eq!(store.find_user(&owner.id).unwrap(), Some(owner));
    assert_eq!(store.find_client(&client.id).unwrap(), Some(client));
    assert_eq!(
        store.find_code(&code.digest).unwrap(),
        Some(domain::code::AuthorizationCode {
            used_at: Some(redeemed_at),
            ..code
        })
    );
    assert_eq!(
        store.find_token(&tokens.access.digest).unwrap(),
        Some(TokenRecord {
            revoked_at: Some(revoked_at),
            ..tokens.access
        })
    );
    assert_eq!(
        store.rotate_refresh(&old.id, t(0), &next).unwrap(),
        Rotation::AlreadyRotated(rotated_at)
    );
    assert_eq!(
        store.find_token(&old.digest).unwrap(),
        Some(TokenRecord {
            rotated_at: Some(rotated_at),
            ..old
        })
    );
}
