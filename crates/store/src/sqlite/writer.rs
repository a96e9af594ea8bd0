//! The SQLite writer thread: group commit with optimistic batches.
//!
//! Callers hand jobs over a channel; the writer takes every job waiting (up to
//! [`MAX_BATCH`]), runs them in one transaction, commits them with one fsync and
//! only then answers the callers.
//!
//! A job that fails must leave no trace while the others commit. Savepoints would do
//! that but cost a page copy per touched page per job, so the writer is optimistic:
//! it runs the batch without savepoints; when a job fails it rolls the transaction
//! back, replays the jobs before it (they are deterministic: same order, same
//! state), records the failure, and runs the rest of that batch each inside its own
//! savepoint.

use super::{checkpoint, ledger};
use crate::StoreError;
use rusqlite::Connection;
use std::panic::AssertUnwindSafe;
use tokio::sync::{mpsc, oneshot};

/// Most jobs one transaction takes.
pub const MAX_BATCH: usize = 4096;

/// A unit of work for the writer. `run` may be called again after a rollback and
/// must then do the same; `finish` answers the caller once the batch's fate is known.
pub(super) trait WriteJob: Send {
    /// Runs the job; false if it failed (its changes must then be undone).
    fn run(&mut self, conn: &Connection) -> bool;
    /// `committed` is the batch's commit result; a failed job ignores it.
    fn finish(self: Box<Self>, committed: Result<(), String>);
}

pub(super) type Job = Box<dyn WriteJob>;

struct TypedJob<T, E, F> {
    work: F,
    result: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> WriteJob for TypedJob<T, E, F>
where
    T: Send,
    E: From<StoreError> + Send,
    F: FnMut(&Connection) -> Result<T, E> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let result = (self.work)(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let answer = match (self.result, committed) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (Some(Ok(_)), Err(e)) => Err(E::from(StoreError(e))),
            (None, _) => Err(E::from(StoreError("the job did not run".into()))),
        };
        let _ = self.reply.send(answer);
    }
}

/// Wraps `work` as a job and the receiver of its answer.
pub(super) fn job<T, E, F>(work: F) -> (Job, oneshot::Receiver<Result<T, E>>)
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnMut(&Connection) -> Result<T, E> + Send + 'static,
{
    let (reply, rx) = oneshot::channel();
    (
        Box::new(TypedJob {
            work,
            result: None,
            reply,
        }),
        rx,
    )
}

fn exec(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Runs a job, turning a panic into a failure.
fn run_job(job: &mut Job, conn: &Connection) -> bool {
    match std::panic::catch_unwind(AssertUnwindSafe(|| job.run(conn))) {
        Ok(ok) => ok,
        Err(_) => {
            tracing::error!("a store job panicked; its changes were rolled back");
            false
        }
    }
}

fn rollback(conn: &Connection) {
    if let Err(e) = exec(conn, "ROLLBACK") {
        tracing::error!(error = %e, "SQLite rollback failed");
    }
    ledger::forget();
}

/// Runs one batch in one transaction; returns the commit result.
fn run_batch(conn: &Connection, batch: &mut [Job]) -> Result<(), String> {
    exec(conn, "BEGIN IMMEDIATE")?;
    ledger::begin_batch(conn).inspect_err(|_| rollback(conn))?;
    let failed_at = batch.iter_mut().position(|job| !run_job(job, conn));
    if let Some(first_failure) = failed_at {
        // Undo everything, replay the jobs that succeeded, then go on carefully.
        rollback(conn);
        exec(conn, "BEGIN IMMEDIATE")?;
        for job in batch[..first_failure].iter_mut() {
            if !run_job(job, conn) {
                rollback(conn);
                return Err("a replayed job failed; the batch was rolled back".into());
            }
        }
        for job in batch[first_failure + 1..].iter_mut() {
            // Balances cached by the ledger go to the database first, so that
            // rolling back to the savepoint restores exactly the state before the job.
            ledger::flush(conn).inspect_err(|_| rollback(conn))?;
            exec(conn, "SAVEPOINT job")?;
            if run_job(job, conn) {
                exec(conn, "RELEASE job")?;
            } else {
                exec(conn, "ROLLBACK TO job")?;
                exec(conn, "RELEASE job")?;
                ledger::forget();
            }
        }
    }
    ledger::flush(conn).inspect_err(|_| rollback(conn))?;
    exec(conn, "COMMIT").inspect_err(|_| rollback(conn))
}

pub(super) fn writer_loop(
    conn: Connection,
    mut jobs: mpsc::Receiver<Job>,
    checkpoints: Option<&checkpoint::Signal>,
) {
    // Answering thousands of callers takes time; a second thread does it while the
    // writer goes on with the next batch.
    let (answer_tx, answer_rx) = std::sync::mpsc::channel::<(Vec<Job>, Result<(), String>)>();
    let answerer = std::thread::Builder::new()
        .name("gerbang-sqlite-answer".into())
        .spawn(move || {
            for (batch, committed) in answer_rx {
                for job in batch {
                    job.finish(committed.clone());
                }
            }
        })
        .expect("answer thread");
    while let Some(first) = jobs.blocking_recv() {
        let mut batch: Vec<Job> = Vec::with_capacity(64);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = run_batch(&conn, &mut batch);
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = batch.len(), "SQLite batch failed");
        }
        if let Err(std::sync::mpsc::SendError((batch, committed))) =
            answer_tx.send((batch, committed))
        {
            for job in batch {
                job.finish(committed.clone());
            }
        }
        if checkpoints.is_some_and(checkpoint::Signal::finish_wanted) {
            checkpoint::finish(&conn);
        }
    }
    drop(answer_tx);
    let _ = answerer.join();
}
