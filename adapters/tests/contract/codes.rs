use std::sync::Arc;

use domain::code::AuthorizationCode;
use domain::error::StoreError;
use domain::ports::CodeRedemption;
use domain::testing::t;
use domain::token::NewTokens;

use crate::support::{self, contract_tests, Store, TestStore};

contract_tests! {
    all: [
        code_round_trips_exactly,
        openid_code_and_its_tokens_keep_the_nonce_and_the_authentication,
        existing_code_digest_is_a_conflict,
        redeeming_a_code_marks_it_used_and_stores_the_tokens_once,
        redemption_that_fails_to_store_its_tokens_changes_nothing,
    ],
    shared: [
        of_ten_concurrent_redemptions_exactly_one_succeeds,
    ],
}

fn code_round_trips_exactly(store: &dyn Store) {
    let world = support::world(store);
    let code = support::code(&world.client, &world.owner);
    let without_redirect = AuthorizationCode {
        redirect_uri: None,
        used_at: Some(t(130)),
        ..support::code(&world.client, &world.owner)
    };

    store.insert_code(&code).unwrap();
    store.insert_code(&without_redirect).unwrap();

    assert_eq!(store.find_code(&code.digest).unwrap(), Some(code));
    assert_eq!(
        store.find_code(&without_redirect.digest).unwrap(),
        Some(without_redirect)
    );
    assert_eq!(store.find_code(&support::digest()).unwrap(), None);
}

fn openid_code_and_its_tokens_keep_the_nonce_and_the_authentication(store: &dyn Store) {
    let world = support::world(store);
    let authentication = domain::id_token::Authentication {
        auth_time: Some(support::precise(424_242)),
        session_id: Some("sid-Ünï".to_owned()),
        methods: vec!["pwd".to_owned()],
    };
    let code = AuthorizationCode {
        nonce: Some("  n \u{e9} &=  ".to_owned()),
        authentication: Some(authentication.clone()),
        ..support::code(&world.client, &world.owner)
    };
    let unknown_time = AuthorizationCode {
        authentication: Some(domain::id_token::Authentication::default()),
        ..support::code(&world.client, &world.owner)
    };
    let mut tokens = support::tokens(code.family, &world.client, Some(&world.owner));
    tokens.access.authentication = Some(authentication.clone());
    if let Some(refresh) = tokens.refresh.as_mut() {
        refresh.authentication = Some(authentication);
    }
    store.insert_code(&code).unwrap();
    store.insert_code(&unknown_time).unwrap();

    store.redeem_code(&code.digest, t(120), &tokens).unwrap();

    assert_eq!(
        store.find_code(&code.digest).unwrap(),
        Some(AuthorizationCode {
            used_at: Some(t(120)),
            ..code
        })
    );
    assert_eq!(
        store.find_code(&unknown_time.digest).unwrap(),
        Some(unknown_time)
    );
    assert_stored(store, &tokens);
}

fn existing_code_digest_is_a_conflict(store: &dyn Store) {
    let world = support::world(store);
    let code = support::code(&world.client, &world.owner);
    store.insert_code(&code).unwrap();

    let again = store.insert_code(&AuthorizationCode {
        digest: code.digest.clone(),
        ..support::code(&world.client, &world.owner)
    });

    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    assert_eq!(store.find_code(&code.digest).unwrap(), Some(code));
}

fn redeeming_a_code_marks_it_used_and_stores_the_tokens_once(store: &dyn Store) {
    let world = support::world(store);
    let code = support::code(&world.client, &world.owner);
    store.insert_code(&code).unwrap();
    let first = support::tokens(code.family, &world.client, Some(&world.owner));
    let second = support::tokens(code.family, &world.client, Some(&world.owner));

    let redeemed = store.redeem_code(&code.digest, t(120), &first).unwrap();
    let replayed = store.redeem_code(&code.digest, t(125), &second).unwrap();
    let unknown = store
        .redeem_code(&support::digest(), t(125), &second)
        .unwrap();

    assert_eq!(redeemed, CodeRedemption::Redeemed);
    assert_eq!(replayed, CodeRedemption::AlreadyUsed);
    assert_eq!(unknown, CodeRedemption::AlreadyUsed);
    assert_eq!(
        store.find_code(&code.digest).unwrap(),
        Some(AuthorizationCode {
            used_at: Some(t(120)),
            ..code
        })
    );
    assert_stored(store, &first);
    support::assert_not_stored(store, &second);
}

fn redemption_that_fails_to_store_its_tokens_changes_nothing(store: &dyn Store) {
    let world = support::world(store);
    let code = support::code(&world.client, &world.owner);
    store.insert_code(&code).unwrap();
    let existing = support::tokens(support::family(), &world.client, Some(&world.owner));
    store.insert_tokens(&existing).unwrap();
    let mut clashing = support::tokens(code.family, &world.client, Some(&world.owner));
    clashing.refresh.as_mut().unwrap().digest = existing.access.digest.clone();

    let result = store.redeem_code(&code.digest, t(120), &clashing);

    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_eq!(store.find_code(&code.digest).unwrap(), Some(code.clone()));
    assert_eq!(store.find_token(&clashing.access.digest).unwrap(), None);
    let fresh = support::tokens(code.family, &world.client, Some(&world.owner));
    assert_eq!(
        store.redeem_code(&code.digest, t(121), &fresh).unwrap(),
        CodeRedemption::Redeemed
    );
}

fn of_ten_concurrent_redemptions_exactly_one_succeeds(db: &TestStore) {
    let world = support::world(&*db.store);
    let code = support::code(&world.client, &world.owner);
    db.store.insert_code(&code).unwrap();
    let results = support::at_once((0..10).map(|i| {
        let store = Arc::clone(&db.store);
        let digest = code.digest.clone();
        let tokens = support::tokens(code.family, &world.client, Some(&world.owner));
        move || {
            let outcome = store.redeem_code(&digest, t(120 + i), &tokens);
            (outcome, tokens)
        }
    }));

    let mut winners = Vec::new();
    for (outcome, tokens) in &results {
        match outcome {
            Ok(CodeRedemption::Redeemed) => winners.push(tokens),
            Ok(CodeRedemption::AlreadyUsed) => support::assert_not_stored(&*db.store, tokens),
            Err(error) => panic!("a concurrent redemption failed: {error:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one redemption must succeed");
    assert_stored(&*db.store, winners[0]);
    assert!(db
        .store
        .find_code(&code.digest)
        .unwrap()
        .unwrap()
        .used_at
        .is_some());
}

fn assert_stored(store: &dyn support::Store, tokens: &NewTokens) {
    assert_eq!(
        store.find_token(&tokens.access.digest).unwrap().as_ref(),
        Some(&tokens.access)
    );
    let refresh = tokens.refresh.as_ref().unwrap();
    assert_eq!(
        store.find_token(&refresh.digest).unwrap().as_ref(),
        Some(refresh)
    );
}
