//! SECURITY.md §6, refresh tokens (RT-01 … RT-08).

use crate::both_backends;
use crate::support::TestApp;

both_backends![
    rt_01_refresh_token_is_bound_to_its_client,
    rt_02_scope_cannot_grow_on_refresh,
    rt_03_scope_can_narrow_and_really_narrows,
    rt_04_refresh_rotates_and_the_old_token_is_refused,
    rt_06_access_token_is_not_a_refresh_token,
    rt_07_refresh_token_is_not_a_bearer_token,
    rt_08_refresh_tokens_die_with_their_client
];

async fn rt_01_refresh_token_is_bound_to_its_client(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let other = app.full_client(&alice);
    let tokens = app.password_tokens(&client, "alice", None).await;

    let by_other = app.refresh(&other, tokens.str("refresh_token")).await;

    assert_eq!((by_other.status, by_other.error()), (400, "invalid_grant"));
    assert_eq!(
        app.refresh(&client, tokens.str("refresh_token"))
            .await
            .status,
        200
    );
}

async fn rt_02_scope_cannot_grow_on_refresh(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let tokens = app.password_tokens(&client, "alice", Some("profile")).await;

    for wider in ["profile email", "email", "profile admin"] {
        let answer = app
            .token(
                Some(&client),
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", tokens.str("refresh_token")),
                    ("scope", wider),
                ],
            )
            .await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, "invalid_scope"),
            "{wider}"
        );
    }
    let same = app.refresh(&client, tokens.str("refresh_token")).await;
    assert_eq!(same.str("scope"), "profile");
}

async fn rt_03_scope_can_narrow_and_really_narrows(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let tokens = app
        .password_tokens(&client, "alice", Some("profile email"))
        .await;

    let narrowed = app
        .token(
            Some(&client),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens.str("refresh_token")),
                ("scope", "email"),
            ],
        )
        .await;

    assert_eq!((narrowed.status, narrowed.str("scope")), (200, "email"));
    assert_eq!(app.me_status(narrowed.str("access_token")).await, 403);
}

async fn rt_04_refresh_rotates_and_the_old_token_is_refused(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let rt1 = app
        .password_tokens(&client, "alice", None)
        .await
        .str("refresh_token")
        .to_owned();

    let second = app.refresh(&client, &rt1).await;
    let again = app.refresh(&client, &rt1).await;

    assert_eq!(second.status, 200);
    assert_ne!(second.str("refresh_token"), rt1);
    assert!(!second.str("refresh_token").is_empty());
    assert_eq!((again.status, again.error()), (400, "invalid_grant"));
}

async fn rt_06_access_token_is_not_a_refresh_token(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let tokens = app.password_tokens(&client, "alice", None).await;

    let answer = app.refresh(&client, tokens.str("access_token")).await;

    assert_eq!((answer.status, answer.error()), (400, "invalid_grant"));
}

async fn rt_07_refresh_token_is_not_a_bearer_token(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let tokens = app.password_tokens(&client, "alice", None).await;

    assert_eq!(app.me_status(tokens.str("refresh_token")).await, 401);
}

async fn rt_08_refresh_tokens_die_with_their_client(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let tokens = app.password_tokens(&client, "alice", None).await;

    assert!(app.services.delete_client(None, &client.id).unwrap());

    assert_eq!(
        app.refresh(&client, tokens.str("refresh_token"))
            .await
            .status,
        401
    );
    assert_eq!(app.me_status(tokens.str("access_token")).await, 401);
}

both_backends!(
    settings = &["--refresh-grace", "1"],
    rt_05_reuse_of_a_rotated_token_revokes_the_family
);

async fn rt_05_reuse_of_a_rotated_token_revokes_the_family(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let first = app.password_tokens(&client, "alice", None).await;
    let rt1 = first.str("refresh_token").to_owned();
    let second = app.refresh(&client, &rt1).await;
    let (at2, rt2) = (
        second.str("access_token").to_owned(),
        second.str("refresh_token").to_owned(),
    );
    let third = app.refresh(&client, &rt2).await;
    let (at3, rt3) = (
        third.str("access_token").to_owned(),
        third.str("refresh_token").to_owned(),
    );
    app.advance(std::time::Duration::from_millis(1100));

    // Replaying an older generation (not just the previous one) kills all.
    let replay = app.refresh(&client, &rt1).await;

    assert_eq!((replay.status, replay.error()), (400, "invalid_grant"));
    assert_eq!(app.refresh(&client, &rt3).await.error(), "invalid_grant");
    for access in [&at2, &at3] {
        assert_eq!(app.me_status(access).await, 401);
    }
}

both_backends!(
    settings = &["--refresh-token-ttl", "60"],
    rt_08_refresh_tokens_have_an_absolute_lifetime
);

async fn rt_08_refresh_tokens_have_an_absolute_lifetime(app: TestApp) {
    let alice = app.user("alice");
    let client = app.full_client(&alice);
    let young = app.password_tokens(&client, "alice", None).await;
    let old = app.password_tokens(&client, "alice", None).await;

    app.advance(std::time::Duration::from_secs(50));
    let before = app.refresh(&client, young.str("refresh_token")).await;
    app.advance(std::time::Duration::from_secs(11));
    let after = app.refresh(&client, old.str("refresh_token")).await;

    assert_eq!(before.status, 200, "{:?}", before.body);
    assert_eq!((after.status, after.error()), (400, "invalid_grant"));
}
