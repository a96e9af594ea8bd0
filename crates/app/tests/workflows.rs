//! The payout workflows driven directly against the application — no HTTP, no
//! protocol face: accept, approve, batch, dispatch, settle, reject, expire, claim,
//! reverse. Time moves only when a test advances the sandbox clock, timers fire
//! only when a test runs a scheduler round, and the banks and cash networks are
//! the simulators. After every step the test reads the ledger and the records.
//! Each scenario runs on SQLite and, when a server is configured, on PostgreSQL.

mod common;

use common::requester;
use gerbang_app::config::Config;
use gerbang_app::h2h::{self, PaymentRequest, Refusal, Reversal};
use gerbang_app::payout::approval::{self, ApprovalError};
use gerbang_app::payout::cancel::{self, CancelError};
use gerbang_app::payout::{
    self, AcceptError, CashNetwork, Disbursement, Failure, NewPayout, Status,
};
use gerbang_app::scheduler::FAILURE_RECORD;
use gerbang_app::{provision, App};
use gerbang_store::testing::{postgres_database, sqlite_database, TestDatabase};
use gerbang_store::{NewTimer, NotificationQuery, Step, TimerOp};
use std::path::Path;
use std::sync::Arc;

const VA: &str = "9920017001";
const APPROVING_VA: &str = "9920017002";

async fn world(db: &TestDatabase) -> Arc<App> {
    let config = Config {
        database_url: db.url.clone(),
        ..Config::default()
    };
    let app = App::open(config).await.expect("the application opens");
    let plan = provision::plan(
        &format!(
            r#"
[[sendme_partner]]
virtual_account = "{VA}"
name = "Workflow Partner"
opening_balance = "1000000.00"

[[sendme_partner]]
virtual_account = "{APPROVING_VA}"
name = "Approving Partner"
opening_balance = "1000000.00"
require_approval = true
"#
        ),
        Path::new("."),
    )
    .expect("a valid plan");
    provision::apply(&*app.store, app.now(), plan)
        .await
        .expect("provisioned");
    app
}

/// Runs `scenario` on a fresh SQLite database, then on a fresh PostgreSQL one;
/// each database lives until its scenario is over.
async fn on_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Arc<App>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let sqlite = sqlite_database();
    scenario(world(&sqlite).await).await;
    if let Some(postgres) = postgres_database().await {
        scenario(world(&postgres).await).await;
    }
}

fn bank_payout(va: &str, reference: &str, account: &str, amount_minor: i64) -> NewPayout {
    common::bank_payout(va, reference, account, amount_minor, va == APPROVING_VA)
}

fn cash_payout(va: &str, reference: &str, amount_minor: i64, app: &App) -> NewPayout {
    common::cash_payout(
        bank_payout(va, reference, "cash", amount_minor),
        app.now(),
        3600,
    )
}

/// `(balance, pending)` of an account.
async fn balances(app: &App, code: &str) -> (i64, i64) {
    let a = app
        .store
        .account(code)
        .await
        .expect("readable")
        .unwrap_or_else(|| panic!("account {code} exists"));
    (a.balance, a.pending)
}

async fn reload(app: &App, d: &Disbursement) -> Disbursement {
    payout::load(&app.store, &d.id)
        .await
        .expect("readable")
        .expect("stored")
        .0
}

/// Moves the clock on and runs one round of due timers.
async fn after(app: &Arc<App>, seconds: i64) {
    app.clock.advance(seconds).await.expect("sandbox clock");
    app.scheduler().fire_due().await.expect("a scheduler round");
}

async fn ledger_is_clean(app: &App) {
    let report = app.store.check_ledger().await.expect("checkable");
    assert!(report.is_clean(), "{:?}", report.problems);
}

async fn notices_for(app: &App, d: &Disbursement) -> usize {
    app.store
        .notifications(NotificationQuery {
            source: Some(format!("disbursement:{}", d.id)),
            limit: 100,
            ..NotificationQuery::default()
        })
        .await
        .expect("readable")
        .len()
}

const OPENING: i64 = 100_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_dispatch_settle() {
    on_each_backend(|app| async move {
        let app = &app;
        let partner = format!("partner:{VA}");
        let d = payout::accept(app, bank_payout(VA, "T-1", "1234567890", 2_500_000))
            .await
            .expect("accepted");
        assert_eq!(d.status, Status::Processing);
        assert_eq!(balances(app, &partner).await, (OPENING, 2_500_000));

        // Not yet due: nothing happens.
        app.scheduler().fire_due().await.expect("a round");
        assert_eq!(reload(app, &d).await.status, Status::Processing);

        after(app, 3).await;
        let done = reload(app, &d).await;
        assert_eq!(done.status, Status::Succeeded);
        assert_eq!(done.failure, None);
        assert!(done.channel_answer.is_some());
        assert_eq!(balances(app, &partner).await, (OPENING - 2_500_000, 0));
        assert_eq!(
            balances(app, "channel:bank:014").await,
            (2_500_000, 0),
            "the bank's clearing account is paid"
        );
        assert_eq!(notices_for(app, &done).await, 1, "one final notice");
        ledger_is_clean(app).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_payout_releases_its_hold() {
    on_each_backend(|app| async move {
        let app = &app;
        let d = payout::accept(app, bank_payout(VA, "T-2", "1234569904", 1_000_000))
            .await
            .expect("accepted");
        after(app, 3).await;
        let done = reload(app, &d).await;
        assert_eq!(done.status, Status::Failed);
        assert_eq!(done.failure, Some(Failure::Declined));
        assert_eq!(balances(app, &format!("partner:{VA}")).await, (OPENING, 0));
        ledger_is_clean(app).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_are_idempotent_per_face_and_requester() {
    on_each_backend(|app| async move {
        let app = &app;
        let first = payout::accept(app, bank_payout(VA, "T-3", "1234567890", 1_000_000))
            .await
            .expect("accepted");
        let again = payout::accept(app, bank_payout(VA, "T-3", "1234567890", 1_000_000))
            .await
            .expect("the same request answers again");
        assert_eq!(first.id, again.id);
        let other = payout::accept(app, bank_payout(VA, "T-3", "1234567890", 2_000_000)).await;
        assert!(matches!(other, Err(AcceptError::DuplicateReference)));
        // Another requester may use the same reference.
        let theirs = payout::accept(
            app,
            bank_payout(APPROVING_VA, "T-3", "1234567890", 1_000_000),
        )
        .await
        .expect("accepted");
        assert_ne!(theirs.id, first.id);
        assert_eq!(
            balances(app, &format!("partner:{VA}")).await,
            (OPENING, 1_000_000),
            "one hold, not two"
        );
        let too_much = payout::accept(app, bank_payout(VA, "T-4", "1234567890", OPENING)).await;
        assert!(matches!(too_much, Err(AcceptError::InsufficientBalance)));
        ledger_is_clean(app).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_batches_and_reject_releases() {
    on_each_backend(|app| async move {
        let app = &app;
        let who = requester(APPROVING_VA);
        let funding = format!("partner:{APPROVING_VA}");
        let a = payout::accept(
            app,
            bank_payout(APPROVING_VA, "A-1", "1234567890", 1_000_000),
        )
        .await
        .expect("accepted");
        let b = payout::accept(
            app,
            bank_payout(APPROVING_VA, "A-2", "1234567891", 2_000_000),
        )
        .await
        .expect("accepted");
        let c = payout::accept(
            app,
            bank_payout(APPROVING_VA, "A-3", "1234567892", 4_000_000),
        )
        .await
        .expect("accepted");
        assert_eq!(a.status, Status::WaitingApproval);
        assert_eq!(balances(app, &funding).await, (OPENING, 7_000_000));

        // Waiting payouts never go out on their own.
        after(app, 3600).await;
        assert_eq!(reload(app, &a).await.status, Status::WaitingApproval);

        // Another requester cannot decide them.
        let foreign = approval::approve(app, &requester(VA), std::slice::from_ref(&a.id)).await;
        assert!(matches!(foreign, Err(ApprovalError::NotFound(_))));

        let approved = approval::approve(app, &who, &[a.id.clone(), b.id.clone()])
            .await
            .expect("approved");
        assert_eq!(approved.len(), 2);
        assert!(approved.iter().all(|d| d.status == Status::Processing));
        let rejected = approval::reject(app, &who, std::slice::from_ref(&c.id))
            .await
            .expect("rejected");
        assert_eq!(rejected[0].failure, Some(Failure::Rejected));
        assert_eq!(balances(app, &funding).await, (OPENING, 3_000_000));
        // A decided payout is no longer waiting.
        let twice = approval::reject(app, &who, std::slice::from_ref(&c.id)).await;
        assert!(matches!(twice, Err(ApprovalError::NotWaiting(_))));

        after(app, 3).await;
        assert_eq!(reload(app, &a).await.status, Status::Succeeded);
        assert_eq!(reload(app, &b).await.status, Status::Succeeded);
        assert_eq!(balances(app, &funding).await, (OPENING - 3_000_000, 0));
        assert_eq!(notices_for(app, &c).await, 1, "the rejection is told");
        ledger_is_clean(app).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cash_code_is_claimed_then_reversed() {
    on_each_backend(|app| async move {
        let app = &app;
        let funding = format!("partner:{VA}");
        let clearing = CashNetwork::Alfamart.clearing_account();
        let d = payout::accept(app, cash_payout(VA, "C-1", 5_000_000, app))
            .await
            .expect("accepted");
        let code = d
            .cash_code()
            .and_then(|c| c.code.clone())
            .expect("issued at once")
            .expose()
            .to_string();
        assert_eq!(balances(app, &funding).await, (OPENING, 5_000_000));

        let claimable = h2h::inquire(app, CashNetwork::Alfamart, &code, "+6281234567890")
            .await
            .expect("claimable");
        assert_eq!(claimable.amount_minor, 5_000_000);
        let wrong = h2h::inquire(app, CashNetwork::Indomaret, &code, "081234567890").await;
        assert!(matches!(
            wrong,
            Err(h2h::H2hError::Refused(Refusal::UnknownCode))
        ));

        let paid = h2h::pay(
            app,
            CashNetwork::Alfamart,
            PaymentRequest {
                reference: "ALF-1".into(),
                code: code.clone(),
                phone: "081234567890".into(),
                amount_minor: 5_000_000,
                terminal: "T01".into(),
            },
        )
        .await
        .expect("paid");
        assert!(!paid.repeated);
        assert_eq!(reload(app, &d).await.status, Status::Succeeded);
        assert_eq!(balances(app, &funding).await, (OPENING - 5_000_000, 0));
        assert_eq!(balances(app, &clearing).await, (5_000_000, 0));

        let reversed = h2h::reverse(app, CashNetwork::Alfamart, "ALF-1")
            .await
            .expect("reversed");
        assert_eq!(reversed, Reversal::Reversed { repeated: false });
        assert_eq!(reload(app, &d).await.status, Status::Reversed);
        assert_eq!(balances(app, &funding).await, (OPENING, 0));
        assert_eq!(balances(app, &clearing).await, (0, 0));
        assert_eq!(notices_for(app, &d).await, 2, "paid, then reversed");
        ledger_is_clean(app).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unclaimed_code_expires() {
    on_each_backend(|app| async move {
        let app = &app;
        let d = payout::accept(app, cash_payout(VA, "C-2", 5_000_000, app))
            .await
            .expect("accepted");
        after(app, 3599).await;
        assert_eq!(reload(app, &d).await.status, Status::Processing);
        after(app, 2).await;
        let done = reload(app, &d).await;
        assert_eq!(done.status, Status::Failed);
        assert_eq!(done.failure, Some(Failure::CodeExpired));
        assert_eq!(balances(app, &format!("partner:{VA}")).await, (OPENING, 0));
        let code = d.cash_code().and_then(|c| c.code.clone()).expect("issued");
        let late = h2h::inquire(app, CashNetwork::Alfamart, code.expose(), "081234567890").await;
        assert!(matches!(
            late,
            Err(h2h::H2hError::Refused(Refusal::Expired))
        ));
        ledger_is_clean(app).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_that_can_never_succeed_is_recorded_and_dropped() {
    on_each_backend(|app| async move {
        let app = &app;
        app.commit(Step {
            timers: vec![TimerOp::Schedule(NewTimer {
                key: "no.such.kind:1".into(),
                kind: "no.such.kind".into(),
                due_at: app.now(),
                payload: serde_json::json!({ "id": "1" }).into(),
            })],
            ..Step::default()
        })
        .await
        .expect("scheduled");
        let fired = app.scheduler().fire_due().await.expect("a round");
        assert_eq!(fired, 1);
        let failure = app
            .store
            .record(FAILURE_RECORD, "no.such.kind:1")
            .await
            .expect("readable")
            .expect("the failure is recorded");
        assert!(
            failure.data.as_str().contains("no handler"),
            "{}",
            failure.data.as_str()
        );
        // Gone: the next round does not take it again.
        after(app, 600).await;
        assert_eq!(app.scheduler().fire_due().await.expect("a round"), 0);
    })
    .await;
}

/// Runs scheduler rounds until none has anything left to do.
async fn until_idle(app: &Arc<App>) {
    let scheduler = app.scheduler();
    for _ in 0..10_000 {
        if scheduler.fire_due().await.expect("a scheduler round") == 0 {
            return;
        }
    }
    panic!("the scheduler never went idle");
}

/// Accepts `count` waiting payouts of the approving partner, many at a time.
async fn waiting_payouts(app: &App, prefix: &str, count: usize, amount_minor: i64) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let accepted = futures::future::join_all(chunk.iter().map(|n| {
            payout::accept(
                app,
                bank_payout(
                    APPROVING_VA,
                    &format!("{prefix}-{n}"),
                    "1234567890",
                    amount_minor,
                ),
            )
        }))
        .await;
        ids.extend(accepted.into_iter().map(|d| d.expect("accepted").id));
    }
    ids
}

async fn approve_and_settle(app: &Arc<App>, ids: &[String], amount_minor: i64) {
    let funding = format!("partner:{APPROVING_VA}");
    let total = amount_minor * ids.len() as i64;
    assert_eq!(balances(app, &funding).await, (OPENING, total));
    let approved = approval::approve(app, &requester(APPROVING_VA), ids)
        .await
        .expect("approved in one call");
    assert_eq!(approved.len(), ids.len());
    app.clock.advance(3).await.expect("sandbox clock");
    until_idle(app).await;
    for id in ids {
        let (d, _) = payout::load(&app.store, id)
            .await
            .expect("readable")
            .expect("stored");
        assert_eq!(d.status, Status::Succeeded, "{id}");
    }
    assert_eq!(balances(app, &funding).await, (OPENING - total, 0));
    let batches = app
        .store
        .records(payout::batch::BATCH_RECORD, None, None, 100)
        .await
        .expect("readable");
    assert_eq!(batches.len(), 1, "one channel, one due time: one batch");
    assert_eq!(batches[0].state, "sent");
    ledger_is_clean(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_longer_than_a_chunk_goes_out_whole() {
    on_each_backend(|app| async move {
        let lines = payout::batch::CHUNK_LINES as usize * 2 + 50;
        let ids = waiting_payouts(&app, "B", lines, 10_000).await;
        approve_and_settle(&app, &ids, 10_000).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_waiting_payouts_approved_in_one_call() {
    let db = sqlite_database();
    let app = world(&db).await;
    let ids = waiting_payouts(&app, "P", 20_000, 1_000).await;
    approve_and_settle(&app, &ids, 1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsent_payouts_are_cancelled_and_their_holds_released() {
    on_each_backend(|app| async move {
        let app = &app;
        let funding = format!("partner:{APPROVING_VA}");
        let waiting = payout::accept(app, bank_payout(APPROVING_VA, "X-1", "1234567890", 1_000))
            .await
            .expect("accepted");
        let code = payout::accept(app, cash_payout(APPROVING_VA, "X-2", 5_000_000, app))
            .await
            .expect("accepted");
        let who = requester(APPROVING_VA);
        // A code is drawn on approval; then it is live and can still be cancelled.
        approval::approve(app, &who, std::slice::from_ref(&code.id))
            .await
            .expect("approved");
        let live = reload(app, &code).await;
        let drawn = live
            .cash_code()
            .and_then(|c| c.code.clone())
            .expect("drawn");
        let done = cancel::cancel(app, &who, &[waiting.id.clone(), code.id.clone()])
            .await
            .expect("cancelled");
        assert!(done.iter().all(|d| d.failure == Some(Failure::Cancelled)));
        assert_eq!(balances(app, &funding).await, (OPENING, 0));
        let claim = h2h::inquire(app, CashNetwork::Alfamart, drawn.expose(), "081234567890").await;
        assert!(claim.is_err(), "a cancelled code is dead");
        let twice = cancel::cancel(app, &who, std::slice::from_ref(&waiting.id)).await;
        assert!(matches!(twice, Err(CancelError::NotCancellable(_))));
        after(app, 7200).await;
        assert_eq!(reload(app, &code).await.status, Status::Failed);
        assert_eq!(notices_for(app, &waiting).await, 1);
        ledger_is_clean(app).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_refuses_notice_urls_of_internal_addresses() {
    let db = sqlite_database();
    let sandbox = world(&db).await;
    drop(sandbox);
    let app = App::open(Config {
        database_url: db.url.clone(),
        mode: gerbang_app::config::Mode::Production,
        ..Config::default()
    })
    .await
    .expect("opens");
    for (n, url) in [
        "http://127.0.0.1:9/callback",
        "http://localhost/callback",
        "https://10.0.0.8/callback",
        "http://[::1]/callback",
        "http://169.254.169.254/latest",
    ]
    .into_iter()
    .enumerate()
    {
        let mut req = bank_payout(VA, &format!("I-{n}"), "1234567890", 1_000);
        req.notice_url = Some(url.into());
        let refused = payout::accept(&app, req).await;
        assert!(
            matches!(refused, Err(AcceptError::InternalNoticeUrl)),
            "{url}: {refused:?}"
        );
    }
    let mut req = bank_payout(VA, "I-PUBLIC", "1234567890", 1_000);
    req.notice_url = Some("https://partner.example.com/callback".into());
    payout::accept(&app, req)
        .await
        .expect("a public URL is fine");
    assert_eq!(
        balances(&app, &format!("partner:{VA}")).await,
        (OPENING, 1_000)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_database_takes_no_new_reference_until_confirmed() {
    on_each_backend(|app| async move {
        let app = &app;
        let known = payout::accept(app, bank_payout(VA, "K-1", "1234567890", 1_000))
            .await
            .expect("accepted");
        gerbang_app::restore::mark(app, "2026-12-04T10:00:00Z", "point-in-time recovery")
            .await
            .expect("marked");
        assert_eq!(
            gerbang_app::restore::status(&app.store)
                .await
                .expect("readable"),
            gerbang_app::restore::Restored::Unconfirmed {
                taken_at: "2026-12-04T10:00:00Z".into()
            }
        );
        let new = payout::accept(app, bank_payout(VA, "K-2", "1234567890", 1_000)).await;
        assert!(
            matches!(new, Err(AcceptError::AwaitingRestoreConfirmation)),
            "{new:?}"
        );
        let again = payout::accept(app, bank_payout(VA, "K-1", "1234567890", 1_000))
            .await
            .expect("a known reference answers as before");
        assert_eq!(again.id, known.id);
        assert_eq!(
            balances(app, &format!("partner:{VA}")).await,
            (OPENING, 1_000)
        );
        assert!(gerbang_app::restore::confirm(app, "gap reconciled")
            .await
            .expect("confirmed"));
        assert!(!gerbang_app::restore::confirm(app, "twice")
            .await
            .expect("readable"));
        payout::accept(app, bank_payout(VA, "K-2", "1234567890", 1_000))
            .await
            .expect("accepted once confirmed");
        ledger_is_clean(app).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_bill_cannot_be_paid_before_its_timer_runs() {
    use gerbang_app::payin::{self, ChangeError, NewBill};
    use gerbang_core::payin::{BillStatus, Customer};
    on_each_backend(|app| async move {
        let app = &app;
        let bill = payin::post(
            app,
            NewBill {
                requester: gerbang_app::payout::Requester {
                    face: gerbang_app::payout::Face::Debit,
                    principal: "99999".into(),
                },
                reference: "LATE-1".into(),
                fingerprint: "f".into(),
                channel: "801".into(),
                amount_minor: 1_000_000,
                description: "late".into(),
                customer: Customer {
                    number: "1".into(),
                    name: "Budi".into(),
                    email: gerbang_core::mask::Masked(String::new()),
                    phone: gerbang_core::mask::Masked(String::new()),
                },
                items: vec![],
                expires_at: app.now().plus_seconds(3600),
                notice_url: None,
                request: gerbang_core::Document::of(&serde_json::json!({})),
            },
        )
        .await
        .expect("posted");
        // Past its expiry, with no scheduler round yet.
        app.clock.advance(3601).await.expect("sandbox clock");
        let late = payin::pay(app, &bill.id, "REF-1", 1_000_000).await;
        assert!(
            matches!(late, Err(ChangeError::NotPending("expired"))),
            "{late:?}"
        );
        app.scheduler().fire_due().await.expect("a round");
        let (ended, _) = payin::load(&app.store, &bill.id).await.unwrap().unwrap();
        assert_eq!(ended.status, BillStatus::Expired);
        ledger_is_clean(app).await;
    })
    .await;
}
