//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2).

use std::sync::Arc;

use crate::both_backends;
use crate::support::TestApp;

both_backends![
    refresh_rotates_and_the_old_refresh_token_stops_working,
    replaying_an_older_refresh_token_revokes_the_family_even_inside_the_window,
    scope_can_narrow_but_not_widen,
    a_refresh_token_is_bound_to_its_client_and_not_an_access_token,
    ten_concurrent_refreshes_one_success_and_no_revocation
];

async fn refresh_rotates_and_the_old_refresh_token_stops_working(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let first = app.password_tokens(&client, "alice", None).await;
    let rt1 = first.str("refresh_token").to_owned();

    let second = app.refresh(&client, &rt1).await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    let rt2 = second.str("refresh_token").to_owned();
    assert_ne!(rt1, rt2);
    assert_eq!(second.str("scope"), "profile email");
    assert_eq!(app.me_status(second.str("access_token")).await, 200);

    let again = app.refresh(&client, &rt1).await;
    assert_eq!((again.status, again.error()), (400, "invalid_grant"));
    // Inside the grace window the family survives: rt2 still works.
    assert_eq!(app.refresh(&client, &rt2).await.status, 200);
}

async fn replaying_an_older_refresh_token_revokes_the_family_even_inside_the_window(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let rt1 = app
        .password_tokens(&client, "alice", None)
        .await
        .str("refresh_token")
        .to_owned();
    let rt2 = app
        .refresh(&client, &rt1)
        .await
        .str("refresh_token")
        .to_owned();
    let third = app.refresh(&client, &rt2).await;
    assert_eq!(third.status, 200);

    let replay = app.refresh(&client, &rt1).await;

    assert_eq!((replay.status, replay.error()), (400, "invalid_grant"));
    assert_eq!(
        app.refresh(&client, third.str("refresh_token"))
            .await
            .error(),
        "invalid_grant"
    );
    assert_eq!(app.me_status(third.str("access_token")).await, 401);
}

async fn scope_can_narrow_but_not_widen(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let first = app
        .password_tokens(&client, "alice", Some("profile email"))
        .await;
    let rt = first.str("refresh_token").to_owned();

    let narrowed = app
        .token(
            Some(&client),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("scope", "email"),
            ],
        )
        .await;
    assert_eq!(narrowed.status, 200);
    assert_eq!(narrowed.str("scope"), "email");
    assert_eq!(app.me_status(narrowed.str("access_token")).await, 403);

    let widened = app
        .token(
            Some(&client),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", narrowed.str("refresh_token")),
                ("scope", "email profile"),
            ],
        )
        .await;
    assert_eq!((widened.status, widened.error()), (400, "invalid_scope"));
}

async fn a_refresh_token_is_bound_to_its_client_and_not_an_access_token(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let other = app.full_client(&alice);
    let tokens = app.password_tokens(&client, "alice", None).await;

    let by_other = app.refresh(&other, tokens.str("refresh_token")).await;
    let access_as_refresh = app.refresh(&client, tokens.str("access_token")).await;
    let unknown = app.refresh(&client, "foo").await;
    let missing = app
        .token(Some(&client), &[("grant_type", "refresh_token")])
        .await;

    assert_eq!((by_other.status, by_other.error()), (400, "invalid_grant"));
    assert_eq!(
        (access_as_refresh.status, access_as_refresh.error()),
        (400, "invalid_grant")
    );
    assert_eq!(unknown.error(), "invalid_grant");
    assert_eq!(missing.error(), "invalid_request");
    assert_eq!(
        app.refresh(&client, tokens.str("refresh_token"))
            .await
            .status,
        200
    );
    assert_eq!(
        app.me(Some(&format!("Bearer {}", tokens.str("refresh_token"))))
            .await
            .status,
        401
    );
}

async fn ten_concurrent_refreshes_one_success_and_no_revocation(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let rt = app
        .password_tokens(&client, "alice", None)
        .await
        .str("refresh_token")
        .to_owned();
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

both_backends!(
    settings = &["--refresh-grace", "1"],
    reuse_after_the_grace_window_revokes_the_whole_family
);

async fn reuse_after_the_grace_window_revokes_the_whole_family(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let first = app.password_tokens(&client, "alice", None).await;
    let rt1 = first.str("refresh_token").to_owned();
    let second = app.refresh(&client, &rt1).await;
    let (at2, rt2) = (
        second.str("access_token").to_owned(),
        second.str("refresh_token").to_owned(),
    );
    assert_eq!(app.me_status(&at2).await, 200);

    app.advance(std::time::Duration::from_millis(1100));
    let replay = app.refresh(&client, &rt1).await;

    assert_eq!((replay.status, replay.error()), (400, "invalid_grant"));
    assert_eq!(app.refresh(&client, &rt2).await.error(), "invalid_grant");
    assert_eq!(app.me_status(&at2).await, 401);
    assert_eq!(app.me_status(first.str("access_token")).await, 401);
}
