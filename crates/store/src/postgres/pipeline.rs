//! Statements sent together: a [`Pipeline`] costs one round trip to the server
//! however many statements it carries.

use super::Fail;
use crate::StepError;
use deadpool_postgres::Transaction;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

/// A parameter a pipelined statement owns until it has run.
pub(super) type Param = Box<dyn ToSql + Sync + Send>;

/// The parameters of a pipelined statement, each moved into a box.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        vec![$(Box::new($value) as $crate::postgres::pipeline::Param),*]
    };
}
pub(super) use params;

pub(super) enum Reply {
    Count(u64),
    Rows(Vec<Row>),
}

pub(super) type Sent<'a> = Pin<Box<dyn Future<Output = Result<Reply, Fail>> + Send + 'a>>;

/// Statements sent one after the other without waiting for the answers of the ones
/// before, so that the group costs one round trip. The server still runs them one
/// after the other, in order, each seeing what the ones before did, and the caller
/// reads the answers in order, stopping at the first that fails the step: the
/// outcome is that of running them one by one. Statements after the failing one
/// may have run too, but the failing step's savepoint undoes them with the rest.
///
/// Every statement is prepared before it joins the pipeline, so that nothing goes
/// out to the server before the pipeline's statements, in between them. An answer
/// the store knows without asking (a balance change of an account the batch holds)
/// takes its place among the others.
pub(super) struct Pipeline<'a> {
    pub(super) tx: &'a Transaction<'a>,
    pub(super) sent: Vec<Sent<'a>>,
}

impl<'a> Pipeline<'a> {
    pub(super) fn new(tx: &'a Transaction<'a>) -> Self {
        Pipeline {
            tx,
            sent: Vec::new(),
        }
    }

    /// A statement whose answer is the number of rows it changed.
    pub(super) fn execute(&mut self, statement: &Statement, params: Vec<Param>) {
        let (tx, statement) = (self.tx, statement.clone());
        self.sent.push(Box::pin(async move {
            let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as _).collect();
            Ok(Reply::Count(tx.execute(&statement, &params).await?))
        }));
    }

    /// A statement whose answer is the rows it returned.
    pub(super) fn query(&mut self, statement: &Statement, params: Vec<Param>) {
        let (tx, statement) = (self.tx, statement.clone());
        self.sent.push(Box::pin(async move {
            let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as _).collect();
            Ok(Reply::Rows(tx.query(&statement, &params).await?))
        }));
    }

    /// An answer known without asking the server.
    pub(super) fn known(&mut self, answer: Result<Reply, Fail>) {
        self.sent.push(Box::pin(std::future::ready(answer)));
    }

    /// Sends every statement, in order, and waits for all the answers.
    pub(super) async fn answers(mut self) -> Answers {
        let mut answers: Vec<Option<Result<Reply, Fail>>> =
            self.sent.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut all = true;
            for (sent, answer) in self.sent.iter_mut().zip(answers.iter_mut()) {
                if answer.is_none() {
                    match sent.as_mut().poll(cx) {
                        Poll::Ready(done) => *answer = Some(done),
                        Poll::Pending => all = false,
                    }
                }
            }
            if all {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        Answers(
            answers
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .into_iter(),
        )
    }
}

/// The answers of a pipeline, read in the order its statements went out.
pub(super) struct Answers(std::vec::IntoIter<Result<Reply, Fail>>);

impl Answers {
    pub(super) fn next(&mut self) -> Result<Reply, Fail> {
        match self.0.next() {
            Some(answer) => answer,
            None => Err(Fail::Other(
                "a pipelined statement's answer is missing".into(),
            )),
        }
    }

    /// How many rows the next statement changed or returned.
    pub(super) fn count(&mut self) -> Result<u64, Fail> {
        Ok(match self.next()? {
            Reply::Count(n) => n,
            Reply::Rows(rows) => rows.len() as u64,
        })
    }

    /// The rows the next statement returned.
    pub(super) fn rows(&mut self) -> Result<Vec<Row>, Fail> {
        Ok(match self.next()? {
            Reply::Rows(rows) => rows,
            Reply::Count(_) => Vec::new(),
        })
    }

    /// The first row the next statement returned, if any.
    pub(super) fn row(&mut self) -> Result<Option<Row>, Fail> {
        Ok(match self.next()? {
            Reply::Rows(rows) => rows.into_iter().next(),
            Reply::Count(_) => None,
        })
    }

    /// The row the next statement must have returned.
    pub(super) fn one(&mut self) -> Result<Row, Fail> {
        self.row()?.ok_or_else(|| {
            Fail::Step(StepError::Backend(
                "a statement that always returns a row returned none".into(),
            ))
        })
    }
}
