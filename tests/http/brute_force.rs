//! Brute-force limits (SECURITY.md CA-09): failed password grants and
//! logins are limited per user, per user and address, and per address, with
//! the count in the database; over the limit the answer is 429 with
//! `Retry-After`, and once the window has passed a success works again. The
//! count and the check are one step, so concurrent guesses get no more
//! checks than the limit. Strangers cannot lock out a client presenting its
//! correct secret, nor a browser that signed in before (its device cookie).

use std::time::Duration;

use crate::both_backends;
use crate::support::web::WebUser;
use crate::support::{status_of, TestApp, TestClient, PASSWORD};

fn password_form(password: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", password),
    ]
}

/// The failure window of these tests, in seconds: long enough that the
/// test's own run time never moves a failure out of it; the tests move the
/// server's clock instead.
const WINDOW: u64 = 60;

both_backends!(
    settings = &["--max-failures-per-account", "5", "--failure-window", "60"],
    password_grant_failures_lead_to_429_then_recover,
    failed_logins_lead_to_a_429_page_then_recover
);

async fn password_grant_failures_lead_to_429_then_recover(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for _ in 0..5 {
        assert_eq!(
            app.token(Some(&client), &password_form("wrong password"))
                .await
                .error(),
            "invalid_grant"
        );
    }

    let limited = app.token(Some(&client), &password_form(PASSWORD)).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.error(), "slow_down");
    let retry: u64 = limited.header("retry-after").parse().unwrap();
    assert!((WINDOW - 10..=WINDOW).contains(&retry), "{retry}");
    assert_eq!(limited.header("cache-control"), "no-store");

    // Still inside the window: still limited, for what is left of it.
    app.advance(Duration::from_secs(WINDOW - 10));
    let still = app.token(Some(&client), &password_form(PASSWORD)).await;
    assert_eq!(still.status, 429);
    let retry: u64 = still.header("retry-after").parse().unwrap();
    assert!((1..=10).contains(&retry), "{retry}");

    app.advance(Duration::from_secs(11));
    assert_eq!(
        app.token(Some(&client), &password_form(PASSWORD))
            .await
            .status,
        200
    );
}

async fn failed_logins_lead_to_a_429_page_then_recover(app: TestApp) {
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

    app.advance(Duration::from_secs(WINDOW - 10));
    assert_eq!(visitor.log_in("alice", PASSWORD).await.status, 429);
    app.advance(Duration::from_secs(11));
    assert_eq!(visitor.log_in("alice", PASSWORD).await.status, 303);
    assert!(visitor.is_logged_in().await);
}

both_backends!(
    settings = &["--max-failures-per-address", "5", "--failure-window", "60"],
    failing_client_authentications_are_slowed_and_the_correct_secret_is_not
);

async fn failing_client_authentications_are_slowed_and_the_correct_secret_is_not(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let wrong = client.with_secret("wrong");
    let cc = [("grant_type", "client_credentials")];
    for _ in 0..5 {
        assert_eq!(app.token(Some(&wrong), &cc).await.status, 401);
    }

    let slowed = app.token(Some(&wrong), &cc).await;
    slowed.assert_error(429, "slow_down");
    assert!(!slowed.header("retry-after").is_empty());
    let revoke = app.revoke(Some(&wrong), &[("token", "x")]).await;
    assert_eq!(revoke.status, 429);
    assert_eq!(app.token(Some(&client), &cc).await.status, 200);
    assert_eq!(
        app.revoke(Some(&client), &[("token", "x")]).await.status,
        200
    );

    app.advance(Duration::from_secs(WINDOW - 10));
    assert_eq!(app.token(Some(&wrong), &cc).await.status, 429);
    app.advance(Duration::from_secs(11));
    assert_eq!(app.token(Some(&wrong), &cc).await.status, 401);
}

both_backends!(
    settings = &["--max-failures-per-address", "6"],
    one_address_guessing_many_accounts_is_limited
);

async fn one_address_guessing_many_accounts_is_limited(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for name in ["a1", "a2", "a3", "a4", "a5", "a6"] {
        let answer = app
            .token(
                Some(&client),
                &[
                    ("grant_type", "password"),
                    ("username", name),
                    ("password", "guess"),
                ],
            )
            .await;
        assert_eq!(answer.error(), "invalid_grant");
    }

    let limited = app
        .token(
            Some(&client),
            &[
                ("grant_type", "password"),
                ("username", "a7"),
                ("password", "guess"),
            ],
        )
        .await;

    limited.assert_error(429, "slow_down");
}

/// A token request by `client` (Basic, with `secret`) from behind the
/// proxy, with this `X-Forwarded-For`: the status.
async fn token_status_from(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    forwarded_for: &str,
    form: &[(&str, &str)],
) -> u16 {
    status_of(
        app.http
            .post(app.url("/oauth/token"))
            .basic_auth(client_id, Some(secret))
            .header("X-Forwarded-For", forwarded_for)
            .form(form),
    )
    .await
}

/// A failed password grant from behind the proxy, with this
/// `X-Forwarded-For`: the status.
pub(crate) async fn guess_from(
    app: &TestApp,
    client: &TestClient,
    forwarded_for: &str,
    username: &str,
) -> u16 {
    let form = [
        ("grant_type", "password"),
        ("username", username),
        ("password", "guess"),
    ];
    token_status_from(app, &client.id, &client.secret, forwarded_for, &form).await
}

/// Three failures an address, behind a trusted proxy on 127.0.0.1.
pub(crate) const THREE_FAILURES_BEHIND_A_PROXY: &[&str] = &[
    "--max-failures-per-address",
    "3",
    "--trusted-proxies",
    "127.0.0.1",
];

both_backends!(
    settings = THREE_FAILURES_BEHIND_A_PROXY,
    behind_a_trusted_proxy_the_forwarded_address_is_limited
);

async fn behind_a_trusted_proxy_the_forwarded_address_is_limited(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for name in ["b1", "b2", "b3"] {
        assert_eq!(
            guess_from(&app, &client, "203.0.113.9, 198.51.100.1", name).await,
            400
        );
    }

    // The same client, even claiming another origin further left: limited.
    assert_eq!(
        guess_from(&app, &client, "192.0.2.77, 198.51.100.1", "b4").await,
        429
    );
    // Another client behind the same proxy: not limited.
    assert_eq!(guess_from(&app, &client, "198.51.100.2", "b5").await, 400);
}

both_backends!(
    settings = &["--max-failures-per-address", "3"],
    without_a_trusted_proxy_forwarded_for_is_ignored
);

async fn without_a_trusted_proxy_forwarded_for_is_ignored(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for (name, forwarded) in [
        ("c1", "198.51.100.1"),
        ("c2", "198.51.100.2"),
        ("c3", "198.51.100.3"),
    ] {
        assert_eq!(guess_from(&app, &client, forwarded, name).await, 400);
    }

    assert_eq!(guess_from(&app, &client, "198.51.100.4", "c4").await, 429);
}

/// A client-credentials request with `secret` from `forwarded_for`: the status.
async fn client_credentials_from(
    app: &TestApp,
    id: &str,
    secret: &str,
    forwarded_for: &str,
) -> u16 {
    let form = [("grant_type", "client_credentials")];
    token_status_from(app, id, secret, forwarded_for, &form).await
}

both_backends!(
    settings = &[
        "--max-failures-per-address",
        "10",
        "--trusted-proxies",
        "127.0.0.1",
        "--metrics-bind",
        "127.0.0.1:0"
    ],
    the_correct_client_secret_is_never_refused_for_failures_it_did_not_make
);

async fn the_correct_client_secret_is_never_refused_for_failures_it_did_not_make(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    // 50 failures from one address, then 50 from ten forwarded ones:
    // failing requests are slowed down past 10 per address...
    let mut statuses = Vec::new();
    for _ in 0..50 {
        statuses.push(client_credentials_from(&app, &client.id, "wrong", "198.51.100.200").await);
    }
    for n in 0..50 {
        let address = format!("203.0.113.{}", n % 10);
        statuses.push(client_credentials_from(&app, &client.id, "wrong", &address).await);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10 + 50,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        40,
        "{statuses:?}"
    );
    assert_eq!(
        client_credentials_from(&app, &client.id, "wrong", "198.51.100.200").await,
        429
    );

    // ...while the correct secret gets its token from each of them.
    for address in ["198.51.100.200", "203.0.113.0", "203.0.113.9", "192.0.2.1"] {
        assert_eq!(
            client_credentials_from(&app, &client.id, &client.secret, address).await,
            200,
            "{address}"
        );
    }
    // The failures are security events and metrics all the same.
    let metrics = app
        .get_on_metrics_listener("/metrics")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("oauth_client_auth_failures_total{endpoint=\"token\"} 101"),
        "{metrics}"
    );
}

/// How many of `statuses` are `status`.
fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

both_backends![
    sixty_concurrent_wrong_password_grants_get_at_most_ten_checks,
    sixty_concurrent_wrong_logins_get_at_most_ten_checks,
    sixty_concurrent_sign_ups_create_at_most_ten_accounts
];

async fn sixty_concurrent_wrong_password_grants_get_at_most_ten_checks(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let wrong = password_form("wrong password");

    let answers =
        futures::future::join_all((0..60).map(|_| app.token(Some(&client), &wrong))).await;

    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.error() == "invalid_grant")
            .count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        answers.iter().filter(|a| a.error() == "slow_down").count(),
        50,
        "{statuses:?}"
    );
}

async fn sixty_concurrent_wrong_logins_get_at_most_ten_checks(app: TestApp) {
    app.user("alice");
    let visitor = WebUser::new(&app);
    let token = visitor.get("/login").await.csrf_token();
    let form = [
        ("csrf_token", token.as_str()),
        ("username", "alice"),
        ("password", "wrong password"),
    ];

    let pages = futures::future::join_all((0..60).map(|_| visitor.post("/login", &form))).await;

    let statuses: Vec<u16> = pages.iter().map(|p| p.status).collect();
    let checked = pages
        .iter()
        .filter(|p| p.status == 200 && p.body.contains("incorrect"))
        .count();
    assert_eq!((checked, count(&statuses, 429)), (10, 50), "{statuses:?}");
}

async fn sixty_concurrent_sign_ups_create_at_most_ten_accounts(app: TestApp) {
    let mut visitors = Vec::new();
    for _ in 0..60 {
        let visitor = WebUser::new(&app);
        let token = visitor.get("/signup").await.csrf_token();
        visitors.push((visitor, token));
    }

    let pages = futures::future::join_all(visitors.iter().enumerate().map(
        |(n, (visitor, token))| async move {
            let name = format!("user{n}");
            let form = [
                ("csrf_token", token.as_str()),
                ("username", name.as_str()),
                ("password", PASSWORD),
            ];
            visitor.post("/signup", &form).await
        },
    ))
    .await;

    let statuses: Vec<u16> = pages.iter().map(|p| p.status).collect();
    assert_eq!(
        (count(&statuses, 303), count(&statuses, 429)),
        (10, 50),
        "{statuses:?}"
    );
    assert_eq!(app.services.users().unwrap().len(), 10);
}

/// A login as `name` from `forwarded_for` by `visitor`: the status.
async fn log_in_from(
    app: &TestApp,
    visitor: &WebUser<'_>,
    forwarded_for: &str,
    name: &str,
    password: &str,
) -> u16 {
    let token = visitor.get("/login").await.csrf_token();
    status_of(
        visitor
            .http
            .post(app.url("/login"))
            .header("X-Forwarded-For", forwarded_for)
            .form(&[
                ("csrf_token", token.as_str()),
                ("username", name),
                ("password", password),
            ]),
    )
    .await
}

both_backends!(
    settings = &["--trusted-proxies", "127.0.0.1"],
    a_browser_that_signed_in_before_is_not_locked_out_by_strangers
);

async fn a_browser_that_signed_in_before_is_not_locked_out_by_strangers(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    let owner = WebUser::new(&app);
    assert_eq!(
        log_in_from(&app, &owner, "192.0.2.1", "alice", PASSWORD).await,
        303
    );
    assert!(owner.cookies().contains("device="), "{}", owner.cookies());
    let token = owner.get("/").await.csrf_token();
    owner.post("/logout", &[("csrf_token", &token)]).await;
    assert!(!owner.is_logged_in().await);

    // 200 failures on her name from 20 addresses, half on the login
    // page, half through the password grant: past the ceiling of 100,
    // strangers are refused.
    let stranger = WebUser::new(&app);
    let mut statuses = Vec::new();
    for n in 0..100 {
        let address = format!("203.0.113.{}", n % 20);
        statuses.push(log_in_from(&app, &stranger, &address, "alice", "guess").await);
        statuses.push(guess_from(&app, &client, &address, "alice").await);
    }
    assert_eq!(
        count(&statuses, 200) + count(&statuses, 400),
        100,
        "{statuses:?}"
    );
    assert_eq!(count(&statuses, 429), 100, "{statuses:?}");
    // So is a browser that never signed in as alice, with her password.
    let newcomer = WebUser::new(&app);
    assert_eq!(
        log_in_from(&app, &newcomer, "192.0.2.1", "alice", PASSWORD).await,
        429
    );

    // Her browser is counted against itself only, even from a
    // strangers' address.
    assert_eq!(
        log_in_from(&app, &owner, "203.0.113.1", "alice", PASSWORD).await,
        303
    );
    assert!(owner.is_logged_in().await);
}
