//! The loop both background workers run: a round of work, again at once while
//! there was work, otherwise wait for a wake-up, the poll interval or the end.

use std::future::Future;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Runs `round` until `cancel` fires; a round in progress finishes first. A round
/// answers how many items it handled, or why it could not look.
pub async fn run_rounds<F, Fut>(
    what: &str,
    poll: Duration,
    wake: &Notify,
    cancel: &CancellationToken,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, String>>,
{
    loop {
        let busy = match round().await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(worker = what, error = %e, "a worker round failed");
                false
            }
        };
        if busy && !cancel.is_cancelled() {
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}
