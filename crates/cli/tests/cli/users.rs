//! `gerbang users`: dashboard users added (a made password and a checker's TOTP
//! secret printed once; a password from stdin), listed, disabled and given a new
//! TOTP secret, on the database directly; refusals change nothing; no password is
//! stored or printed in the clear.

use crate::common::*;
use crate::support::*;
use std::path::Path;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

on_both_backends!(users_are_added_listed_disabled_and_reset);

async fn users(dir: &Path, db: &TestDatabase, args: &[&str]) -> Ran {
    let mut all = vec!["users"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--database-url", &db.url]);
    run(dir, &all).await
}

/// `gerbang users add …` with `password` on stdin.
async fn add_with_password(dir: &Path, db: &TestDatabase, args: &[&str], password: &str) -> Ran {
    let mut child = gerbang(dir)
        .args(["users", "add"])
        .args(args)
        .args(["--password-stdin", "--database-url", &db.url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gerbang runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{password}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    Ran {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn line_after<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in\n{text}"))
        .trim()
}

async fn users_are_added_listed_disabled_and_reset(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    provision_with(
        dir,
        &db.url,
        "[[sendme_partner]]\nvirtual_account = \"9920015307\"\nname = \"Demo\"\n",
    )
    .await;

    let added = users(dir, &db, &["add", "alice", "--role", "checker"]).await;
    added.expect_code(0);
    let made = line_after(&added.stdout, "password (shown once):").to_string();
    assert!(made.len() >= 20, "{made}");
    let secret = line_after(
        &added.stdout,
        "TOTP secret (shown once; put it in an authenticator app):",
    )
    .to_string();
    assert!(
        secret.len() >= 26
            && secret
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    assert!(added
        .stdout
        .contains("otpauth://totp/gerbang:alice?secret="));

    let piped = add_with_password(
        dir,
        &db,
        &["bob", "--role", "viewer", "--partner", "9920015307"],
        "a very long password",
    )
    .await;
    piped.expect_code(0);
    assert!(
        !piped.stdout.contains("password (shown once)") && !piped.stdout.contains("TOTP"),
        "{}",
        piped.stdout
    );

    // Refusals: each says why, and nothing is stored.
    for (args, why) in [
        (
            vec!["add", "carol", "--role", "viewer", "--merchant", "12345"],
            "there is no merchant 12345",
        ),
        (
            vec!["add", "alice", "--role", "admin"],
            "a user alice already exists",
        ),
        (vec!["add", "dave", "--role", "root"], "no role"),
        (vec!["add", "a b", "--role", "viewer"], "a username is"),
        (vec!["disable", "nobody"], "no user nobody"),
    ] {
        let refused = users(dir, &db, &args).await;
        assert_ne!(refused.status.code(), Some(0), "{args:?}");
        assert!(refused.stderr.contains(why), "{args:?}: {}", refused.stderr);
    }
    let short = add_with_password(dir, &db, &["erin", "--role", "viewer"], "short").await;
    short.expect_code(1);
    assert!(
        short.stderr.contains("12 to 256 characters"),
        "{}",
        short.stderr
    );

    let listed = users(dir, &db, &["list"]).await;
    listed.expect_code(0);
    let rows: Vec<Vec<&str>> = listed
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{}", listed.stdout);
    assert_eq!(rows[0], ["alice", "operator", "checker", "active", "yes"]);
    assert_eq!(
        rows[1],
        ["bob", "partner", "9920015307", "viewer", "active", "no"]
    );

    users(dir, &db, &["disable", "bob"]).await.expect_code(0);
    let reset = users(dir, &db, &["reset-totp", "alice"]).await;
    reset.expect_code(0);
    let new_secret = line_after(
        &reset.stdout,
        "TOTP secret (shown once; put it in an authenticator app):",
    );
    assert_ne!(new_secret, secret);
    let listed = users(dir, &db, &["list"]).await;
    assert!(
        listed
            .stdout
            .lines()
            .any(|l| l.starts_with("bob") && l.contains("disabled")),
        "{}",
        listed.stdout
    );

    // Neither password is kept or shown as it was given.
    let app = gerbang_app::App::open(gerbang_app::config::Config {
        database_url: db.url.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let stored = app
        .store
        .records("dashboard.user", None, None, 10)
        .await
        .unwrap();
    for r in &stored {
        let text = r.data.as_str();
        assert!(text.contains("$argon2id$"), "{text}");
        assert!(!text.contains(&made) && !text.contains("a very long password"));
    }
    assert!(!listed.stdout.contains(&made));
}
