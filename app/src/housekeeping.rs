//! The timer that keeps storage bounded: every `CLEANUP_INTERVAL` seconds,
//! dead codes, tokens and sessions are deleted in small batches (see
//! `adapters::db::DieselStore::purge_dead_rows`). Safe with several
//! instances running: each deletes what it finds dead.

use std::sync::Arc;
use std::time::Duration;

use adapters::db::DieselStore;
use domain::ports::Clock;

/// Most batches per tick, so one tick never holds the database for long.
const MAX_BATCHES_PER_TICK: usize = 20;

/// Runs forever (until the task is aborted with the server); what is dead
/// is decided by `clock`, the server's clock.
pub async fn run(store: DieselStore, interval: Duration, clock: Arc<dyn Clock>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let store = store.clone();
        let clock = clock.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            for _ in 0..MAX_BATCHES_PER_TICK {
                let purged = store.purge_dead_rows(clock.now())?;
                removed += purged.total();
                if !purged.any_full_batch() {
                    break;
                }
            }
            Ok::<usize, domain::error::StoreError>(removed)
        })
        .await;
        match outcome {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => tracing::info!(event = "storage_cleaned", rows = removed),
            Ok(Err(error)) => tracing::warn!(event = "storage_cleanup_failed", error = %error),
            Err(_) => tracing::warn!(event = "storage_cleanup_failed", error = "task failed"),
        }
    }
}
