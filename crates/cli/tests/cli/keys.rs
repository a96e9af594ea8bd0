//! `gerbang keys`: the public key of the pair that encrypts Permata cash-out codes,
//! made once and kept in the database, replaced by `--rotate`; openssl reads it and
//! recovers a code with it.

use crate::common::*;
use crate::support::*;
use gerbang_app::keys::{KeyUse, StoredKeys};
use std::path::Path;
use std::process::Stdio;

/// `gerbang keys ARGS…` on `db`; stdout is exactly one public key PEM.
async fn keys(dir: &Path, db: &TestDatabase, args: &[&str]) -> String {
    let mut all = vec!["keys", "--database-url", &db.url];
    all.extend_from_slice(args);
    let ran = run(dir, &all).await;
    ran.expect_code(0);
    assert!(
        ran.stdout.starts_with("-----BEGIN PUBLIC KEY-----\n")
            && ran.stdout.ends_with("-----END PUBLIC KEY-----\n")
            && ran.stdout.matches("-----BEGIN").count() == 1,
        "stdout is not one public key PEM:\n{}\nstderr:\n{}",
        ran.stdout,
        ran.stderr
    );
    assert!(!ran.stderr.trim().is_empty(), "a message on stderr");
    ran.stdout
}

/// Runs openssl with `args`, returning stdout; panics with its stderr on failure.
fn openssl(args: &[&str], input: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(input) = input {
        stdin.write_all(input).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// What the partner does: Base64-decode the code, recover it with the public key.
fn recover(pem_file: &Path, code: &str) -> String {
    let raw = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(code)
            .unwrap()
    };
    let out = openssl(
        &[
            "pkeyutl",
            "-verifyrecover",
            "-pubin",
            "-inkey",
            pem_file.to_str().unwrap(),
        ],
        Some(&raw),
    );
    String::from_utf8(out).unwrap()
}

async fn keys_prints_one_stored_public_key_until_rotated(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let first = keys(dir.path(), &db, &[]).await;
    assert_eq!(keys(dir.path(), &db, &[]).await, first, "the same pair");

    let file = dir.path().join("gerbang-public.pem");
    std::fs::write(&file, &first).unwrap();
    openssl(
        &["pkey", "-pubin", "-in", file.to_str().unwrap(), "-noout"],
        None,
    );
    let text = String::from_utf8(openssl(
        &[
            "pkey",
            "-pubin",
            "-in",
            file.to_str().unwrap(),
            "-noout",
            "-text",
        ],
        None,
    ))
    .unwrap();
    assert!(text.contains("2048 bit"), "{text}");

    // A code the gateway encrypts with the stored pair comes back with the printed key.
    let store = gerbang_store::testing::open(&db).await;
    let now = gerbang_core::Timestamp::from_unix_seconds(1_700_000_000);
    let code = StoredKeys::new(KeyUse::CashoutCodes)
        .current(&store, now)
        .await
        .unwrap()
        .encrypt_code("4820193375");
    assert_eq!(code.len(), 344);
    assert_eq!(recover(&file, &code), "4820193375");

    let rotated = keys(dir.path(), &db, &["--rotate"]).await;
    assert_ne!(rotated, first, "a new pair");
    assert_eq!(
        keys(dir.path(), &db, &[]).await,
        rotated,
        "the new pair is kept"
    );
    let rotated_file = dir.path().join("rotated.pem");
    std::fs::write(&rotated_file, &rotated).unwrap();
    let code = StoredKeys::new(KeyUse::CashoutCodes)
        .current(&store, now)
        .await
        .unwrap()
        .encrypt_code("4820193375");
    assert_eq!(recover(&rotated_file, &code), "4820193375");
}

on_both_backends!(keys_prints_one_stored_public_key_until_rotated);
