//! Group commit: [`Committers::commit`] hands its step to a queue that a few
//! committer tasks share, each on a connection of its own. A committer takes every
//! step waiting (up to [`MAX_BATCH`]) and runs them in one transaction, in the order
//! they arrived, each inside a savepoint: a step that fails is rolled back to its
//! savepoint and leaves no trace, while the others go on. The transaction commits
//! once, and only then are the callers answered; if the commit fails, every step of
//! the batch gets the error. Many steps thus share one commit and one fsync, and a
//! row every step changes (a clearing account) is locked and written once per
//! batch rather than once per step.
//!
//! A step sees the steps before it in its batch as if they had committed: a step
//! whose idempotency key an earlier step of the batch claimed is its duplicate, and
//! gets that step's record.
//!
//! A batch locks every account its ledger ops name at its start, in id order, and
//! then the holds they name (see [`BatchLocks`]), so batches of different
//! committers (or of other processes) that move money between the same accounts
//! queue instead of deadlocking. A batch that still loses a deadlock or a
//! serialization conflict is rolled back and run again, all of its steps, a few
//! times; after that each of its steps fails with [`StepError::Backend`].
//!
//! The committer that takes a batch keeps the queue to itself until the batch has
//! committed (or failed), so batches normally run one after the other, each seeing
//! everything the one before wrote, and the next batch collects every step that
//! arrives meanwhile; it runs while the callers of the one before are answered.
//! Batches that would wait for each other's locks anyway thus do not split into
//! many small ones, each with its own fsync. A batch that takes longer than
//! [`PATIENCE`] (waiting for a lock held elsewhere, say) lets the next committer
//! start alongside it, so one slow batch does not stall every step.

use super::bulk;
use super::step::{apply_step, BatchLocks};
use super::{describe, pool_client, retrying, step_error, Fail};
use crate::{Step, StepError, StepOutcome};
use deadpool_postgres::Pool;
use gerbang_core::Timestamp;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Mutex};

/// Most steps one transaction takes.
pub const MAX_BATCH: usize = 1024;
/// Committers (and connections) by default; `GERBANG_PG_COMMITTERS` overrides it.
pub const DEFAULT_COMMITTERS: usize = 2;
/// The environment variable that sets the number of committers.
pub const COMMITTERS_VAR: &str = "GERBANG_PG_COMMITTERS";
/// Steps that may wait for a committer before callers are made to wait.
const QUEUE_DEPTH: usize = 16 * 1024;
/// How long a committer keeps the queue to itself while its batch runs.
const PATIENCE: Duration = Duration::from_millis(50);
/// How long a committer waits for more steps, once it has one, when fewer have
/// come than the last batch took: a burst of callers just answered is handing over
/// its next steps. Once fewer steps come, the batches shrink and nobody waits.
const GATHER: Duration = Duration::from_millis(5);
/// The name of the savepoint each step runs in.
const SAVEPOINT: &str = "step";

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
    /// Starts `count` (at least one) committers, as tasks of the current runtime,
    /// that take connections from `pool` (of `count` connections); `password` is
    /// hidden from every error they report.
    pub(super) fn start(pool: Pool, count: usize, password: Option<String>) -> Committers {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        let queue = Arc::new(Mutex::new(queue));
        let last = Arc::new(AtomicUsize::new(1));
        let password: Option<Arc<str>> = password.map(Arc::from);
        for _ in 0..count {
            tokio::spawn(committer(
                pool.clone(),
                queue.clone(),
                last.clone(),
                password.clone(),
            ));
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
/// queue closes. `last` is the size of the batch a committer of the store took last.
async fn committer(
    pool: Pool,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    last: Arc<AtomicUsize>,
    password: Option<Arc<str>>,
) {
    loop {
        let mut waiting = queue.lock().await;
        let Some(first) = waiting.recv().await else {
            return;
        };
        let batch = gather(&mut waiting, first, last.load(Ordering::Relaxed)).await;
        last.store(batch.len(), Ordering::Relaxed);
        let (ended, batch_ended) = oneshot::channel();
        // A batch runs as a task of its own: should it panic, its callers learn it
        // (their answers are dropped) and this committer goes on.
        let run = tokio::spawn(run_and_answer(pool.clone(), batch, password.clone(), ended));
        let _ = tokio::time::timeout(PATIENCE, batch_ended).await;
        drop(waiting);
        if let Err(e) = run.await {
            tracing::error!(error = %e, "a PostgreSQL batch did not finish");
        }
    }
}

/// The batch that starts with `first`: every step waiting and, until there are
/// `expected`, those that come within [`GATHER`].
async fn gather(queue: &mut mpsc::Receiver<Job>, first: Job, expected: usize) -> Vec<Job> {
    let deadline = tokio::time::Instant::now() + GATHER;
    let expected = expected.clamp(1, MAX_BATCH);
    let mut batch = Vec::with_capacity(expected);
    batch.push(first);
    loop {
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if batch.len() >= expected {
            return batch;
        }
        match tokio::time::timeout_at(deadline, queue.recv()).await {
            Ok(Some(job)) => batch.push(job),
            Ok(None) | Err(_) => return batch,
        }
    }
}

/// Runs the batch and answers its callers; `ended` learns when the batch has
/// committed or failed for good, before the callers are answered.
async fn run_and_answer(
    pool: Pool,
    batch: Vec<Job>,
    password: Option<Arc<str>>,
    ended: oneshot::Sender<()>,
) {
    let password = password.as_deref();
    let steps: Vec<(Timestamp, &Step)> = batch.iter().map(|job| (job.now, &job.step)).collect();
    let ran = run_batch(&pool, &steps).await;
    let _ = ended.send(());
    let answers: Vec<Result<StepOutcome, StepError>> = match ran {
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
/// step of the batch gets. It is written as a whole (see [`super::bulk`]) unless
/// that met a row written meanwhile: then, and from then on, step by step.
async fn run_batch(pool: &Pool, steps: &[(Timestamp, &Step)]) -> Result<Vec<Answer>, Fail> {
    let whole = std::sync::atomic::AtomicBool::new(true);
    retrying(
        || async {
            if whole.load(Ordering::Relaxed) {
                match run_once(pool, steps, true).await {
                    Err(Fail::Rewrite) => {
                        tracing::debug!(
                            steps = steps.len(),
                            "a PostgreSQL batch met rows written meanwhile; running it step by step"
                        );
                        whole.store(false, Ordering::Relaxed);
                    }
                    done => return done,
                }
            }
            run_once(pool, steps, false).await
        },
        |tries| {
            tracing::debug!(
                tries,
                steps = steps.len(),
                "PostgreSQL batch conflicted; trying again"
            )
        },
    )
    .await
}

/// Whether a step's failure spoils the whole batch: a deadlock or a conflict (the
/// batch must run again) or a failure outside the database's rules.
fn ends_batch(fail: &Fail) -> bool {
    match fail {
        Fail::Step(_) => false,
        Fail::Db(_) => fail.retryable(),
        Fail::NotVisible | Fail::Cut | Fail::Rewrite | Fail::Other(_) => true,
    }
}

/// A failure before COMMIT: a broken connection is [`Fail::Cut`] (nothing
/// committed, the batch can run again), anything else as it is.
fn before_commit(fail: Fail) -> Fail {
    match fail {
        Fail::Db(e) if e.is_closed() => Fail::Cut,
        other => other,
    }
}

/// Runs the batch once: written as a whole if `whole` and the batch allows it,
/// step by step otherwise.
async fn run_once(
    pool: &Pool,
    steps: &[(Timestamp, &Step)],
    whole: bool,
) -> Result<Vec<Answer>, Fail> {
    let started = Instant::now();
    let mut client = pool_client(pool).await?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| before_commit(e.into()))?;
    let applied = async {
        // Written whole, the batch only reads the holds it ends (its writes check
        // them); a batch that cannot be written whole then runs again step by step.
        // Written whole, a statement the server refuses (text it does not take,
        // say) sends the batch step by step, where it fails only its own step.
        let whole_or_not = |fail| if whole { bulk::rewrite(fail) } else { fail };
        let mut batch = BatchLocks::lock(&tx, steps.iter().map(|(_, step)| *step), !whole)
            .await
            .map_err(whole_or_not)?;
        let locked = started.elapsed();
        if whole {
            let answers = bulk::apply(&tx, steps, &mut batch)
                .await
                .map_err(whole_or_not)?;
            return Ok((answers, locked));
        }
        let mut answers = Vec::with_capacity(steps.len());
        let mut last_failed = false;
        for (i, (now, step)) in steps.iter().enumerate() {
            // Each step starts in a fresh savepoint: the one before it is released if
            // that step succeeded, and rolled back to (and so kept) if it failed. The
            // command goes out with the step's first statements, in front of them.
            let mark = match (i, last_failed) {
                (0, _) => format!("SAVEPOINT {SAVEPOINT}"),
                (_, false) => format!("RELEASE SAVEPOINT {SAVEPOINT}; SAVEPOINT {SAVEPOINT}"),
                (_, true) => format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}"),
            };
            let (marked, applied) = tokio::join!(
                biased;
                tx.batch_execute(&mark),
                apply_step(&tx, *now, step, &mut batch),
            );
            marked?;
            match applied {
                Ok(outcome) => {
                    last_failed = false;
                    answers.push(Ok(outcome));
                }
                Err(fail) if ends_batch(&fail) => return Err(fail),
                Err(fail) => {
                    batch.step_failed();
                    last_failed = true;
                    answers.push(Err(fail));
                }
            }
        }
        // Out of the last step's savepoint, then what the batch kept of the rows it
        // holds (see `BatchLocks`).
        let mark = if last_failed {
            format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}")
        } else {
            format!("RELEASE SAVEPOINT {SAVEPOINT}")
        };
        let (marked, written) = tokio::join!(
            biased;
            tx.batch_execute(&mark),
            batch.write_back(&tx),
        );
        marked?;
        written?;
        Ok::<_, Fail>((answers, locked))
    }
    .await;
    match applied {
        Ok((answers, locked)) => {
            let applied = started.elapsed();
            tx.commit().await?;
            tracing::trace!(
                steps = steps.len(),
                lock_us = locked.as_micros() as u64,
                run_us = applied.as_micros() as u64,
                commit_us = (started.elapsed() - applied).as_micros() as u64,
                "PostgreSQL batch committed"
            );
            Ok(answers)
        }
        Err(fail) => {
            let _ = tx.rollback().await;
            Err(before_commit(fail))
        }
    }
}
