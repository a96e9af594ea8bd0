//! Transactions over HTTP: one list of bills and payouts searched by every
//! filter and paged without gaps or repeats; what each scope sees, and another
//! merchant's bill by URL; the detail page's timeline, journal entries and
//! notifications; Resend, by role and with a forged form.

use crate::common::*;
use crate::support::*;
use gerbang_core::payout::Face;
use gerbang_core::user::{Role, Scope};
use std::collections::BTreeSet;
use std::time::Duration;

on_both_backends!(
    transactions_are_searched_and_paged,
    a_transaction_shows_its_steps_and_its_notifications_are_resent,
    a_bulk_cash_in_is_listed_found_by_an_items_reference_and_shows_its_items,
);

/// The ids of the transactions a list page shows, in its order.
fn ids(page: &Page) -> Vec<String> {
    assert_eq!(page.status, 200, "{}", page.body);
    let (_, table) = page
        .body
        .split_once("data-testid=\"transactions\"")
        .expect("the list");
    table
        .split("href=\"/dashboard/transactions/")
        .skip(1)
        .map(|link| {
            let path = link.split('"').next().unwrap();
            path.split('/').nth(1).unwrap().to_string()
        })
        .collect()
}

/// The ids a search for `query` shows.
async fn only(b: &mut Browser, query: &str) -> Vec<String> {
    ids(&b.get(&format!("/dashboard/transactions?{query}")).await)
}

/// The address of the page after `page`, if it links one.
fn older(page: &Page) -> Option<String> {
    let (_, rest) = page.body.split_once("rel=\"next\" href=\"")?;
    Some(rest.split('"').next().unwrap().replace("&amp;", "&"))
}

async fn transactions_are_searched_and_paged(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let ops = user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let shop = user(&gw, "mira", Scope::Merchant("99999".into()), Role::Viewer).await;
    let partner = user(&gw, "pat", Scope::Partner(DEMO_VA.into()), Role::Viewer).await;

    let own = bill(&gw, "99999", "ORDER-1").await;
    let mut others = Vec::new();
    for i in 0..60 {
        others.push(bill(&gw, "77777", &format!("SHOP-{i:03}")).await);
    }
    let payout = waiting(&gw, Face::SendmeV1, DEMO_VA, "PAY-1").await;

    // The operator pages through all 62, newest first, each once.
    let mut o = Browser::signed_in(&gw, &ops).await;
    let first = o.get("/dashboard/transactions").await;
    let mut seen = ids(&first);
    assert_eq!(seen.len(), 50);
    assert_eq!(seen[0], payout.id, "the newest first");
    let next = older(&first).expect("an older page");
    let second = o.get(&next).await;
    seen.extend(ids(&second));
    assert_eq!(older(&second), None, "{}", second.body);
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), distinct.len()), (62, 62));
    assert_eq!(seen.last(), Some(&own), "the oldest last");

    // Each filter.
    assert_eq!(only(&mut o, "reference=ORDER-1").await, [own.as_str()]);
    let by_id = format!("reference={}", payout.id);
    assert_eq!(only(&mut o, &by_id).await, [payout.id.as_str()]);
    assert_eq!(
        only(&mut o, "status=waiting_approval").await,
        [payout.id.as_str()]
    );
    assert_eq!(only(&mut o, "kind=payout").await, [payout.id.as_str()]);
    assert_eq!(only(&mut o, "channel=014").await, [payout.id.as_str()]);
    assert_eq!(only(&mut o, "max=15000").await, [payout.id.as_str()]);
    assert_eq!(
        only(&mut o, "min=15000.01&kind=bill&reference=ORDER-1")
            .await
            .len(),
        1
    );
    assert!(only(&mut o, "min=50000.01").await.is_empty());
    assert!(only(&mut o, "from=2020-01-01&to=2020-01-31")
        .await
        .is_empty());

    // What is not a search is refused, saying why.
    for (q, says) in [
        ("min=abc", "is not an amount"),
        ("status=lost", "is not a status"),
        ("kind=loan", "is not a kind"),
        ("from=01%2F12%2F2026", "is not a date"),
        ("before=nonsense", "page link is broken"),
    ] {
        let page = o.get(&format!("/dashboard/transactions?{q}")).await;
        assert_eq!(page.status, 400, "{q}");
        assert!(page.body.contains(says), "{q}: {}", page.body);
    }

    // A merchant sees its own bills; another's, by URL, is not there.
    let mut m = Browser::signed_in(&gw, &shop).await;
    let mine = m.get("/dashboard/transactions").await;
    assert_eq!(ids(&mine), [own.as_str()]);
    assert!(ids(&m.get("/dashboard/transactions?reference=SHOP-001").await).is_empty());
    for path in [
        format!("/dashboard/transactions/bill/{}", others[0]),
        format!("/dashboard/transactions/payout/{}", payout.id),
        "/dashboard/transactions/bill/..%2F..%2Fetc".to_string(),
        "/dashboard/transactions/loan/1".to_string(),
    ] {
        let page = m.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(!page.body.contains("SHOP-"), "{path}");
    }
    // A partner sees the payouts its balance funds, and no bill.
    let mut p = Browser::signed_in(&gw, &partner).await;
    assert_eq!(
        ids(&p.get("/dashboard/transactions").await),
        [payout.id.as_str()]
    );

    // Forty days on, the default range (the last 30 days) holds none of them; a
    // reference, sent with the form's empty dates, still finds its bill.
    let api = Api::new(format!("http://{}", gw.addr()));
    api.advance_clock(40 * 86_400).await;
    let mut o = Browser::signed_in(&gw, &ops).await;
    assert!(only(&mut o, "").await.is_empty());
    assert_eq!(
        only(&mut o, "reference=ORDER-1&from=&to=&kind=&status=").await,
        [own.as_str()]
    );
}

async fn a_transaction_shows_its_steps_and_its_notifications_are_resent(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let api = Api::new(format!("http://{}", gw.addr()));
    let receiver = Receiver::start(Behaviour::Body(200, r#"{"response_code":"00"}"#)).await;
    let ops = user(&gw, "omar", Scope::Operator, Role::Maker).await;
    let viewer = user(&gw, "mira", Scope::Merchant("99999".into()), Role::Viewer).await;

    let id = bill_to(&gw, "99999", "ORDER-9", Some(receiver.url())).await;
    api.post_json(
        &format!("/sandbox/debit/bills/{id}/pay"),
        &serde_json::json!({}),
    )
    .await
    .expect(200);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let path = format!("/dashboard/transactions/bill/{id}");

    // Wait for the attempt to be recorded, then read the page.
    let mut o = Browser::signed_in(&gw, &ops).await;
    let mut page = o.get(&path).await;
    for _ in 0..100 {
        if page.body.contains("HTTP 200") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        page = o.get(&path).await;
    }
    assert_eq!(page.status, 200);
    assert!(page.body.contains(">paid<"), "{}", page.body);
    let (_, timeline) = page.body.split_once("data-testid=\"timeline\"").unwrap();
    let timeline = timeline.split("</ol>").next().unwrap();
    for step in [
        "Posted through debit",
        "Paid, channel reference",
        "Journal entry",
        "attempt 1: HTTP 200",
    ] {
        assert!(timeline.contains(step), "{step} in {timeline}");
    }
    let (_, entries) = page.body.split_once("data-testid=\"entries\"").unwrap();
    assert!(entries.contains("merchant:99999"), "{entries}");

    // Resend: a viewer may not; a forged form is refused; a maker's goes out again.
    let notification = page.hidden("notification");
    let csrf = page.hidden("csrf");
    let resend = format!("{path}/resend");
    let mut v = Browser::signed_in(&gw, &viewer).await;
    let seen = v.get(&path).await;
    assert_eq!(seen.status, 200);
    assert!(
        !seen.body.contains("Resend"),
        "a viewer sees no Resend button"
    );
    let viewer_csrf = seen.hidden("csrf");
    let refused = v
        .post(
            &resend,
            &[("csrf", &viewer_csrf), ("notification", &notification)],
        )
        .await;
    assert_eq!(refused.status, 403);
    let forged = o
        .post_from(
            &resend,
            &[("csrf", &csrf), ("notification", &notification)],
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(forged.status, 403);
    let wrong = o
        .post(&resend, &[("csrf", &csrf), ("notification", "999999")])
        .await;
    assert_eq!(wrong.status, 409, "{}", wrong.body);
    assert_eq!(receiver.received().len(), 1, "nothing resent yet");

    let done = o
        .post(&resend, &[("csrf", &csrf), ("notification", &notification)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    receiver.wait_for(2, Duration::from_secs(10)).await;
    let audit = audit_rows(&mut o).await;
    assert!(
        audit.iter().any(|(who, action, detail)| who == "omar"
            && action == "notification_resent"
            && detail.contains(&id)),
        "{audit:?}"
    );
}

async fn a_bulk_cash_in_is_listed_found_by_an_items_reference_and_shows_its_items(
    db: TestDatabase,
) {
    use gerbang_app::cashin::{self, NewBulk};
    use gerbang_core::cashin::CashInItem;
    use gerbang_core::mask::Masked;
    use gerbang_core::payout::Requester;
    let gw = Gateway::start(test_config(&db)).await;
    let partner = user(&gw, "pat", Scope::Partner(DEMO_VA.into()), Role::Viewer).await;
    let shop = user(&gw, "mira", Scope::Merchant("99999".into()), Role::Viewer).await;
    let item = |n: usize| CashInItem {
        reference: format!("ITEM-{n:04}"),
        account: Masked(format!("0812345{n:05}")),
        wallet: "ovo".into(),
        name: "SITI".into(),
        amount_minor: 1_000_000,
        attempts: 0,
        outcome: None,
    };
    // Two parts: the second holds item 1,000 and on.
    let accepted = cashin::accept(
        gw.app(),
        NewBulk {
            requester: Requester {
                face: Face::Snap,
                principal: "91303".into(),
            },
            funding_account: format!("partner:{DEMO_VA}"),
            reference: Some("BULK-1".into()),
            fingerprint: "BULK-1".into(),
            items: (0..1_002).map(item).collect(),
            notice_url: None,
            request: gerbang_core::Document::of(&serde_json::json!({})),
            claim: None,
        },
    )
    .await
    .expect("a bulk");
    let id = accepted.bulk.id;

    let mut p = Browser::signed_in(&gw, &partner).await;
    assert_eq!(ids(&p.get("/dashboard/transactions").await), [id.as_str()]);
    assert_eq!(only(&mut p, "reference=BULK-1").await, [id.as_str()]);
    assert_eq!(only(&mut p, "reference=ITEM-1001").await, [id.as_str()]);
    let page = p.get(&format!("/dashboard/transactions/bulk/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (_, items) = page.body.split_once("data-testid=\"bulk-items\"").unwrap();
    assert!(
        items.contains("ITEM-0000") && !items.contains("ITEM-1001"),
        "part 1"
    );
    let page = p
        .get(&format!("/dashboard/transactions/bulk/{id}?part=1"))
        .await;
    let (_, items) = page.body.split_once("data-testid=\"bulk-items\"").unwrap();
    assert!(
        items.contains("ITEM-1001") && !items.contains("ITEM-0000"),
        "part 2"
    );
    assert!(page.body.contains("Items, part 2 of 2"), "{}", page.body);

    // Not the merchant's.
    let mut m = Browser::signed_in(&gw, &shop).await;
    assert!(only(&mut m, "reference=ITEM-1001").await.is_empty());
    let page = m.get(&format!("/dashboard/transactions/bulk/{id}")).await;
    assert_eq!(page.status, 404);
}
