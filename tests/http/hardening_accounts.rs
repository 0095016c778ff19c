//! Issue 11, accounts (items 11.6 to 11.9), over HTTP on both databases: a
//! password change or a deletion ends the user's sessions and unused
//! codes; sessions have an absolute lifetime; weak passwords are refused
//! with the reason; passwords are checked whole (no bcrypt truncation) in
//! any script; user names are unique and found after case folding.

use domain::user::{PasswordHash, User};

use crate::both_backends;
use crate::support::web::WebUser;
use crate::support::{TestApp, PASSWORD};

/// 72 bytes: what bcrypt alone reads of a password.
const SEVENTY_TWO: &str =
    "Tr0ub4dor&3-but-much-longer-so-that-it-reaches-exactly-72-bytes-of-text!";

fn stored(app: &TestApp, name: &str) -> User {
    app.services
        .find_user_by_name(name)
        .unwrap()
        .unwrap_or_else(|| panic!("no user {name}"))
}

async fn sign_up_with<'a>(
    app: &'a TestApp,
    name: &str,
    password: &str,
) -> (WebUser<'a>, u16, String) {
    let visitor = WebUser::new(app);
    let page = visitor
        .submit_at("/signup", &[("username", name), ("password", password)])
        .await;
    (visitor, page.status, page.body)
}

async fn password_grant(
    app: &TestApp,
    client: &crate::support::TestClient,
    name: &str,
    password: &str,
) -> (u16, String) {
    let answer = app
        .token(
            Some(client),
            &[
                ("grant_type", "password"),
                ("username", name),
                ("password", password),
                ("scope", "profile"),
            ],
        )
        .await;
    (answer.status, answer.error().to_owned())
}

both_backends![
    a_password_change_logs_out_every_session_and_voids_pending_codes,
    deleting_a_user_ends_their_sessions,
    common_and_name_based_passwords_are_refused_with_the_reason,
    a_72_byte_password_followed_by_anything_does_not_log_in,
    sixty_four_characters_in_any_script_sign_up_and_log_in,
    an_old_plain_bcrypt_hash_still_verifies_but_never_truncated,
    names_differing_only_in_case_are_one_account
];

async fn a_password_change_logs_out_every_session_and_voids_pending_codes(app: TestApp) {
    let laptop = WebUser::signed_up(&app, "alice").await;
    let thief = WebUser::new(&app);
    assert_eq!(thief.log_in("alice", PASSWORD).await.status, 303);
    let bob = WebUser::signed_up(&app, "bob").await;
    let alice = stored(&app, "alice");
    let client = app.full_client(&alice);
    let pending = app.code(&client, &alice, Some("profile"));
    assert!(thief.is_logged_in().await && laptop.is_logged_in().await);

    // What `user set-password` runs (app/src/cli/users.rs), on the same database.
    app.services
        .set_password(&alice.id, "a brand new secret")
        .unwrap();

    assert!(
        !laptop.is_logged_in().await,
        "a session outlived the password change"
    );
    assert!(
        !thief.is_logged_in().await,
        "a session outlived the password change"
    );
    assert!(bob.is_logged_in().await, "another user's session ended");
    let redeemed = app.redeem(&client, &pending).await;
    redeemed.assert_error(400, "invalid_grant");
    assert_eq!(thief.log_in("alice", PASSWORD).await.status, 200);
    assert_eq!(
        thief.log_in("alice", "a brand new secret").await.status,
        303
    );
}

async fn deleting_a_user_ends_their_sessions(app: TestApp) {
    let browser = WebUser::signed_up(&app, "alice").await;
    let copied_cookie = browser.cookies();
    let alice = stored(&app, "alice");

    // What `user delete` runs.
    assert!(app.services.delete_user(&alice.id).unwrap());

    assert!(!browser.is_logged_in().await);
    let store = adapters::db::DieselStore::connect(&app.database_url, 1).unwrap();
    assert_eq!(
        store.row_counts().unwrap().sessions,
        0,
        "the session row survived"
    );
    assert!(!app.cookie_is_logged_in(&copied_cookie).await);
}

async fn common_and_name_based_passwords_are_refused_with_the_reason(app: TestApp) {
    for (password, reason) in [
        ("password", "is one of the most common passwords"),
        ("12345678", "is one of the most common passwords"),
        ("qwertyuiop", "is one of the most common passwords"),
        ("Password1", "is one of the most common passwords"),
        ("        ", "at least 4 different characters"),
        ("dmitri_k", "must not contain the user name"),
        ("DMITRI_K-2026", "must not contain the user name"),
    ] {
        let (visitor, status, body) = sign_up_with(&app, "dmitri_k", password).await;
        assert_ne!(status, 303, "{password:?} was accepted");
        assert!(
            body.contains(reason),
            "{password:?}: no {reason:?} in {body}"
        );
        assert!(!visitor.is_logged_in().await);
    }
    assert!(app
        .services
        .find_user_by_name("dmitri_k")
        .unwrap()
        .is_none());
    let (_, status, _) = sign_up_with(&app, "dmitri_k", "violet staple lantern").await;
    assert_eq!(status, 303);
}

async fn a_72_byte_password_followed_by_anything_does_not_log_in(app: TestApp) {
    assert_eq!(SEVENTY_TWO.len(), 72);
    let (_, status, body) = sign_up_with(&app, "alice", SEVENTY_TWO).await;
    assert_eq!(status, 303, "{body}");
    let alice = stored(&app, "alice");
    let client = app.full_client(&alice);
    let longer = format!("{SEVENTY_TWO}anything");

    let visitor = WebUser::new(&app);
    assert_eq!(visitor.log_in("alice", &longer).await.status, 200);
    assert!(
        !visitor.is_logged_in().await,
        "logged in with a different password"
    );
    assert_eq!(
        password_grant(&app, &client, "alice", &longer).await,
        (400, "invalid_grant".to_owned())
    );

    assert_eq!(visitor.log_in("alice", SEVENTY_TWO).await.status, 303);
    assert_eq!(
        password_grant(&app, &client, "alice", SEVENTY_TWO).await.0,
        200
    );
}

async fn sixty_four_characters_in_any_script_sign_up_and_log_in(app: TestApp) {
    let cyrillic: String = "секретный пароль ".chars().cycle().take(64).collect();
    let cjk: String = "这是一个很长的密码句子".chars().cycle().take(64).collect();
    for (name, password) in [("olga", &cyrillic), ("wei", &cjk)] {
        assert!(password.len() > 72);
        let (_, status, body) = sign_up_with(&app, name, password).await;
        assert_eq!(status, 303, "{name}: {body}");
        let visitor = WebUser::new(&app);
        assert_eq!(visitor.log_in(name, password).await.status, 303);
        assert!(visitor.is_logged_in().await);
        let one_off: String = password.chars().take(63).chain(['x']).collect();
        assert_eq!(WebUser::new(&app).log_in(name, &one_off).await.status, 200);
    }
}

async fn an_old_plain_bcrypt_hash_still_verifies_but_never_truncated(app: TestApp) {
    app.user("alice");
    let alice = stored(&app, "alice");
    let client = app.full_client(&alice);
    // As an earlier version stored it: bcrypt of the password itself.
    let old = PasswordHash::new(bcrypt::hash(SEVENTY_TWO, 4).unwrap());
    let store = adapters::db::DieselStore::connect(&app.database_url, 1).unwrap();
    let now = domain::ports::Clock::now(app.clock.as_ref());
    assert!(domain::ports::UserRepository::set_password(&store, &alice.id, &old, now).unwrap());

    assert_eq!(
        WebUser::new(&app).log_in("alice", SEVENTY_TWO).await.status,
        303
    );
    assert_eq!(
        password_grant(&app, &client, "alice", SEVENTY_TWO).await.0,
        200
    );
    let longer = format!("{SEVENTY_TWO}x");
    assert_eq!(
        WebUser::new(&app).log_in("alice", &longer).await.status,
        200
    );
    assert_eq!(
        password_grant(&app, &client, "alice", &longer).await,
        (400, "invalid_grant".to_owned())
    );
}

async fn names_differing_only_in_case_are_one_account(app: TestApp) {
    let (first, status, _) = sign_up_with(&app, "alice", PASSWORD).await;
    assert_eq!(status, 303);
    for spelling in ["ALICE", "Alice", "aLiCe"] {
        let (visitor, status, body) = sign_up_with(&app, spelling, "another fine secret").await;
        assert_ne!(status, 303, "{spelling} became a second account");
        assert!(body.contains("is already taken"), "{body}");
        assert!(!visitor.is_logged_in().await);
    }
    assert_eq!(app.services.users().unwrap().len(), 1);
    drop(first);

    let upper = WebUser::new(&app);
    assert_eq!(upper.log_in("ALICE", PASSWORD).await.status, 303);
    let home = upper.get("/").await;
    assert_eq!(
        home.element_text("logged-in-as")
            .map(|t| t.contains("alice")),
        Some(true),
        "{}",
        home.body
    );
    let alice = stored(&app, "alice");
    let client = app.full_client(&alice);
    assert_eq!(
        password_grant(&app, &client, "Alice", PASSWORD).await.0,
        200
    );

    // Displayed as typed.
    let (mixed, status, _) = sign_up_with(&app, "Bob.Smith", PASSWORD).await;
    assert_eq!(status, 303);
    assert!(mixed.get("/").await.body.contains("Bob.Smith"));
    assert_eq!(stored(&app, "bob.smith").username.as_str(), "Bob.Smith");
}

both_backends!(
    settings = &["--session-max-age", "60"],
    a_session_ends_at_its_absolute_lifetime_however_active
);

async fn a_session_ends_at_its_absolute_lifetime_however_active(app: TestApp) {
    use std::time::Duration;
    let browser = WebUser::signed_up(&app, "alice").await;
    // Active all along: each request renews the session's idle expiry,
    // not its absolute one.
    for _ in 0..5 {
        app.advance(Duration::from_secs(10));
        assert!(
            browser.is_logged_in().await,
            "the session ended before SESSION_MAX_AGE"
        );
    }

    app.advance(Duration::from_secs(11));

    assert!(
        !browser.is_logged_in().await,
        "the session outlived SESSION_MAX_AGE"
    );
    assert_eq!(browser.log_in("alice", PASSWORD).await.status, 303);
    assert!(browser.is_logged_in().await);
}
