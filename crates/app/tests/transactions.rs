//! The transaction list's paging against a real store: a page that its read
//! budget ends early keeps every match it read, down to the record it stopped
//! at, and the next page goes on from there without a gap or a repeat.

use gerbang_app::config::Config;
use gerbang_app::payin::{self, NewBill};
use gerbang_app::transactions::{self, Filter, Kind, SCAN_BUDGET};
use gerbang_app::App;
use gerbang_core::mask::Masked;
use gerbang_core::payin::Customer;
use gerbang_core::payout::{Face, Requester};
use gerbang_core::user::Scope;
use gerbang_core::{Document, Timestamp};
use gerbang_store::testing::{postgres_database, sqlite_database, TestDatabase};

const MERCHANT: &str = "77001";

async fn post(app: &App, n: usize, channel: &str) -> String {
    let bill = payin::post(
        app,
        NewBill {
            requester: Requester {
                face: Face::Debit,
                principal: MERCHANT.into(),
            },
            reference: format!("ORDER-{n:05}"),
            fingerprint: format!("ORDER-{n:05}"),
            channel: channel.into(),
            amount_minor: 1_000_000,
            description: "order".into(),
            customer: Customer {
                number: "C1".into(),
                name: "Budi".into(),
                email: Masked("budi@example.com".into()),
                phone: Masked("081234567890".into()),
            },
            items: Vec::new(),
            expires_at: app.now().plus_seconds(86_400),
            notice_url: None,
            request: Document::of(&serde_json::json!({})),
        },
    )
    .await
    .expect("a bill");
    bill.id
}

async fn sparse_matches_survive_the_budget(db: &TestDatabase) {
    let app = App::open(Config {
        database_url: db.url.clone(),
        ..Config::default()
    })
    .await
    .expect("the application opens");
    // 2,100 bills; the two on channel 402 are the budget's last record read
    // (the SCAN_BUDGET-th newest) and one further back.
    let total = SCAN_BUDGET + 100;
    let mut matches = Vec::new();
    for n in 0..total {
        let newest_rank = total - n;
        let channel = if newest_rank == SCAN_BUDGET || newest_rank == SCAN_BUDGET + 50 {
            "402"
        } else {
            "801"
        };
        let id = post(&app, n, channel).await;
        if channel == "402" {
            matches.push(id);
        }
    }
    matches.reverse();
    let filter = Filter {
        kind: Some(Kind::Bill),
        status: None,
        channel: Some("402".into()),
        reference: None,
        from: Timestamp::from_micros(0),
        until: app.now().plus_seconds(60),
        min_minor: None,
        max_minor: None,
    };
    let scope = Scope::Merchant(MERCHANT.into());
    let first = transactions::search(&app, &scope, &filter, None, 50)
        .await
        .unwrap();
    assert_eq!(first.scanned, SCAN_BUDGET);
    assert!(
        first.searched_back_to.is_some(),
        "the budget ended the page"
    );
    let ids: Vec<&str> = first.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [matches[0].as_str()],
        "the record it stopped at is kept"
    );
    let second = transactions::search(&app, &scope, &filter, first.next.as_ref(), 50)
        .await
        .unwrap();
    let ids: Vec<&str> = second.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [matches[1].as_str()]);
    assert!(second.next.is_none(), "nothing further back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sparse_matches_survive_the_budget_on_each_backend() {
    sparse_matches_survive_the_budget(&sqlite_database()).await;
    if let Some(postgres) = postgres_database().await {
        sparse_matches_survive_the_budget(&postgres).await;
    }
}
