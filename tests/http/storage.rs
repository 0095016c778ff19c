//! Bounded storage: the server itself deletes dead rows on a timer.

use adapters::db::DieselStore;

use crate::both_backends;
use crate::support::TestApp;

both_backends!(
    settings = &["--access-token-ttl", "60", "--cleanup-interval", "1"],
    expired_tokens_are_deleted_by_the_server_itself
);

async fn expired_tokens_are_deleted_by_the_server_itself(app: TestApp) {
    let (_, client) = app.user_with_client("alice");
    for _ in 0..3 {
        assert_eq!(app.client_credentials(&client).await.status, 200);
    }
    let store = DieselStore::connect(&app.database_url, 1).unwrap();
    assert_eq!(store.row_counts().unwrap().tokens, 3);

    app.advance(std::time::Duration::from_secs(61));
    // Polls for the server's cleanup timer (every second), not a lifetime.
    let mut remaining = 3;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        remaining = store.row_counts().unwrap().tokens;
        if remaining == 0 {
            break;
        }
    }

    assert_eq!(remaining, 0, "expired tokens are still stored");
}
