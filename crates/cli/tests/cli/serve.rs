//! `gerbang serve`: the zero-configuration first start, provisioning at start, and
//! a graceful stop on SIGTERM.

use crate::common::*;
use crate::support::*;
use gerbang_app::principals::{self, Merchant, SendmePartner, SnapPartner};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `generated WHO FIELD = VALUE` lines as "WHO FIELD" → VALUE.
fn generated(stdout: &str) -> HashMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("generated "))
        .map(|l| {
            let (who, value) = l.split_once(" = ").expect("generated line");
            (who.to_string(), value.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_start_without_arguments_creates_gerbang_db_and_shows_demo_credentials_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut first = gerbang(dir.path());
    first.args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let first = Serving::start(first).await;
    assert_eq!(first.api.base, format!("http://127.0.0.1:{port}"));
    assert!(dir.path().join("gerbang.db").is_file());

    let out = first.stdout();
    assert!(
        out.contains("First start: demo principals created. Their credentials are shown only now:"),
        "{out}"
    );
    let shown = generated(&out);
    // The Debit merchant is Faspay's published sandbox merchant: nothing to show.
    assert!(!shown.contains_key("merchant 99999 password"), "{out}");
    for field in [
        "sendme_partner 9920015307 faspay_key",
        "sendme_partner 9920015307 faspay_secret",
        "sendme_partner 9920015307 app_key",
        "sendme_partner 9920015307 app_secret",
        "sendme_partner 9920015307 client_key",
        "sendme_partner 9920015307 client_secret",
        "sendme_partner 9920015307 iv",
        "snap_partner 91303 client_secret",
    ] {
        assert!(shown.contains_key(field), "{field} not shown:\n{out}");
    }
    let balance = first.api.balance(DEMO_VA).await;
    assert_eq!(balance["balance"], "100000000.00");
    first.stop().await;

    // What was shown is what was stored.
    let store = gerbang_store::connect(&format!(
        "sqlite://{}",
        dir.path().join("gerbang.db").display()
    ))
    .await
    .unwrap();
    let partner: SendmePartner = principals::load(&*store, DEMO_VA).await.unwrap().unwrap();
    let key = |f: &str| shown[&format!("sendme_partner 9920015307 {f}")].as_str();
    assert_eq!(partner.faspay_key, key("faspay_key"));
    assert_eq!(partner.faspay_secret.expose(), key("faspay_secret"));
    assert_eq!(partner.app_key, key("app_key"));
    assert_eq!(partner.app_secret.expose(), key("app_secret"));
    assert_eq!(partner.client_key, key("client_key"));
    assert_eq!(partner.client_secret.expose(), key("client_secret"));
    assert_eq!(partner.iv.expose(), key("iv"));
    let merchant: Merchant = principals::load(&*store, "99999").await.unwrap().unwrap();
    assert_eq!(
        (merchant.user_id.as_str(), merchant.password.expose()),
        ("bot99999", "p@ssw0rd")
    );
    let snap: SnapPartner = principals::load(&*store, "91303").await.unwrap().unwrap();
    assert_eq!(
        snap.client_secret.unwrap().expose(),
        shown["snap_partner 91303 client_secret"]
    );
    drop(store);

    // The second start, listening where GERBANG_LISTEN says, shows nothing again.
    let port = free_port();
    let mut second = gerbang(dir.path());
    second
        .arg("serve")
        .env("GERBANG_LISTEN", format!("127.0.0.1:{port}"));
    let second = Serving::start(second).await;
    assert_eq!(second.api.base, format!("http://127.0.0.1:{port}"));
    let out = second.stdout();
    assert!(!out.contains("First start"), "{out}");
    assert!(!out.contains("generated"), "{out}");
    for secret in shown.values() {
        assert!(
            !out.contains(secret.as_str()),
            "a credential was shown again:\n{out}"
        );
    }
    // The same demo partner, funded once.
    assert_eq!(second.api.balance(DEMO_VA).await["balance"], "100000000.00");
    assert_eq!(second.api.ledger_check().await["entries"], 1);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = gerbang(dir.path());
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    let mut serving = Serving::start(command).await;
    let addr: std::net::SocketAddr = serving
        .api
        .base
        .trim_start_matches("http://")
        .parse()
        .unwrap();

    // A top-up whose body is still arriving when the signal comes.
    let body = serde_json::json!({
        "virtual_account": DEMO_VA,
        "amount": "4321.00",
        "reference": "IN-FLIGHT",
    })
    .to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /sandbox/topup HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{head}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    serving.signal("TERM");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        serving.is_running(),
        "gerbang exited with a request in flight"
    );
    // No new connections are taken meanwhile.
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting connections after SIGTERM"
    );

    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("answer in time")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert_eq!(status_of(&answer), 200, "{answer}");
    let topup: serde_json::Value = serde_json::from_str(body_of(&answer)).unwrap();
    assert_eq!(topup["balance"], "100004321.00", "{answer}");

    let finished = Instant::now();
    let status = serving.wait(Duration::from_secs(5)).await;
    assert_eq!(status.code(), Some(0), "{status}\n{}", serving.stderr());
    assert!(
        finished.elapsed() < Duration::from_secs(3),
        "took {:?} to exit",
        finished.elapsed()
    );

    // The request's effect is stored.
    let store = gerbang_store::connect(&format!(
        "sqlite://{}",
        dir.path().join("gerbang.db").display()
    ))
    .await
    .unwrap();
    let account = store.account("partner:9920015307").await.unwrap().unwrap();
    assert_eq!(account.balance, DEMO_OPENING_MINOR + 432_100);
}

const PARTNER_FILE: &str = "[[sendme_partner]]\nvirtual_account = \"6600000001\"\n\
    faspay_key = \"serve-provisioned-key\"\nopening_balance = \"1000.00\"\n";

async fn serve_applies_a_provisioning_file_before_serving(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("partners.toml");
    std::fs::write(&file, PARTNER_FILE).unwrap();
    let file = file.display().to_string();
    let start = || serve_command(dir.path(), &db.url, None, Some(&file));

    let first = Serving::start(start()).await;
    let out = first.stdout();
    assert!(out.contains("created   sendme_partner 6600000001"), "{out}");
    assert!(
        out.contains("generated sendme_partner 6600000001 faspay_secret = "),
        "{out}"
    );
    assert!(
        !out.contains("generated sendme_partner 6600000001 faspay_key"),
        "{out}"
    );
    let balance = first.api.balance("6600000001").await;
    assert_eq!(balance["balance"], "1000.00");
    first.stop().await;

    let second = Serving::start(start()).await;
    let out = second.stdout();
    assert!(out.contains("unchanged sendme_partner 6600000001"), "{out}");
    assert!(!out.contains("generated"), "{out}");
    assert_eq!(second.api.balance("6600000001").await["balance"], "1000.00");
    let check = second.api.ledger_check().await;
    assert_eq!(check["clean"], true);
    // The demo's opening balance and this partner's, once each.
    assert_eq!(check["entries"], 2, "{check}");
    second.stop().await;

    // A bad file stops the start, naming the line and the field.
    std::fs::write(
        dir.path().join("partners.toml"),
        "[[sendme_partner]]\nvirtual_account = \"6600000001\"\nrequire_approval = \"yes\"\n",
    )
    .unwrap();
    let ran = tokio::time::timeout(Duration::from_secs(30), start().output())
        .await
        .expect("exits")
        .unwrap();
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(!ran.status.success(), "{stderr}");
    assert!(
        stderr.contains("line 3") && stderr.contains("require_approval"),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&ran.stdout).contains("gerbang listening"),
        "served despite a bad provisioning file"
    );
}

on_both_backends!(serve_applies_a_provisioning_file_before_serving);
