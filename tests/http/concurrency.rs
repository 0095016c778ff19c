//! Races (SECURITY.md RB-01, RB-02, RB-03): one code redeemed by 10 and 50
//! requests at once, one refresh token used by 10 and 50 at once: exactly
//! one success, every other answer a 4xx (never a 5xx), and the database
//! left consistent.

use std::sync::Arc;

use adapters::db::DieselStore;
use domain::ports::TokenRepository;
use domain::secret::SecretDigest;

use crate::both_backends;
use crate::support::TestApp;

async fn race(
    app: &Arc<TestApp>,
    n: usize,
    form: Vec<(&'static str, String)>,
    client: &crate::support::TestClient,
) -> Vec<(u16, serde_json::Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let attempts = (0..n).map(|_| {
        let (app, client, form, barrier) =
            (app.clone(), client.clone(), form.clone(), barrier.clone());
        tokio::spawn(async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            barrier.wait().await;
            let answer = app.token(Some(&client), &pairs).await;
            (answer.status, answer.body)
        })
    });
    futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

fn assert_one_winner(results: &[(u16, serde_json::Value)]) -> serde_json::Value {
    let statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || (400..500).contains(s)),
        "{statuses:?}"
    );
    results
        .iter()
        .find(|(s, _)| *s == 200)
        .map(|(_, body)| body.clone())
        .unwrap()
}

async fn code_race(app: TestApp, n: usize) {
    let (alice, client) = app.user_with_client("alice");
    let code = app.code(&client, &alice, None);
    let app = Arc::new(app);
    let form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code),
        ("redirect_uri", crate::support::REDIRECT_URI.to_owned()),
        ("code_verifier", crate::support::VERIFIER.to_owned()),
    ];

    let results = race(&app, n, form, &client).await;

    let winner = assert_one_winner(&results);
    // Consistent: the one redemption stored one access and one refresh
    // token, and the replays revoked exactly those.
    let store = DieselStore::connect(&app.database_url, 1).unwrap();
    assert_eq!(store.row_counts().unwrap().tokens, 2);
    for name in ["access_token", "refresh_token"] {
        let record = store
            .find_token(&SecretDigest::of(winner[name].as_str().unwrap()))
            .unwrap()
            .unwrap();
        assert!(
            record.revoked_at.is_some(),
            "a replayed code revokes what it issued"
        );
    }
}

async fn refresh_race(app: TestApp, n: usize) {
    let (_, client) = app.user_with_client("alice");
    let refresh = app
        .password_tokens(&client, "alice", None)
        .await
        .str("refresh_token")
        .to_owned();
    let app = Arc::new(app);
    let form = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", refresh.clone()),
    ];

    let results = race(&app, n, form, &client).await;

    let winner = assert_one_winner(&results);
    // Consistent: the first pair plus exactly one new pair; the old refresh
    // token rotated once; the duplicates (inside the grace window) revoked
    // nothing, so the new tokens work.
    let store = DieselStore::connect(&app.database_url, 1).unwrap();
    assert_eq!(store.row_counts().unwrap().tokens, 4);
    let old = store
        .find_token(&SecretDigest::of(&refresh))
        .unwrap()
        .unwrap();
    assert!(old.rotated_at.is_some() && old.revoked_at.is_none());
    assert_eq!(
        app.me_status(winner["access_token"].as_str().unwrap())
            .await,
        200
    );
    assert_eq!(
        app.refresh(&client, winner["refresh_token"].as_str().unwrap())
            .await
            .status,
        200
    );
}

both_backends![
    rb_01_ten_concurrent_redemptions_of_one_code,
    rb_01_fifty_concurrent_redemptions_of_one_code,
    rb_03_ten_concurrent_refreshes_of_one_token,
    rb_03_fifty_concurrent_refreshes_of_one_token
];

async fn rb_01_ten_concurrent_redemptions_of_one_code(app: TestApp) {
    code_race(app, 10).await;
}

async fn rb_01_fifty_concurrent_redemptions_of_one_code(app: TestApp) {
    code_race(app, 50).await;
}

async fn rb_03_ten_concurrent_refreshes_of_one_token(app: TestApp) {
    refresh_race(app, 10).await;
}

async fn rb_03_fifty_concurrent_refreshes_of_one_token(app: TestApp) {
    refresh_race(app, 50).await;
}
