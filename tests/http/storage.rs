//! Bounded storage: the server itself deletes dead rows on a timer.

use adapters::db::DieselStore;

use crate::on_both_backends;

on_both_backends! {
    settings: &["--access-token-ttl", "1", "--cleanup-interval", "1"];

    async fn expired_tokens_are_deleted_by_the_server_itself(app) {
        let alice = app.user("alice");
        let client = app.full_client(&alice);
        for _ in 0..3 {
            assert_eq!(app.token(Some(&client), &[("grant_type", "client_credentials")]).await.status, 200);
        }
        let store = DieselStore::connect(&app.database_url, 1).unwrap();
        assert_eq!(store.row_counts().unwrap().tokens, 3);

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
}
