//! Property tests of the ledger rules on the real stores: random sequences of
//! transfers, holds, posts, voids and expiries are committed to a store and applied
//! to the in-memory model `gerbang_core::ledger::model::Ledger`, which is the oracle.
//! Both must accept and refuse the same steps, with the same error, and end in the
//! same state. SQLite always; PostgreSQL when `GERBANG_TEST_POSTGRES_URL` is set.

use gerbang_core::ledger::model::Ledger;
use gerbang_core::ledger::{
    AccountKind, HoldState, LedgerOp, NewAccount, NewEntry, NewHold, PostHold, Posting,
};
use gerbang_core::{Currency, Timestamp};
use gerbang_store::testing::{open, postgres_database, sqlite_database, TestDatabase};
use gerbang_store::{
    hold_expiry_timer_key, SharedStore, StatementQuery, Step, StepError, StepOutcome, Store,
    HOLD_EXPIRY_TIMER,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use std::collections::{BTreeMap, BTreeSet};
use std::task::Poll;

const T0: Timestamp = Timestamp::from_micros(1_700_000_000_000_000);

/// The accounts every case opens, by index.
const ACCOUNTS: [(&str, AccountKind); 5] = [
    ("operator:funding", AccountKind::OperatorFunding),
    ("partner:p0", AccountKind::PartnerBalance),
    ("partner:p1", AccountKind::PartnerBalance),
    ("partner:p2", AccountKind::PartnerBalance),
    ("channel:bank", AccountKind::ChannelClearing),
];
/// An account that only exists once a step that opens it commits.
const LATE: usize = ACCOUNTS.len();
const LATE_ACCOUNT: (&str, AccountKind) = ("partner:late", AccountKind::PartnerBalance);
/// An account that never exists.
const GHOST: usize = LATE + 1;
const GHOST_CODE: &str = "partner:ghost";

/// A hold key no hold ever has.
const UNKNOWN_HOLD: &str = "h-unknown";

fn code(account: usize) -> &'static str {
    match account {
        LATE => LATE_ACCOUNT.0,
        GHOST => GHOST_CODE,
        _ => ACCOUNTS[account].0,
    }
}

fn natural_kind(account: usize) -> AccountKind {
    match account {
        LATE => LATE_ACCOUNT.1,
        _ => ACCOUNTS[account].1,
    }
}

// ---------------------------------------------------------------------------------
// What to do, before it is turned into ledger ops.

#[derive(Clone, Debug)]
enum TransferShape {
    /// `from` pays `to`.
    Pair,
    /// `from` pays `to` and `also`, half each.
    Split { also: usize },
    /// `to` receives `delta` more than `from` pays.
    Unbalanced { delta: i64 },
    /// A single posting.
    Lone,
    /// A pair of zero postings.
    Zero,
}

#[derive(Clone, Debug)]
enum Amount {
    Fixed(i64),
    /// What the paying account has available, plus this (to hit the boundary).
    Available(i64),
}

#[derive(Clone, Debug)]
enum CreditShape {
    /// The credits add up to the held amount.
    Exact,
    /// The last credit is `delta` short.
    Short { delta: i64 },
    /// The last credit is `delta` too much.
    Over { delta: i64 },
    /// Add up to the held amount, but one credit is negative.
    Negative { delta: i64 },
}

/// Which key a new hold gets.
#[derive(Clone, Debug)]
enum NewKey {
    /// One no hold has had yet.
    Fresh,
    /// The key of an existing hold, chosen by index (a duplicate).
    Reused(usize),
}

/// Which hold a post, void or expiry names.
#[derive(Clone, Debug)]
enum HoldRef {
    /// A pending hold, chosen by index (any hold when none is pending).
    Pending(usize),
    /// Any hold, pending or ended, chosen by index.
    Any(usize),
    /// A key no hold has.
    Unknown,
}

/// Opening an account along with a step's ledger ops.
#[derive(Clone, Debug)]
struct Open {
    account: usize,
    /// Open it as a fees account, which none of them is at first.
    as_fees: bool,
}

/// One step: all of it commits or none of it.
#[derive(Clone, Debug)]
struct Plan {
    open: Option<Open>,
    actions: Vec<Action>,
}

#[derive(Clone, Debug)]
enum Action {
    Transfer {
        from: usize,
        to: usize,
        amount: Amount,
        shape: TransferShape,
    },
    Hold {
        key: NewKey,
        account: usize,
        amount: Amount,
        expires_in: Option<i64>,
    },
    Post {
        key: HoldRef,
        to: Vec<usize>,
        shape: CreditShape,
    },
    Void {
        key: HoldRef,
    },
    Expire {
        key: HoldRef,
    },
}

fn any_account() -> impl Strategy<Value = usize> {
    prop_oneof![
        5 => Just(0usize),
        9 => 1usize..=3,
        3 => Just(4usize),
        1 => Just(LATE),
        1 => Just(GHOST),
    ]
}

/// Where a transfer's money comes from: mostly the accounts that may go negative,
/// so that the partners have money to spend.
fn any_payer() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => Just(0usize),
        3 => Just(4usize),
        7 => 1usize..=3,
        1 => Just(LATE),
        1 => Just(GHOST),
    ]
}

fn any_amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        8 => (1i64..=1_000).prop_map(Amount::Fixed),
        4 => (1_000i64..=50_000).prop_map(Amount::Fixed),
        1 => (1_000_000i64..=1_000_000_000).prop_map(Amount::Fixed),
        2 => (-1i64..=1).prop_map(Amount::Available),
    ]
}

fn any_new_key() -> impl Strategy<Value = NewKey> {
    prop_oneof![
        8 => Just(NewKey::Fresh),
        1 => any::<usize>().prop_map(NewKey::Reused),
    ]
}

fn any_hold_ref() -> impl Strategy<Value = HoldRef> {
    prop_oneof![
        20 => any::<usize>().prop_map(HoldRef::Pending),
        2 => any::<usize>().prop_map(HoldRef::Any),
        1 => Just(HoldRef::Unknown),
    ]
}

fn any_action() -> impl Strategy<Value = Action> {
    let transfer = (
        any_payer(),
        any_account(),
        any_amount(),
        prop_oneof![
            12 => Just(TransferShape::Pair),
            3 => any_account().prop_map(|also| TransferShape::Split { also }),
            1 => (-3i64..=3).prop_filter("non-zero", |d| *d != 0)
                .prop_map(|delta| TransferShape::Unbalanced { delta }),
            1 => Just(TransferShape::Lone),
            1 => Just(TransferShape::Zero),
        ],
    )
        .prop_map(|(from, to, amount, shape)| Action::Transfer {
            from,
            to,
            amount,
            shape,
        });
    let hold = (
        any_new_key(),
        any_account(),
        prop_oneof![10 => any_amount(), 1 => (-5i64..=0).prop_map(Amount::Fixed)],
        prop::option::of(1i64..=7_200),
    )
        .prop_map(|(key, account, amount, expires_in)| Action::Hold {
            key,
            account,
            amount,
            expires_in,
        });
    let post = (
        any_hold_ref(),
        prop::collection::vec(any_account(), 1..=3),
        prop_oneof![
            8 => Just(CreditShape::Exact),
            1 => (1i64..=50).prop_map(|delta| CreditShape::Short { delta }),
            1 => (1i64..=50).prop_map(|delta| CreditShape::Over { delta }),
            1 => (1i64..=50).prop_map(|delta| CreditShape::Negative { delta }),
        ],
    )
        .prop_map(|(key, to, shape)| Action::Post { key, to, shape });
    // The operator funds a partner: without it partners rarely have money to move.
    let funding = (1usize..=3, 10_000i64..=100_000).prop_map(|(to, amount)| Action::Transfer {
        from: 0,
        to,
        amount: Amount::Fixed(amount),
        shape: TransferShape::Pair,
    });
    prop_oneof![
        2 => funding,
        6 => transfer,
        5 => hold,
        3 => post,
        1 => any_hold_ref().prop_map(|key| Action::Void { key }),
        1 => any_hold_ref().prop_map(|key| Action::Expire { key }),
    ]
}

/// 1 to 60 steps of 1 to 4 actions each, a few of them opening an account.
fn any_steps() -> impl Strategy<Value = Vec<Plan>> {
    let actions = prop_oneof![
        4 => prop::collection::vec(any_action(), 1),
        3 => prop::collection::vec(any_action(), 2),
        2 => prop::collection::vec(any_action(), 3..=4),
    ];
    let open = prop::option::weighted(
        0.1,
        (
            prop_oneof![3 => Just(LATE), 1 => 0..LATE],
            prop::bool::weighted(0.25),
        )
            .prop_map(|(account, as_fees)| Open { account, as_fees }),
    );
    let step = (open, actions).prop_map(|(open, actions)| Plan { open, actions });
    prop::collection::vec(step, 1..=60)
}

fn posting(account: usize, amount: i64) -> Posting {
    Posting {
        account: code(account).to_string(),
        amount,
    }
}

/// `amount` split over `parts` positive pieces (fewer when it is too small).
fn split(amount: i64, parts: usize) -> Vec<i64> {
    let parts = i64::try_from(parts).unwrap_or(1).clamp(1, amount.max(1));
    let piece = amount / parts;
    let mut out = vec![piece; parts as usize];
    *out.last_mut().expect("one part at least") += amount - piece * parts;
    out
}

/// The holds a step can name: the model's, and those placed earlier in the step.
struct Holds<'a> {
    model: &'a Ledger,
    here: BTreeMap<String, i64>,
}

impl Holds<'_> {
    fn known(&self, key: &str) -> bool {
        self.model.holds.contains_key(key) || self.here.contains_key(key)
    }

    fn amount(&self, key: &str) -> Option<i64> {
        self.model
            .holds
            .get(key)
            .map(|h| h.hold.amount)
            .or_else(|| self.here.get(key).copied())
    }

    fn fresh(&self) -> String {
        (self.model.holds.len() + self.here.len()..)
            .map(|n| format!("h{n}"))
            .find(|key| !self.known(key))
            .expect("a free key")
    }

    fn pick(keys: Vec<&String>, index: usize) -> Option<String> {
        (!keys.is_empty()).then(|| keys[index % keys.len()].clone())
    }

    fn any(&self, index: usize) -> Option<String> {
        Self::pick(
            self.model.holds.keys().chain(self.here.keys()).collect(),
            index,
        )
    }

    fn new_key(&self, key: &NewKey) -> String {
        match key {
            NewKey::Fresh => self.fresh(),
            NewKey::Reused(index) => self.any(*index).unwrap_or_else(|| self.fresh()),
        }
    }

    fn name(&self, hold: &HoldRef) -> String {
        let found = match hold {
            HoldRef::Pending(index) => {
                let pending = self
                    .model
                    .holds
                    .iter()
                    .filter(|(_, h)| h.state == HoldState::Pending)
                    .map(|(key, _)| key)
                    .chain(self.here.keys())
                    .collect();
                Self::pick(pending, *index).or_else(|| self.any(*index))
            }
            HoldRef::Any(index) => self.any(*index),
            HoldRef::Unknown => None,
        };
        found.unwrap_or_else(|| UNKNOWN_HOLD.to_string())
    }
}

/// The amount to move from or hold on `account`.
fn resolve(model: &Ledger, account: usize, amount: &Amount) -> i64 {
    match amount {
        Amount::Fixed(amount) => *amount,
        Amount::Available(plus) => {
            let available = model
                .accounts
                .get(code(account))
                .map_or(0, |a| a.available());
            (available + plus).max(1)
        }
    }
}

/// Turns a step's actions into ledger ops. A post's credits are sized from the held
/// amount: the model's hold, or one placed earlier in the same step.
fn ledger_ops(model: &Ledger, actions: &[Action], now: Timestamp) -> Vec<LedgerOp> {
    let mut holds = Holds {
        model,
        here: BTreeMap::new(),
    };
    let mut ops = Vec::with_capacity(actions.len());
    for action in actions {
        let op = match action {
            Action::Transfer {
                from,
                to,
                amount,
                shape,
            } => {
                let amount = resolve(model, *from, amount);
                let postings = match shape {
                    TransferShape::Pair => vec![posting(*from, -amount), posting(*to, amount)],
                    TransferShape::Split { also } => {
                        let half = amount / 2;
                        vec![
                            posting(*from, -amount),
                            posting(*to, amount - half),
                            posting(*also, half),
                        ]
                    }
                    TransferShape::Unbalanced { delta } => {
                        vec![posting(*from, -amount), posting(*to, amount + delta)]
                    }
                    TransferShape::Lone => vec![posting(*from, -amount)],
                    TransferShape::Zero => vec![posting(*from, 0), posting(*to, 0)],
                };
                LedgerOp::Transfer(NewEntry {
                    kind: "transfer".into(),
                    reference: format!("{}->{}", code(*from), code(*to)),
                    description: "property".into(),
                    currency: Currency::Idr,
                    postings,
                })
            }
            Action::Hold {
                key,
                account,
                amount,
                expires_in,
            } => {
                let amount = resolve(model, *account, amount);
                let key = holds.new_key(key);
                holds.here.entry(key.clone()).or_insert(amount);
                LedgerOp::Hold(NewHold {
                    key,
                    account: code(*account).to_string(),
                    amount,
                    currency: Currency::Idr,
                    expires_at: expires_in.map(|s| now.plus_seconds(s)),
                })
            }
            Action::Post { key, to, shape } => {
                let key = holds.name(key);
                let held = holds.amount(&key).unwrap_or(100).max(1);
                let amounts = split(held, to.len());
                let mut credits: Vec<Posting> = to
                    .iter()
                    .zip(amounts)
                    .map(|(account, amount)| posting(*account, amount))
                    .collect();
                let last = credits.last_mut().expect("one credit at least");
                match shape {
                    CreditShape::Exact => {}
                    CreditShape::Short { delta } => last.amount -= delta,
                    CreditShape::Over { delta } => last.amount += delta,
                    CreditShape::Negative { delta } => {
                        last.amount += delta;
                        let account = last.account.clone();
                        credits.push(Posting {
                            account,
                            amount: -delta,
                        });
                    }
                }
                LedgerOp::Post(PostHold {
                    key: key.clone(),
                    kind: "payout".into(),
                    reference: key,
                    description: "property".into(),
                    credits,
                })
            }
            Action::Void { key } => LedgerOp::Void {
                key: holds.name(key),
            },
            Action::Expire { key } => LedgerOp::Expire {
                key: holds.name(key),
            },
        };
        ops.push(op);
    }
    ops
}

// ---------------------------------------------------------------------------------
// Running a sequence against a store and the model.

fn setup_step() -> Step {
    Step {
        accounts: ACCOUNTS
            .iter()
            .map(|(code, kind)| NewAccount {
                code: code.to_string(),
                kind: *kind,
                currency: Currency::Idr,
            })
            .collect(),
        ..Step::default()
    }
}

fn store_verdict(result: &Result<StepOutcome, StepError>) -> Result<(), TestCaseError> {
    match result {
        Ok(_) | Err(StepError::Ledger(_)) => Ok(()),
        Err(other) => Err(TestCaseError::fail(format!(
            "the store failed in a way no ledger rule explains: {other:?}"
        ))),
    }
}

/// Commits `steps` in order without waiting for one before handing over the next,
/// so that a store that groups commits gets them in one or a few groups.
async fn commit_in_order(
    store: &dyn Store,
    steps: Vec<(Timestamp, Step)>,
) -> Vec<Result<StepOutcome, StepError>> {
    let mut pending: Vec<_> = steps
        .into_iter()
        .map(|(now, step)| store.commit(now, step))
        .collect();
    let mut results: Vec<Option<Result<StepOutcome, StepError>>> = vec![None; pending.len()];
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (commit, result) in pending.iter_mut().zip(results.iter_mut()) {
            if result.is_none() {
                match commit.as_mut().poll(cx) {
                    Poll::Ready(done) => *result = Some(done),
                    Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    results
        .into_iter()
        .map(|r| r.expect("polled to the end"))
        .collect()
}

/// Runs `steps` against the model and `stores`, all open on one database: `window`
/// steps at a time are handed to one store together (1: one after the other), the
/// next `window` to the next store. Store and model must agree on every step.
async fn run_sequence(
    stores: &[SharedStore],
    steps: &[Plan],
    window: usize,
) -> Result<(), TestCaseError> {
    let store = &*stores[0];
    let mut model = Ledger::default();
    let setup = setup_step();
    for account in &setup.accounts {
        model.open(account).expect("fresh model");
    }
    store
        .commit(T0, setup)
        .await
        .map_err(|e| TestCaseError::fail(format!("setup: {e:?}")))?;

    let numbered: Vec<(usize, &Plan)> = steps.iter().enumerate().collect();
    for (g, group) in numbered.chunks(window.max(1)).enumerate() {
        let mut planned = Vec::with_capacity(group.len());
        for (i, plan) in group {
            let now = T0.plus_seconds(*i as i64 + 1);
            let step = Step {
                accounts: plan
                    .open
                    .iter()
                    .map(|open| NewAccount {
                        code: code(open.account).to_string(),
                        kind: if open.as_fees {
                            AccountKind::Fees
                        } else {
                            natural_kind(open.account)
                        },
                        currency: Currency::Idr,
                    })
                    .collect(),
                ledger: ledger_ops(&model, &plan.actions, now),
                ..Step::default()
            };
            // The store opens the step's accounts first, then runs its ledger ops.
            let mut next = model.clone();
            let expected = step
                .accounts
                .iter()
                .try_for_each(|account| next.open(account))
                .and_then(|()| next.apply_all(&step.ledger));
            if expected.is_ok() {
                model = next;
            }
            planned.push((*i, now, step, expected));
        }
        let results = commit_in_order(
            &*stores[g % stores.len()],
            planned
                .iter()
                .map(|(_, now, step, _)| (*now, step.clone()))
                .collect(),
        )
        .await;
        for ((i, _, step, expected), got) in planned.iter().zip(&results) {
            let ops = &step.ledger;
            store_verdict(got)?;
            let got_ledger = got.as_ref().map(|_| ()).map_err(|e| match e {
                StepError::Ledger(e) => e.clone(),
                _ => unreachable!("checked by store_verdict"),
            });
            prop_assert_eq!(
                &got_ledger,
                expected,
                "step {} disagrees: store vs model, step {:#?}",
                i,
                step
            );
            if let Ok(outcome) = got {
                let entries = ops
                    .iter()
                    .filter(|op| matches!(op, LedgerOp::Transfer(_) | LedgerOp::Post(_)))
                    .count();
                prop_assert_eq!(outcome.entry_ids.len(), entries, "entry ids of step {}", i);
            }
        }
        let last = group.last().map_or(0, |(i, _)| *i);
        for (code, state) in &model.accounts {
            let stored = store.account(code).await.expect("read").expect("opened");
            prop_assert_eq!(
                (stored.balance, stored.pending),
                (state.balance, state.pending),
                "account {} after step {}",
                code,
                last
            );
        }
    }

    check_final_state(store, &model).await
}

async fn check_final_state(store: &dyn Store, model: &Ledger) -> Result<(), TestCaseError> {
    // Balances and reservations.
    let mut total = 0i64;
    for (code, state) in &model.accounts {
        let stored = store.account(code).await.expect("read").expect("opened");
        prop_assert_eq!(stored.kind, state.kind);
        prop_assert_eq!(
            (stored.balance, stored.pending),
            (state.balance, state.pending),
            "account {}",
            code
        );
        if !stored.kind.may_go_negative() {
            prop_assert!(
                stored.available() >= 0,
                "{} may not go negative but has {} available",
                code,
                stored.available()
            );
        }
        total += stored.balance;
    }
    prop_assert_eq!(total, 0, "balances do not sum to zero");
    prop_assert!(store.account(GHOST_CODE).await.expect("read").is_none());
    prop_assert_eq!(
        store
            .account(LATE_ACCOUNT.0)
            .await
            .expect("read")
            .map(|a| a.kind),
        model.accounts.get(LATE_ACCOUNT.0).map(|a| a.kind),
        "the account opened along the way"
    );

    // Holds.
    let never_used = (model.holds.len()..)
        .map(|n| format!("h{n}"))
        .find(|key| !model.holds.contains_key(key))
        .expect("a free key");
    let keys = model
        .holds
        .keys()
        .cloned()
        .chain([UNKNOWN_HOLD.to_string(), never_used]);
    for key in keys {
        let stored = store.hold(&key).await.expect("read");
        match (model.holds.get(&key), stored) {
            (None, None) => {}
            (Some(expected), Some(stored)) => {
                prop_assert_eq!(stored.state, expected.state, "hold {}", key);
                prop_assert_eq!(&stored.account, &expected.hold.account, "hold {}", key);
                prop_assert_eq!(stored.amount, expected.hold.amount, "hold {}", key);
                prop_assert_eq!(stored.expires_at, expected.hold.expires_at, "hold {}", key);
                prop_assert_eq!(
                    stored.ended_at.is_some(),
                    expected.state != HoldState::Pending,
                    "hold {} end time",
                    key
                );
            }
            (expected, stored) => {
                return Err(TestCaseError::fail(format!(
                    "hold {key}: model has {expected:?}, store has {stored:?}"
                )))
            }
        }
    }

    // Exactly the pending holds with an expiry still have an expiry timer.
    let far = T0.plus_seconds(1_000_000);
    let timers: BTreeSet<String> = store
        .claim_timers(far, far.plus_seconds(30), 1000)
        .await
        .expect("timers")
        .into_iter()
        .inspect(|t| assert_eq!(t.kind, HOLD_EXPIRY_TIMER))
        .map(|t| t.key)
        .collect();
    let expiring: BTreeSet<String> = model
        .holds
        .iter()
        .filter(|(_, h)| h.state == HoldState::Pending && h.hold.expires_at.is_some())
        .map(|(key, _)| hold_expiry_timer_key(key))
        .collect();
    prop_assert_eq!(timers, expiring, "expiry timers");

    // The store's own audit.
    let report = store.check_ledger().await.expect("check");
    prop_assert!(report.is_clean(), "ledger check: {:?}", report.problems);
    let postings: usize = model.entries.iter().map(|e| e.postings.len()).sum();
    prop_assert_eq!(report.entries, model.entries.len() as i64);
    prop_assert_eq!(report.postings, postings as i64);
    prop_assert_eq!(
        report.holds_pending,
        model
            .holds
            .values()
            .filter(|h| h.state == HoldState::Pending)
            .count() as i64
    );

    // Statements, paged a few lines at a time, replay each balance.
    for (code, state) in &model.accounts {
        let expected: Vec<i64> = model
            .entries
            .iter()
            .flat_map(|e| e.postings.iter())
            .filter(|p| &p.account == code)
            .map(|p| p.amount)
            .collect();
        let mut lines = Vec::new();
        let mut after = 0;
        loop {
            let page = store
                .statement(StatementQuery {
                    account: code.clone(),
                    from: Timestamp::from_micros(0),
                    to: far,
                    after_posting_id: after,
                    limit: 3,
                })
                .await
                .expect("statement");
            prop_assert!(page.len() <= 3);
            let Some(last) = page.last() else { break };
            after = last.posting_id;
            lines.extend(page);
        }
        let mut running = 0i64;
        let mut previous_id = 0;
        for line in &lines {
            prop_assert!(
                line.posting_id > previous_id,
                "statement of {} out of order",
                code
            );
            previous_id = line.posting_id;
            running += line.amount;
            prop_assert_eq!(line.balance_after, running, "running balance of {}", code);
        }
        prop_assert_eq!(running, state.balance, "statement of {} sums wrong", code);
        let amounts: Vec<i64> = lines.iter().map(|l| l.amount).collect();
        prop_assert_eq!(amounts, expected, "postings of {}", code);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// `cases` unless `PROPTEST_CASES` asks for another number (for a longer hunt).
fn config(cases: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        max_shrink_iters: 512,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

/// Runs the property `cases` times, each on a fresh database from `database` that
/// `writers` stores open, with the steps handed to them `window` at a time.
fn check<W, F>(cases: u32, writers: usize, window: W, database: F)
where
    W: Strategy<Value = usize>,
    F: Fn(&tokio::runtime::Runtime) -> TestDatabase,
{
    let rt = runtime();
    let mut runner = TestRunner::new(config(cases));
    let outcome = runner.run(&(any_steps(), window), |(steps, window)| {
        let db = database(&rt);
        rt.block_on(async {
            let mut stores = Vec::with_capacity(writers);
            for _ in 0..writers {
                stores.push(open(&db).await);
            }
            run_sequence(&stores, &steps, window).await
        })
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[test]
fn sqlite_agrees_with_the_model() {
    check(48, 1, Just(1), |_| sqlite_database());
}

/// The SQLite writer commits whatever steps are waiting in one transaction, undoing
/// the ones that fail: steps handed over together must end as if they came one by one.
#[test]
fn sqlite_group_commit_agrees_with_the_model() {
    check(32, 1, 2usize..=12, |_| sqlite_database());
}

/// Two stores on one SQLite file (say, the server and `gerbang provision`) take turns:
/// neither may act on what it remembers from before the other one wrote.
#[test]
fn sqlite_two_writers_agree_with_the_model() {
    check(24, 2, 1usize..=3, |_| sqlite_database());
}

#[test]
fn postgres_agrees_with_the_model() {
    let Some(first) = runtime().block_on(postgres_database()) else {
        return;
    };
    let first = std::cell::RefCell::new(Some(first));
    check(16, 1, Just(1), |rt| {
        first.borrow_mut().take().unwrap_or_else(|| {
            rt.block_on(postgres_database())
                .expect("PostgreSQL was configured a moment ago")
        })
    });
}

/// Steps handed over together run as one PostgreSQL batch, written as rows of each
/// kind together: each must still end as if the steps came one by one.
#[test]
fn postgres_group_commit_agrees_with_the_model() {
    let Some(first) = runtime().block_on(postgres_database()) else {
        return;
    };
    let first = std::cell::RefCell::new(Some(first));
    check(12, 1, 2usize..=12, |rt| {
        first.borrow_mut().take().unwrap_or_else(|| {
            rt.block_on(postgres_database())
                .expect("PostgreSQL was configured a moment ago")
        })
    });
}
