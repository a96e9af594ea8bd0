//! `gerbang notifications list|show|resend` against the database of a running
//! gateway.

use crate::common::*;
use crate::support::*;
use serde_json::json;
use std::time::Duration;

async fn cli_resend_delivers_a_failed_notification_again(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&db);
    config.notifier.max_attempts = 1;
    let gw = Gateway::start(config).await;
    let receiver = Receiver::start(Behaviour::Answer(500)).await;
    let id = gw
        .test_notification(&receiver.url(), &json!({ "resend": "me" }))
        .await;
    gw.wait_notification(id, "giving up", |n| n["status"] == "failed")
        .await;

    let listed = run(
        dir.path(),
        &[
            "notifications",
            "list",
            "--status",
            "failed",
            "--database-url",
            &db.url,
        ],
    )
    .await;
    listed.expect_code(0);
    let line = listed
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("{id} not listed:\n{}", listed.stdout));
    assert!(
        line.contains("failed") && line.contains("attempts=1"),
        "{line}"
    );
    assert!(line.contains(&receiver.url()), "{line}");

    receiver.set(Behaviour::Answer(200));
    let id_text = id.to_string();
    let resend = || async {
        run(
            dir.path(),
            &[
                "notifications",
                "resend",
                &id_text,
                "--database-url",
                &db.url,
            ],
        )
        .await
    };
    let resent = resend().await;
    resent.expect_code(0);
    assert!(
        resent
            .stdout
            .contains(&format!("notification {id} is pending again")),
        "{}",
        resent.stdout
    );
    // The running gateway picks it up on its next poll.
    let n = gw
        .wait_notification(id, "delivery after a CLI resend", |n| {
            n["status"] == "delivered"
        })
        .await;
    assert_eq!(n["attempts"], 2);
    assert_eq!(receiver.wait_for(2, Duration::from_secs(5)).await.len(), 2);

    // Resending a delivered one sends it once more.
    resend().await.expect_code(0);
    let got = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert!(got.iter().all(|r| r.json() == json!({ "resend": "me" })));
    gw.wait_notification(id, "the third attempt recorded", |n| n["attempts"] == 3)
        .await;

    let shown = run(
        dir.path(),
        &["notifications", "show", &id_text, "--database-url", &db.url],
    )
    .await;
    shown.expect_code(0);
    assert!(
        shown.stdout.contains("status:    delivered"),
        "{}",
        shown.stdout
    );
    let attempts: Vec<&str> = shown
        .stdout
        .lines()
        .filter(|l| l.starts_with("attempt "))
        .collect();
    assert_eq!(attempts.len(), 3, "{}", shown.stdout);
    assert!(attempts[0].contains("status 500"), "{}", attempts[0]);
    assert!(attempts[1].contains("status 200"), "{}", attempts[1]);
    assert!(attempts[2].contains("status 200"), "{}", attempts[2]);

    // A receiver's answer cannot reach the operator's terminal as escape sequences.
    receiver.set(Behaviour::Body(
        200,
        "\u{1b}[2J\u{1b}]0;title\u{7}\u{0} {\"ok\":1}",
    ));
    resend().await.expect_code(0);
    gw.wait_notification(id, "the fourth attempt recorded", |n| n["attempts"] == 4)
        .await;
    let shown = run(
        dir.path(),
        &["notifications", "show", &id_text, "--database-url", &db.url],
    )
    .await;
    assert!(
        !shown.stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{:?}",
        shown.stdout
    );
    assert!(shown.stdout.contains("\\u{1b}[2J"), "{}", shown.stdout);

    // Unknown ids are refused.
    let missing = run(
        dir.path(),
        &[
            "notifications",
            "resend",
            "999999",
            "--database-url",
            &db.url,
        ],
    )
    .await;
    missing.expect_code(1);
    assert!(
        missing.stderr.contains("no notification 999999"),
        "{}",
        missing.stderr
    );
    run(
        dir.path(),
        &["notifications", "show", "999999", "--database-url", &db.url],
    )
    .await
    .expect_code(1);
    gw.stop().await;
}

on_both_backends!(cli_resend_delivers_a_failed_notification_again);
