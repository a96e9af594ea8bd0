//! `gerbang provision FILE`: exact credentials, generated values shown once,
//! idempotent re-runs, and bad files that change nothing.

use crate::common::*;
use crate::support::*;
use gerbang_app::principals::{self, Merchant, SendmePartner, SnapPartner};
use gerbang_app::provision::OPENING_BALANCE;
use gerbang_core::ledger::codes;
use gerbang_store::SharedStore;
use std::path::Path;

const PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n\
4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n\
-----END PUBLIC KEY-----";

const FILE: &str = r#"
[[merchant]]
merchant_id = "31021"
name = "Toko Sinar"
user_id = "bot31021"
notification_url = "https://toko.example/notify"

[[sendme_partner]]
virtual_account = "8800112233"
name = "Koperasi Maju"
faspay_key = "3f1c9a7e-0d1b-4d3c-9a51-5b7f0e2c1a11"
faspay_secret = "b8a2d0c4-8d7e-4f61-a0a5-1e9e2c3d4f50"
app_key = "app-key-8800112233"
app_secret = "app-secret-8800112233"
client_key = "client-key-8800112233"
client_secret = "client-secret-8800112233"
iv = "gerbangIV123456"
opening_balance = "2500000.00"
require_approval = true

[[snap_partner]]
partner_id = "SNAP-KM"
channel_id = "95231"
public_key_file = "keys/snap-km.pem"
source_account = "8800112233"
notification_url = "https://koperasi.example/snap"

[[snap_partner]]
partner_id = "SNAP-HMAC"
source_account = "8800112233"
"#;

const VA: &str = "8800112233";
const OPENING_MINOR: i64 = 250_000_000;

/// A folder with the provisioning file and its key file.
fn files(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/snap-km.pem"), format!("{PEM}\n")).unwrap();
    std::fs::write(dir.path().join("gerbang-provision.toml"), text).unwrap();
    dir
}

fn file_in(dir: &Path) -> String {
    dir.join("gerbang-provision.toml").display().to_string()
}

/// Every record a provisioning run may write, with its version.
async fn snapshot(store: &SharedStore) -> Vec<(String, String, i64, serde_json::Value)> {
    let mut out = Vec::new();
    for kind in [
        principals::MERCHANT,
        principals::SENDME_PARTNER,
        principals::SNAP_PARTNER,
        principals::SENDME_KEY_INDEX,
        OPENING_BALANCE,
    ] {
        for r in store.records(kind, None, None, 1000).await.unwrap() {
            out.push((r.kind, r.key, r.version, r.data.value()));
        }
    }
    out
}

/// `generated WHO FIELD = VALUE` lines as (WHO FIELD, VALUE).
fn generated(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("generated "))
        .map(|l| {
            let (who, value) = l.split_once(" = ").expect("generated line");
            (who.to_string(), value.to_string())
        })
        .collect()
}

async fn provision_sets_exactly_the_given_credentials_once(db: TestDatabase) {
    let dir = files(FILE);
    let file = file_in(dir.path());
    let first = run(dir.path(), &["provision", &file, "--database-url", &db.url]).await;
    first.expect_code(0);
    for line in [
        "created   merchant 31021",
        "created   sendme_partner 8800112233",
        "created   snap_partner SNAP-KM",
        "created   snap_partner SNAP-HMAC",
    ] {
        assert!(
            first.stdout.lines().any(|l| l == line),
            "{line:?} missing:\n{}",
            first.stdout
        );
    }
    assert!(!first.stdout.contains("nothing changed"));
    // Only what the file left out was generated: the merchant's password and the
    // HMAC partner's secret.
    let made = generated(&first.stdout);
    let names: Vec<&str> = made.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "merchant 31021 password",
            "snap_partner SNAP-HMAC client_secret"
        ],
        "{}",
        first.stdout
    );

    let store = gerbang_store::connect(&db.url).await.unwrap();
    let partner: SendmePartner = principals::load(&*store, VA).await.unwrap().unwrap();
    assert_eq!(partner.name, "Koperasi Maju");
    assert_eq!(partner.faspay_key, "3f1c9a7e-0d1b-4d3c-9a51-5b7f0e2c1a11");
    assert_eq!(
        partner.faspay_secret.expose(),
        "b8a2d0c4-8d7e-4f61-a0a5-1e9e2c3d4f50"
    );
    assert_eq!(partner.app_key, "app-key-8800112233");
    assert_eq!(partner.app_secret.expose(), "app-secret-8800112233");
    assert_eq!(partner.client_key, "client-key-8800112233");
    assert_eq!(partner.client_secret.expose(), "client-secret-8800112233");
    assert_eq!(partner.iv.expose(), "gerbangIV123456");
    assert!(partner.require_approval);
    // The faspay-key header finds the partner.
    let by_key = principals::sendme_partner_by_key(&*store, &partner.faspay_key)
        .await
        .unwrap()
        .expect("indexed by faspay_key");
    assert_eq!(by_key, partner);

    let merchant: Merchant = principals::load(&*store, "31021").await.unwrap().unwrap();
    assert_eq!(merchant.name, "Toko Sinar");
    assert_eq!(merchant.user_id, "bot31021");
    assert_eq!(merchant.password.expose(), made[0].1);
    assert_eq!(
        merchant.notification_url.as_deref(),
        Some("https://toko.example/notify")
    );
    assert_eq!(merchant.return_url, None);

    let snap: SnapPartner = principals::load(&*store, "SNAP-KM").await.unwrap().unwrap();
    assert_eq!(snap.channel_id, "95231");
    assert_eq!(snap.public_key_pem.as_deref(), Some(PEM));
    assert_eq!(snap.client_secret, None);
    assert_eq!(snap.source_account, VA);
    let hmac: SnapPartner = principals::load(&*store, "SNAP-HMAC")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        hmac.client_secret.as_ref().map(|s| s.expose()),
        Some(made[1].1.as_str())
    );
    assert_eq!(hmac.public_key_pem, None);

    // The opening balance is posted, from the operator's funding.
    let account = store
        .account(&codes::partner_balance(VA))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((account.balance, account.pending), (OPENING_MINOR, 0));
    let funding = store
        .account(codes::OPERATOR_FUNDING)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(funding.balance, -OPENING_MINOR);
    assert!(store.account("merchant:31021").await.unwrap().is_some());
    let ledger = store.check_ledger().await.unwrap();
    assert!(ledger.is_clean(), "{:?}", ledger.problems);
    assert_eq!(ledger.entries, 1);
    let records = snapshot(&store).await;
    assert!(records.iter().all(|r| r.2 == 1), "{records:?}");

    // The same file again: nothing changes, nothing is shown again.
    let again = run(dir.path(), &["provision", &file, "--database-url", &db.url]).await;
    again.expect_code(0);
    assert!(
        again.stdout.lines().any(|l| l == "nothing changed"),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains("unchanged sendme_partner 8800112233"));
    assert!(generated(&again.stdout).is_empty(), "{}", again.stdout);
    assert!(
        !again.stdout.contains(&made[0].1),
        "a secret was printed again"
    );
    assert_eq!(snapshot(&store).await, records);
    let ledger = store.check_ledger().await.unwrap();
    assert_eq!((ledger.entries, ledger.postings), (1, 2));
    let account = store
        .account(&codes::partner_balance(VA))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.balance, OPENING_MINOR);

    // A changed name updates that partner only; its credentials, the merchant's
    // generated password and the posted opening balance stay.
    let changed = FILE
        .replace("Koperasi Maju", "Koperasi Maju Bersama")
        .replace("\"2500000.00\"", "\"9000000.00\"");
    std::fs::write(dir.path().join("gerbang-provision.toml"), changed).unwrap();
    let update = run(dir.path(), &["provision", &file, "--database-url", &db.url]).await;
    update.expect_code(0);
    assert!(
        update
            .stdout
            .contains("updated   sendme_partner 8800112233"),
        "{}",
        update.stdout
    );
    assert!(
        update.stdout.contains("unchanged merchant 31021"),
        "{}",
        update.stdout
    );
    assert!(
        update.stdout.contains("warning   sendme_partner 8800112233: the opening balance was already posted as 2500000.00"),
        "{}",
        update.stdout
    );
    assert!(generated(&update.stdout).is_empty());
    let after = snapshot(&store).await;
    for (before, now) in records.iter().zip(&after) {
        let expected_version = if (before.0.as_str(), before.1.as_str()) == ("sendme_partner", VA) {
            2
        } else {
            1
        };
        assert_eq!(
            (&now.0, &now.1, now.2),
            (&before.0, &before.1, expected_version)
        );
    }
    let partner: SendmePartner = principals::load(&*store, VA).await.unwrap().unwrap();
    assert_eq!(partner.name, "Koperasi Maju Bersama");
    assert_eq!(partner.faspay_key, "3f1c9a7e-0d1b-4d3c-9a51-5b7f0e2c1a11");
    let merchant: Merchant = principals::load(&*store, "31021").await.unwrap().unwrap();
    assert_eq!(merchant.password.expose(), made[0].1);
    let account = store
        .account(&codes::partner_balance(VA))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.balance, OPENING_MINOR);
    assert_eq!(store.check_ledger().await.unwrap().entries, 1);
}

/// Runs a bad file and checks the exit, the message and that nothing was written.
async fn refused(db: &TestDatabase, text: &str, line: usize, field: &str) {
    let dir = files(text);
    let store = gerbang_store::connect(&db.url).await.unwrap();
    let before = snapshot(&store).await;
    let entries = store.check_ledger().await.unwrap().entries;

    let ran = run(
        dir.path(),
        &["provision", &file_in(dir.path()), "--database-url", &db.url],
    )
    .await;
    ran.expect_code(1);
    let wanted = format!("line {line}");
    assert!(
        ran.stderr.contains(&wanted) && ran.stderr.contains(field),
        "expected {wanted:?} and {field:?} in:\n{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("nothing was changed"), "{}", ran.stderr);
    assert!(ran.stdout.is_empty(), "{}", ran.stdout);

    assert_eq!(snapshot(&store).await, before);
    assert_eq!(store.check_ledger().await.unwrap().entries, entries);
}

async fn malformed_provisioning_files_change_nothing(db: TestDatabase) {
    // A good merchant before the bad line must not be written either.
    let bad_value = "[[merchant]]\nmerchant_id = \"40001\"\n\n[[sendme_partner]]\n\
        virtual_account = \"7700000001\"\nopening_balance = \"12.345\"\n";
    refused(&db, bad_value, 6, "opening_balance").await;

    let unknown_key = "[[merchant]]\nmerchant_id = \"40001\"\nname = \"Toko\"\npasword = \"x\"\n";
    refused(&db, unknown_key, 4, "pasword").await;

    let bad_url = "[[sendme_partner]]\nvirtual_account = \"7700000001\"\n\n[[merchant]]\n\
        merchant_id = \"40001\"\nnotification_url = \"ftp://toko.example\"\n";
    refused(&db, bad_url, 6, "notification_url").await;

    let bad_digits = "[[sendme_partner]]\nvirtual_account = \"77-00\"\n";
    refused(&db, bad_digits, 2, "virtual_account").await;

    // Checked against what is stored: a snap partner whose source account no
    // partner has.
    let unknown_source = "[[sendme_partner]]\nvirtual_account = \"7700000001\"\n\
        opening_balance = \"10.00\"\n\n[[snap_partner]]\npartner_id = \"S1\"\n\
        source_account = \"7700000002\"\n";
    refused(&db, unknown_source, 7, "source_account").await;

    let store = gerbang_store::connect(&db.url).await.unwrap();
    assert!(snapshot(&store).await.is_empty());
    assert!(store.account("partner:7700000001").await.unwrap().is_none());

    // On a provisioned database, a bad file leaves every record as it was.
    let dir = files(FILE);
    run(
        dir.path(),
        &["provision", &file_in(dir.path()), "--database-url", &db.url],
    )
    .await
    .expect_code(0);
    let bad_update = FILE.replace(
        "require_approval = true",
        "require_approval = true\nopening_balance_extra = \"1.00\"",
    );
    let line = bad_update
        .lines()
        .position(|l| l.starts_with("opening_balance_extra"))
        .unwrap()
        + 1;
    let bad_update = bad_update.replace("Koperasi Maju", "Renamed");
    refused(&db, &bad_update, line, "opening_balance_extra").await;
    let partner: SendmePartner = principals::load(&*store, VA).await.unwrap().unwrap();
    assert_eq!(partner.name, "Koperasi Maju");
}

on_both_backends!(
    provision_sets_exactly_the_given_credentials_once,
    malformed_provisioning_files_change_nothing,
);
