//! The demo principals a fresh sandbox starts with, so anyone can try every API
//! at once: one Debit merchant, one SendMe partner with a funded balance, and one
//! SNAP partner spending from it. Created once, on the first start; their
//! generated credentials are shown that once. The SNAP partner's private key is
//! published (docs/snap-demo-partner.pem): it exists for the sandbox only.

use crate::provision::{self, Report};
use gerbang_core::Timestamp;
use gerbang_store::{Document, Expect, RecordWrite, SharedStore, Step, StepError};
use std::path::Path;

pub const DEMO_FILE: &str = r#"
# Faspay's published sandbox merchant, so the Debit documentation's samples and
# signatures work unchanged.
[[merchant]]
merchant_id = "99999"
name = "FASPAY STORE"
user_id = "bot99999"
password = "p@ssw0rd"

[[sendme_partner]]
virtual_account = "9920015307"
name = "Demo Partner"
opening_balance = "100000000.00"

# Signs with the sandbox key pair published in docs/snap-demo-partner.pem (token
# requests), and HMAC-SHA512 with its generated client secret (transactions).
[[snap_partner]]
partner_id = "91303"
channel_id = "88001"
source_account = "9920015307"
signature_mode = "symmetric"
public_key = """
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqOs961HrZFxukxZLrUhJ
DdeMJsROrz0HCYB3cGMWtT1DqHR6O7RfmOjk9flAbi2ydz8nzmhkAqLDvFUabMTD
6/EKrgBwGcxk5igDA1SXXy9XKQ+uLZXk+FYbFJrj0gQNAgUqyhj7xac+x+kRHLor
URSTRAu+Rvh9QK+r2N1WzRrMujGXwxZSZtm8dKMMPH1dsgemSF4VE4O1DSBxrqDP
5Gxb6fhpUBG02mCs3nsY/8DkhFmXJN1DGBslHD/pzpu0iUl3G5Jkip120hE+i5BU
vvPI8Rz/CakO08AG1cw4IyIE9C2P7lKacCUVIwpgHxs2E+SPEGkRK9RpkNFBreBe
xwIDAQAB
-----END PUBLIC KEY-----
"""
"#;

/// Creates the demo principals unless this database has had them before.
/// Returns the report when this call created them.
pub async fn ensure(store: &SharedStore, now: Timestamp) -> anyhow::Result<Option<Report>> {
    let marker = Step {
        records: vec![RecordWrite {
            kind: "setting".into(),
            key: "demo.created".into(),
            owner: "sandbox".into(),
            state: "done".into(),
            data: Document::of(&()),
            expect: Expect::Absent,
        }],
        ..Step::default()
    };
    if store.record("setting", "demo.created").await?.is_some() {
        return Ok(None);
    }
    let plan = provision::plan(DEMO_FILE, Path::new("."))?;
    let report = provision::apply(&**store, now, plan).await?;
    match store.commit(now, marker).await {
        Ok(_) | Err(StepError::RecordConflict { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    // Another process starting on the same database at the same moment may have
    // created them; then it shows the credentials, not this one.
    Ok(report.changed_anything().then_some(report))
}
