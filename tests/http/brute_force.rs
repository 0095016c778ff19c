//! Brute-force limits (SECURITY.md CA-09): failed password grants, logins
//! and client authentications are limited per account and per address,
//! with the count in the database; over the limit the answer is 429 with
//! `Retry-After`, and once the window has passed a success works again.

use crate::on_both_backends;
use crate::support::web::WebUser;
use crate::support::{TestClient, PASSWORD};

fn password_form(password: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", password),
    ]
}

on_both_backends! {
    settings: &["--max-failures-per-account", "5", "--failure-window", "2"];

    async fn password_grant_failures_lead_to_429_then_recover(app) {
        let alice = app.user("alice");
        let client = app.full_client(&alice);
        for _ in 0..5 {
            assert_eq!(app.token(Some(&client), &password_form("wrong password")).await.error(), "invalid_grant");
        }

        let limited = app.token(Some(&client), &password_form(PASSWORD)).await;
        assert_eq!(limited.status, 429);
        assert_eq!(limited.error(), "slow_down");
        let retry: u64 = limited.header("retry-after").parse().unwrap();
        assert!((1..=2).contains(&retry), "{retry}");
        assert_eq!(limited.header("cache-control"), "no-store");

        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(app.token(Some(&client), &password_form(PASSWORD)).await.status, 200);
    }

    async fn failed_client_authentications_lead_to_429(app) {
        let alice = app.user("alice");
        let client = app.full_client(&alice);
        let wrong = TestClient { id: client.id.clone(), secret: "wrong".to_owned() };
        for _ in 0..5 {
            assert_eq!(app.token(Some(&wrong), &[("grant_type", "client_credentials")]).await.status, 401);
        }

        let limited = app.token(Some(&client), &[("grant_type", "client_credentials")]).await;
        assert_eq!((limited.status, limited.error()), (429, "slow_down"));
        assert!(!limited.header("retry-after").is_empty());
        let revoke = app.post_form("/oauth/revoke", Some(&client), &[("token", "x")]).await;
        assert_eq!(revoke.status, 429);

        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(app.token(Some(&client), &[("grant_type", "client_credentials")]).await.status, 200);
    }

    async fn failed_logins_lead_to_a_429_page_then_recover(app) {
        app.user("alice");
        let visitor = WebUser::new(&app);
        for _ in 0..5 {
            assert_eq!(visitor.log_in("alice", "wrong password").await.status, 200);
        }

        let limited = visitor.log_in("alice", PASSWORD).await;
        assert_eq!(limited.status, 429);
        assert!(!limited.header("retry-after").is_empty());
        assert!(limited.body.contains("Too many attempts"));
        assert!(!visitor.is_logged_in().await);

        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(visitor.log_in("alice", PASSWORD).await.status, 303);
        assert!(visitor.is_logged_in().await);
    }
}

on_both_backends! {
    settings: &["--max-failures-per-address", "6"];

    async fn one_address_guessing_many_accounts_is_limited(app) {
        let alice = app.user("alice");
        let client = app.full_client(&alice);
        for name in ["a1", "a2", "a3", "a4", "a5", "a6"] {
            let answer = app
                .token(Some(&client), &[("grant_type", "password"), ("username", name), ("password", "guess")])
                .await;
            assert_eq!(answer.error(), "invalid_grant");
        }

        let limited = app
            .token(Some(&client), &[("grant_type", "password"), ("username", "a7"), ("password", "guess")])
            .await;

        assert_eq!((limited.status, limited.error()), (429, "slow_down"));
    }
}

async fn guess_from(
    app: &crate::support::TestApp,
    client: &TestClient,
    forwarded_for: &str,
    username: &str,
) -> u16 {
    app.http
        .post(app.url("/oauth/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .header("X-Forwarded-For", forwarded_for)
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", "guess"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

on_both_backends! {
    settings: &["--max-failures-per-address", "3", "--trusted-proxies", "127.0.0.1"];

    async fn behind_a_trusted_proxy_the_forwarded_address_is_limited(app) {
        let alice = app.user("alice");
        let client = app.full_client(&alice);
        for name in ["b1", "b2", "b3"] {
            assert_eq!(guess_from(&app, &client, "203.0.113.9, 198.51.100.1", name).await, 400);
        }

        // The same client, even claiming another origin further left: limited.
        assert_eq!(guess_from(&app, &client, "192.0.2.77, 198.51.100.1", "b4").await, 429);
        // Another client behind the same proxy: not limited.
        assert_eq!(guess_from(&app, &client, "198.51.100.2", "b5").await, 400);
    }
}

on_both_backends! {
    settings: &["--max-failures-per-address", "3"];

    async fn without_a_trusted_proxy_forwarded_for_is_ignored(app) {
        let alice = app.user("alice");
        let client = app.full_client(&alice);
        for (name, forwarded) in [("c1", "198.51.100.1"), ("c2", "198.51.100.2"), ("c3", "198.51.100.3")] {
            assert_eq!(guess_from(&app, &client, forwarded, name).await, 400);
        }

        assert_eq!(guess_from(&app, &client, "198.51.100.4", "c4").await, 429);
    }
}
