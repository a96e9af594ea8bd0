//! The approval queue over HTTP: a partner's checker sees the payouts its balance
//! funds that wait for approval (whichever face asked), decides them with a fresh
//! TOTP code, and the decision is audited; a code is not taken twice, viewers and
//! makers do not decide, another partner's checker cannot name them.

use crate::common::*;
use crate::support::*;
use gerbang_app::payout;
use gerbang_core::payout::{Face, Status};
use gerbang_core::user::{Role, Scope};

on_both_backends!(a_checker_decides_waiting_payouts_with_a_code);

/// Posts a decision on `ids` from the approvals page of `b`.
async fn decide(b: &mut Browser, ids: &[&str], code: &str, decision: &str) -> Page {
    let csrf = b.get("/dashboard/approvals").await.hidden("csrf");
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("code", code),
        ("decision", decision),
    ];
    fields.extend(ids.iter().map(|id| ("id", *id)));
    b.post("/dashboard/approvals", &fields).await
}

async fn status_of(gw: &Gateway, id: &str) -> Status {
    payout::load(&gw.app().store, id)
        .await
        .unwrap()
        .expect("the payout")
        .0
        .status
}

async fn a_checker_decides_waiting_payouts_with_a_code(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let sendme = waiting(&gw, Face::SendmeV1, DEMO_VA, "PAYROLL-1").await;
    let snap = waiting(&gw, Face::Snap, "91303", "PAYROLL-2").await;
    let checker = user(&gw, "chen", Scope::Partner(DEMO_VA.into()), Role::Checker).await;
    let second = user(&gw, "dian", Scope::Partner(DEMO_VA.into()), Role::Checker).await;
    let maker = user(&gw, "mika", Scope::Partner(DEMO_VA.into()), Role::Maker).await;
    let ops = user(&gw, "olga", Scope::Operator, Role::Viewer).await;
    let shop = user(&gw, "mira", Scope::Merchant("99999".into()), Role::Viewer).await;

    // Who sees what waits.
    let mut c = Browser::signed_in(&gw, &checker).await;
    let page = c.get("/dashboard/approvals").await;
    assert_eq!(page.status, 200);
    for d in [&sendme, &snap] {
        assert!(
            page.body.contains(&format!("value=\"{}\"", d.id)),
            "{} selectable",
            d.id
        );
    }
    assert!(page.body.contains("Rp 15.000"));
    let mut o = Browser::signed_in(&gw, &ops).await;
    let seen = o.get("/dashboard/approvals").await;
    assert!(
        seen.body.contains(&sendme.id) && !seen.body.contains("type=\"checkbox\""),
        "read only"
    );
    let mut m = Browser::signed_in(&gw, &shop).await;
    assert!(m
        .get("/dashboard/approvals")
        .await
        .body
        .contains("Nothing is waiting"));

    // A maker does not decide, even with a form of its own session.
    let mut k = Browser::signed_in(&gw, &maker).await;
    let refused = decide(&mut k, &[sendme.id.as_str()], "123456", "approve").await;
    assert_eq!(refused.status, 403);

    // A forged form changes nothing.
    let forged = c
        .post(
            "/dashboard/approvals",
            &[
                ("csrf", "guess"),
                ("id", &sendme.id),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(status_of(&gw, &sendme.id).await, Status::WaitingApproval);

    // The checker approves the SendMe payout with its code.
    // The code of the next 30-second step: the sign-in took this step's.
    let code = totp_at(checker.totp.as_ref().unwrap(), unix_now() + 30);
    let done = decide(&mut c, &[sendme.id.as_str()], &code, "approve").await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/dashboard/approvals?decided=1")),
        "{}",
        done.body
    );
    assert_eq!(status_of(&gw, &sendme.id).await, Status::Processing);
    // The same code again decides nothing.
    let again = decide(&mut c, &[snap.id.as_str()], &code, "reject").await;
    assert_eq!(again.status, 401);
    assert_eq!(status_of(&gw, &snap.id).await, Status::WaitingApproval);

    // A decision naming one payout no longer waiting decides none of them.
    let third = user(&gw, "dewi", Scope::Partner(DEMO_VA.into()), Role::Checker).await;
    let mut t = Browser::signed_in(&gw, &third).await;
    let code_t = totp_at(third.totp.as_ref().unwrap(), unix_now() + 30);
    let mixed = decide(
        &mut t,
        &[snap.id.as_str(), sendme.id.as_str()],
        &code_t,
        "reject",
    )
    .await;
    assert_eq!(mixed.status, 409, "{}", mixed.body);
    assert_eq!(status_of(&gw, &snap.id).await, Status::WaitingApproval);

    // Another partner's checker cannot name it.
    let plan = gerbang_app::provision::plan(
        "[[sendme_partner]]\nvirtual_account = \"9920015308\"\nname = \"Other\"\n",
        std::path::Path::new("."),
    )
    .expect("a plan");
    gerbang_app::provision::apply(&*gw.app().store, gw.app().now(), plan)
        .await
        .expect("provisioned");
    let other = user(
        &gw,
        "olaf",
        Scope::Partner("9920015308".into()),
        Role::Checker,
    )
    .await;
    let mut x = Browser::signed_in(&gw, &other).await;
    let code_x = totp_at(other.totp.as_ref().unwrap(), unix_now() + 30);
    let foreign = decide(&mut x, &[snap.id.as_str()], &code_x, "reject").await;
    assert_eq!(foreign.status, 409, "{}", foreign.body);
    assert_eq!(status_of(&gw, &snap.id).await, Status::WaitingApproval);

    // A second checker rejects the SNAP payout: its funds are released.
    let mut s = Browser::signed_in(&gw, &second).await;
    let code = totp_at(second.totp.as_ref().unwrap(), unix_now() + 30);
    let rejected = decide(&mut s, &[snap.id.as_str()], &code, "reject").await;
    assert_eq!(rejected.status, 303, "{}", rejected.body);
    assert_eq!(status_of(&gw, &snap.id).await, Status::Failed);
    assert!(s
        .get("/dashboard/approvals")
        .await
        .body
        .contains("Nothing is waiting"));

    let rows = audit_rows(&mut s).await;
    let decisions: Vec<(String, String, String)> = rows
        .into_iter()
        .filter(|r| r.1.starts_with("payouts_"))
        .collect();
    assert_eq!(decisions.len(), 2, "{decisions:?}");
    assert_eq!(decisions[0].0, "dian");
    assert_eq!(decisions[0].1, "payouts_rejected");
    assert!(decisions[0].2.contains("PAYROLL-2"));
    assert_eq!(decisions[1].1, "payouts_approved");
    assert!(decisions[1].2.contains(&sendme.id));
    let check = gw.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;
}
