//! Bounded storage: `purge_dead_rows` deletes exactly what is dead.

use domain::secret::SecretDigest;
use domain::testing::t;
use domain::token::{NewTokens, TokenKind};

use crate::support::{self, contract_tests, TestStore};

contract_tests! {
    all: [],
    diesel: [purge_deletes_dead_codes_tokens_and_sessions_and_keeps_the_rest],
}

fn purge_deletes_dead_codes_tokens_and_sessions_and_keeps_the_rest(db: &TestStore) {
    let world = support::world(&*db.store);
    let store = db.diesel();
    // A code expiring at t(160), used: kept a day past expiry for replay detection.
    let code = support::code(&world.client, &world.owner);
    db.store.insert_code(&code).unwrap();
    // A family expiring at t(3800), and one revoked at t(300).
    let live = support::tokens(support::family(), &world.client, Some(&world.owner));
    let revoked = support::tokens(support::family(), &world.client, Some(&world.owner));
    db.store.insert_tokens(&live).unwrap();
    db.store.insert_tokens(&revoked).unwrap();
    db.store
        .revoke_family(&revoked.access.family, t(300))
        .unwrap();
    // A refresh token rotated at t(250) stays until its own expiry, so
    // that reuse detection still works.
    let rotated = support::tokens(support::family(), &world.client, Some(&world.owner));
    let successor = NewTokens {
        access: support::token(
            TokenKind::Access,
            rotated.access.family,
            &world.client,
            Some(&world.owner),
        ),
        refresh: None,
    };
    db.store
        .insert_tokens(&NewTokens {
            access: rotated.access.clone(),
            refresh: None,
        })
        .unwrap();
    let old_refresh = rotated.refresh.clone().unwrap();
    db.store
        .insert_tokens(&NewTokens {
            access: support::token(
                TokenKind::Access,
                rotated.access.family,
                &world.client,
                None,
            ),
            refresh: Some(old_refresh.clone()),
        })
        .unwrap();
    db.store
        .rotate_refresh(&old_refresh.id, t(250), &successor)
        .unwrap();
    let session_a = SecretDigest::of("session a");
    let session_b = SecretDigest::of("session b");
    store.insert_session(&session_a, "{}", t(1000)).unwrap();
    store.insert_session(&session_b, "{}", t(100_000)).unwrap();
    assert_eq!(store.row_counts().unwrap().tokens, 8);

    // An hour in: only the session that expired at t(1000) is dead.
    let first = store.purge_dead_rows(t(3600)).unwrap();
    assert_eq!((first.codes, first.tokens, first.sessions), (0, 0, 1));
    assert!(db.store.find_token(&old_refresh.digest).unwrap().is_some());

    // Past the live tokens' expiry (t(3800)): they go; the revoked ones
    // expired too.
    let second = store.purge_dead_rows(t(4000)).unwrap();
    assert_eq!((second.codes, second.tokens, second.sessions), (0, 8, 0));

    // A day after the code expired, it goes; the long session stays.
    let third = store.purge_dead_rows(t(160 + 24 * 3600 + 1)).unwrap();
    assert_eq!((third.codes, third.tokens, third.sessions), (1, 0, 0));
    assert!(db.store.find_code(&code.digest).unwrap().is_none());
    assert_eq!(store.row_counts().unwrap().sessions, 1);
    assert!(store.load_session(&session_b, t(5000)).unwrap().is_some());
}

#[test]
fn revoked_tokens_go_a_day_after_revocation_even_before_expiry() {
    let db = support::sqlite();
    let world = support::world(&*db.store);
    let mut family = support::tokens(support::family(), &world.client, None);
    family.access.expires_at = t(1_000_000);
    family.refresh = None;
    db.store.insert_tokens(&family).unwrap();
    db.store
        .revoke_family(&family.access.family, t(300))
        .unwrap();

    assert_eq!(
        db.diesel().purge_dead_rows(t(300 + 3600)).unwrap().tokens,
        0
    );
    assert_eq!(
        db.diesel()
            .purge_dead_rows(t(300 + 24 * 3600 + 1))
            .unwrap()
            .tokens,
        1
    );
}
