//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2): SECURITY.md §6, refresh tokens (RT-01 … RT-08), and
//! the grace window for a retried refresh.

use std::sync::Arc;
use std::time::Duration;

use crate::both_backends;
use crate::support::{Answer, TestApp, TestClient};

both_backends![
    rt_01_refresh_token_is_bound_to_its_client,
    rt_02_scope_cannot_grow_on_refresh,
    rt_03_scope_can_narrow_and_really_narrows,
    rt_04_refresh_rotates_and_the_old_token_is_refused,
    rt_06_access_token_is_not_a_refresh_token,
    rt_07_refresh_token_is_not_a_bearer_token,
    rt_08_refresh_tokens_die_with_their_client,
    refresh_rotates_and_the_old_refresh_token_stops_working,
    replaying_an_older_refresh_token_revokes_the_family_even_inside_the_window,
    scope_can_narrow_but_not_widen,
    a_refresh_token_is_bound_to_its_client_and_not_an_access_token,
    ten_concurrent_refreshes_one_success_and_no_revocation,
];

async fn rt_01_refresh_token_is_bound_to_its_client(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let other = app.full_client(&alice);
    let tokens = app.password_tokens(&client, "alice", None).await;

    let by_other = app.refresh(&other, tokens.str("refresh_token")).await;

    by_other.assert_error_for(400, "invalid_grant", "");
    let by_owner = app.refresh(&client, tokens.str("refresh_token")).await;
    assert_eq!(by_owner.status, 200);
}

async fn rt_02_scope_cannot_grow_on_refresh(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let tokens = app.password_tokens(&client, "alice", Some("profile")).await;

    for wider in ["profile email", "email", "profile admin"] {
        let answer = app
            .refresh_with_scope(&client, tokens.str("refresh_token"), wider)
            .await;
        answer.assert_error_for(400, "invalid_scope", wider);
    }
    let same = app.refresh(&client, tokens.str("refresh_token")).await;
    assert_eq!(same.str("scope"), "profile");
}

/// Tokens for "profile email" refreshed down to "email": the answer says
/// "email" and the new access token no longer reaches `/api/me`, which
/// needs "profile" (RFC 6749 §6: a narrower scope really narrows).
async fn narrowed_to_email(app: &TestApp) -> (TestClient, Answer) {
    let (_, client) = app.user_with_client("alice");
    let tokens = app
        .password_tokens(&client, "alice", Some("profile email"))
        .await;

    let narrowed = app
        .refresh_with_scope(&client, tokens.str("refresh_token"), "email")
        .await;

    assert_eq!((narrowed.status, narrowed.str("scope")), (200, "email"));
    assert_eq!(app.me_status(narrowed.str("access_token")).await, 403);
    (client, narrowed)
}

async fn rt_03_scope_can_narrow_and_really_narrows(app: TestApp) {
    narrowed_to_email(&app).await;
}

async fn rt_04_refresh_rotates_and_the_old_token_is_refused(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let (_, rt1) = app.password_tokens(&client, "alice", None).await.pair();

    let second = app.refresh(&client, &rt1).await;
    let again = app.refresh(&client, &rt1).await;

    assert_eq!(second.status, 200);
    assert_ne!(second.str("refresh_token"), rt1);
    assert!(!second.str("refresh_token").is_empty());
    again.assert_error_for(400, "invalid_grant", "");
}

async fn rt_06_access_token_is_not_a_refresh_token(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let tokens = app.password_tokens(&client, "alice", None).await;

    let answer = app.refresh(&client, tokens.str("access_token")).await;

    answer.assert_error_for(400, "invalid_grant", "");
}

async fn rt_07_refresh_token_is_not_a_bearer_token(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let tokens = app.password_tokens(&client, "alice", None).await;

    assert_eq!(app.me_status(tokens.str("refresh_token")).await, 401);
}

async fn rt_08_refresh_tokens_die_with_their_client(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let tokens = app.password_tokens(&client, "alice", None).await;

    assert!(app
        .services
        .delete_client(domain::service::clients::Actor::Admin, &client.id)
        .unwrap());

    let refreshed = app.refresh(&client, tokens.str("refresh_token")).await;
    assert_eq!(refreshed.status, 401);
    assert_eq!(app.me_status(tokens.str("access_token")).await, 401);
}

async fn refresh_rotates_and_the_old_refresh_token_stops_working(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let (_, rt1) = app.password_tokens(&client, "alice", None).await.pair();

    let second = app.refresh(&client, &rt1).await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    let rt2 = second.str("refresh_token").to_owned();
    assert_ne!(rt1, rt2);
    assert_eq!(second.str("scope"), "profile email");
    assert_eq!(app.me_status(second.str("access_token")).await, 200);

    let again = app.refresh(&client, &rt1).await;
    again.assert_error_for(400, "invalid_grant", "");
    // Inside the grace window the family survives: rt2 still works.
    assert_eq!(app.refresh(&client, &rt2).await.status, 200);
}

async fn replaying_an_older_refresh_token_revokes_the_family_even_inside_the_window(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let (_, rt1) = app.password_tokens(&client, "alice", None).await.pair();
    let (_, rt2) = app.refresh(&client, &rt1).await.pair();
    let third = app.refresh(&client, &rt2).await;
    assert_eq!(third.status, 200);

    let replay = app.refresh(&client, &rt1).await;

    replay.assert_error_for(400, "invalid_grant", "");
    let newest = app.refresh(&client, third.str("refresh_token")).await;
    assert_eq!(newest.error(), "invalid_grant");
    assert_eq!(app.me_status(third.str("access_token")).await, 401);
}

async fn scope_can_narrow_but_not_widen(app: TestApp) {
    let (client, narrowed) = narrowed_to_email(&app).await;

    let widened = app
        .refresh_with_scope(&client, narrowed.str("refresh_token"), "email profile")
        .await;
    widened.assert_error_for(400, "invalid_scope", "");
}

async fn a_refresh_token_is_bound_to_its_client_and_not_an_access_token(app: TestApp) {
    let (alice, client) = app.user_with_client("alice");
    let other = app.full_client(&alice);
    let tokens = app.password_tokens(&client, "alice", None).await;

    let by_other = app.refresh(&other, tokens.str("refresh_token")).await;
    let access_as_refresh = app.refresh(&client, tokens.str("access_token")).await;
    let unknown = app.refresh(&client, "foo").await;
    let missing = app
        .token(Some(&client), &[("grant_type", "refresh_token")])
        .await;

    by_other.assert_error_for(400, "invalid_grant", "");
    access_as_refresh.assert_error_for(400, "invalid_grant", "");
    assert_eq!(unknown.error(), "invalid_grant");
    assert_eq!(missing.error(), "invalid_request");
    let by_owner = app.refresh(&client, tokens.str("refresh_token")).await;
    assert_eq!(by_owner.status, 200);
    let as_bearer = app
        .me(Some(&format!("Bearer {}", tokens.str("refresh_token"))))
        .await;
    assert_eq!(as_bearer.status, 401);
}

async fn ten_concurrent_refreshes_one_success_and_no_revocation(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let (_, rt) = app.password_tokens(&client, "alice", None).await.pair();
    let app = Arc::new(app);

    let attempts = (0..10).map(|_| {
        let (app, client, rt) = (app.clone(), client.clone(), rt.clone());
        tokio::spawn(async move {
            let answer = app.refresh(&client, &rt).await;
            (answer.status, answer.str("refresh_token").to_owned())
        })
    });
    let results: Vec<(u16, String)> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let winners: Vec<&String> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, rt)| rt)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results.iter().all(|(s, _)| *s == 200 || *s == 400),
        "{results:?}"
    );
    // Duplicates inside the grace window did not revoke the winner.
    assert_eq!(app.refresh(&client, winners[0]).await.status, 200);
}

/// The grace window of the next tests: 1 s, which the tests move the
/// server's clock past.
const PAST_THE_GRACE_WINDOW: Duration = Duration::from_millis(1100);

both_backends!(
    settings = &["--refresh-grace", "1"],
    rt_05_reuse_of_a_rotated_token_revokes_the_family,
    reuse_after_the_grace_window_revokes_the_whole_family,
);

async fn rt_05_reuse_of_a_rotated_token_revokes_the_family(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let (_, rt1) = app.password_tokens(&client, "alice", None).await.pair();
    let (at2, rt2) = app.refresh(&client, &rt1).await.pair();
    let (at3, rt3) = app.refresh(&client, &rt2).await.pair();
    app.advance(PAST_THE_GRACE_WINDOW);

    // Replaying an older generation (not just the previous one) kills all.
    let replay = app.refresh(&client, &rt1).await;

    replay.assert_error_for(400, "invalid_grant", "");
    assert_eq!(app.refresh(&client, &rt3).await.error(), "invalid_grant");
    for access in [&at2, &at3] {
        assert_eq!(app.me_status(access).await, 401);
    }
}

async fn reuse_after_the_grace_window_revokes_the_whole_family(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let (at1, rt1) = app.password_tokens(&client, "alice", None).await.pair();
    let (at2, rt2) = app.refresh(&client, &rt1).await.pair();
    assert_eq!(app.me_status(&at2).await, 200);

    app.advance(PAST_THE_GRACE_WINDOW);
    let replay = app.refresh(&client, &rt1).await;

    replay.assert_error_for(400, "invalid_grant", "");
    assert_eq!(app.refresh(&client, &rt2).await.error(), "invalid_grant");
    assert_eq!(app.me_status(&at2).await, 401);
    assert_eq!(app.me_status(&at1).await, 401);
}

both_backends!(
    settings = &["--refresh-token-ttl", "60"],
    rt_08_refresh_tokens_have_an_absolute_lifetime
);

async fn rt_08_refresh_tokens_have_an_absolute_lifetime(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    // Two tokens of the same age: a refresh rotates the one it uses, so
    // each side of the lifetime is checked with a token of its own.
    let checked_early = app.password_tokens(&client, "alice", None).await;
    let checked_late = app.password_tokens(&client, "alice", None).await;

    app.advance(Duration::from_secs(50));
    let before = app
        .refresh(&client, checked_early.str("refresh_token"))
        .await;
    app.advance(Duration::from_secs(11));
    let after = app
        .refresh(&client, checked_late.str("refresh_token"))
        .await;

    assert_eq!(before.status, 200, "{:?}", before.body);
    after.assert_error_for(400, "invalid_grant", "");
}
