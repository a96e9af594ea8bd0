//! Group commit: [`Committers::commit`] hands its step to a queue that a few
//! committer tasks share, each on a connection of its own. A committer takes every
//! step waiting (up to [`MAX_BATCH`]) and runs them in one transaction, in the order
//! they arrived, each inside a savepoint: a step that fails is rolled back to its
//! savepoint and leaves no trace, while the others go on. The transaction commits
//! once, and only then are the callers answered; if the commit fails, every step of
//! the batch gets the error. Many steps thus share one commit and one fsync, and a
//! row every step updates (a clearing account) is locked once per batch rather
//! than once per step.
//!
//! A step sees the steps before it in its batch as if they had committed: a step
//! whose idempotency key an earlier step of the batch claimed is its duplicate.
//!
//! A batch locks every account its ledger ops name at its start, in id order, so
//! batches of different committers (or of other processes) that move money between
//! the same accounts queue instead of deadlocking. A batch that still loses a
//! deadlock or a serialization conflict is rolled back and run again, all of its
//! steps, a few times; after that each of its steps fails with
//! [`StepError::Backend`].

use super::step::{apply_step, BatchAccounts};
use super::{backoff, describe, pool_client, step_error, Fail, MAX_TRIES};
use crate::{Step, StepError, StepOutcome, StoreError};
use deadpool_postgres::Pool;
use gerbang_core::Timestamp;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Most steps one transaction takes.
pub const MAX_BATCH: usize = 1024;
/// Committers (and connections) by default; `GERBANG_PG_COMMITTERS` overrides it.
pub const DEFAULT_COMMITTERS: usize = 2;
/// The environment variable that sets the number of committers.
pub const COMMITTERS_VAR: &str = "GERBANG_PG_COMMITTERS";
/// Steps that may wait for a committer before callers are made to wait.
const QUEUE_DEPTH: usize = 16 * 1024;
/// The name of the savepoint each step runs in.
const SAVEPOINT: &str = "step";

pub(super) fn committers() -> Result<usize, StoreError> {
    match std::env::var(COMMITTERS_VAR) {
        Err(_) => Ok(DEFAULT_COMMITTERS),
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(StoreError(format!(
                "{COMMITTERS_VAR} must be a positive number of committers, not {text:?}"
            ))),
        },
    }
}

struct Job {
    now: Timestamp,
    step: Step,
    reply: oneshot::Sender<Result<StepOutcome, StepError>>,
}

type Answer = Result<StepOutcome, Fail>;

/// The queue of the committer tasks; they stop once every sender is gone.
pub(super) struct Committers {
    jobs: mpsc::Sender<Job>,
}

impl Committers {
    /// Starts `count` committers that take connections from `pool` (of `count`
    /// connections); `password` is hidden from every error they report.
    pub(super) fn start(pool: Pool, count: usize, password: Option<String>) -> Committers {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        let queue = Arc::new(Mutex::new(queue));
        let password: Option<Arc<str>> = password.map(Arc::from);
        for _ in 0..count.max(1) {
            tokio::spawn(committer(pool.clone(), queue.clone(), password.clone()));
        }
        Committers { jobs }
    }

    pub(super) async fn commit(
        &self,
        now: Timestamp,
        step: Step,
    ) -> Result<StepOutcome, StepError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { now, step, reply })
            .await
            .map_err(|_| StepError::Backend("the PostgreSQL committers have stopped".into()))?;
        answer.await.unwrap_or_else(|_| {
            Err(StepError::Backend(
                "the PostgreSQL committer stopped before it could tell whether the step \
                 committed"
                    .into(),
            ))
        })
    }
}

/// Takes the steps waiting, runs them as one batch, answers, and again, until the
/// queue closes.
async fn committer(pool: Pool, queue: Arc<Mutex<mpsc::Receiver<Job>>>, password: Option<Arc<str>>) {
    loop {
        let batch = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut batch = Vec::with_capacity(64);
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        // A batch runs as a task of its own: should it panic, its callers learn it
        // (their answers are dropped) and this committer goes on.
        let run = tokio::spawn(run_and_answer(pool.clone(), batch, password.clone()));
        if let Err(e) = run.await {
            tracing::error!(error = %e, "a PostgreSQL batch did not finish");
        }
    }
}

async fn run_and_answer(pool: Pool, batch: Vec<Job>, password: Option<Arc<str>>) {
    let password = password.as_deref();
    let steps: Vec<(Timestamp, &Step)> = batch.iter().map(|job| (job.now, &job.step)).collect();
    let answers: Vec<Result<StepOutcome, StepError>> = match run_batch(&pool, &steps).await {
        Ok(answers) => answers
            .into_iter()
            .map(|answer| answer.map_err(|fail| step_error(password, fail)))
            .collect(),
        Err(fail) => {
            let text = describe(password, fail);
            tracing::error!(error = %text, steps = batch.len(), "PostgreSQL batch failed");
            batch
                .iter()
                .map(|_| Err(StepError::Backend(text.clone())))
                .collect()
        }
    };
    for (job, answer) in batch.into_iter().zip(answers) {
        let _ = job.reply.send(answer);
    }
}

/// Runs the batch until it commits, or fails for good: then the reason, which every
/// step of the batch gets.
async fn run_batch(pool: &Pool, steps: &[(Timestamp, &Step)]) -> Result<Vec<Answer>, Fail> {
    let mut tries = 0;
    loop {
        tries += 1;
        match run_once(pool, steps).await {
            Err(fail) if fail.retryable() && tries < MAX_TRIES => {
                tracing::debug!(
                    tries,
                    steps = steps.len(),
                    "PostgreSQL batch conflicted; trying again"
                );
                backoff(tries).await;
            }
            done => return done,
        }
    }
}

/// Whether a step's failure spoils the whole batch: a deadlock or a conflict (the
/// batch must run again) or a failure outside the database's rules.
fn ends_batch(fail: &Fail) -> bool {
    match fail {
        Fail::Step(_) => false,
        Fail::Db(_) => fail.retryable(),
        Fail::NotVisible | Fail::Other(_) => true,
    }
}

async fn run_once(pool: &Pool, steps: &[(Timestamp, &Step)]) -> Result<Vec<Answer>, Fail> {
    let started = std::time::Instant::now();
    let mut client = pool_client(pool).await?;
    let tx = client.transaction().await?;
    let ran = async {
        let batch = BatchAccounts::lock(&tx, steps.iter().map(|(_, step)| *step)).await?;
        tracing::trace!(
            steps = steps.len(),
            lock_us = started.elapsed().as_micros() as u64,
            "PostgreSQL batch locked its accounts"
        );
        let mut answers = Vec::with_capacity(steps.len());
        for (now, step) in steps {
            tx.batch_execute(&format!("SAVEPOINT {SAVEPOINT}")).await?;
            match apply_step(&tx, *now, step, &batch).await {
                Ok(outcome) => {
                    tx.batch_execute(&format!("RELEASE SAVEPOINT {SAVEPOINT}"))
                        .await?;
                    answers.push(Ok(outcome));
                }
                Err(fail) if ends_batch(&fail) => return Err(fail),
                Err(fail) => {
                    tx.batch_execute(&format!(
                        "ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}"
                    ))
                    .await?;
                    answers.push(Err(fail));
                }
            }
        }
        Ok::<_, Fail>(answers)
    }
    .await;
    match ran {
        Ok(answers) => {
            let ran = started.elapsed();
            tx.commit().await?;
            tracing::trace!(
                steps = steps.len(),
                run_us = ran.as_micros() as u64,
                commit_us = (started.elapsed() - ran).as_micros() as u64,
                "PostgreSQL batch committed"
            );
            Ok(answers)
        }
        Err(fail) => {
            let _ = tx.rollback().await;
            Err(fail)
        }
    }
}
