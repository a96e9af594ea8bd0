//! Debian's Chromium, headless, driven over WebDriver by its chromedriver, for the
//! suites that test pages in a real browser.
//!
//! Without chromedriver a test says so and passes; with
//! `GERBANG_REQUIRE_CHROMIUM=1` (as CI sets it) a missing browser is a failure.

#![allow(dead_code)]

use crate::common::eventually;
use fantoccini::{ClientBuilder, Locator};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;

const REQUIRE_VAR: &str = "GERBANG_REQUIRE_CHROMIUM";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A running chromedriver; killed when dropped.
pub struct Driver {
    _child: tokio::process::Child,
    url: String,
}

pub async fn driver() -> Option<Driver> {
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") {
            panic!("{REQUIRE_VAR}=1 but {CHROMEDRIVER} or {CHROMIUM} is missing (apt-get install chromium chromium-driver)");
        }
        eprintln!(
            "browser test SKIPPED: no {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let status = format!("{url}/status");
    eventually(
        "chromedriver to listen",
        Duration::from_secs(20),
        || async {
            reqwest::get(&status)
                .await
                .ok()
                .filter(|r| r.status().is_success())
        },
    )
    .await;
    Some(Driver { _child: child, url })
}

/// A phone's window (412×915), in Indonesian.
pub const PHONE_ID: (&str, &str) = ("412,915", "id-ID");
/// A desktop's window (1280×860), in English.
pub const DESKTOP_EN: (&str, &str) = ("1280,860", "en-US");

/// A new browser session with `(window size, language)`.
pub async fn browser(driver: &Driver, (window, lang): (&str, &str)) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", format!("--window-size={window}"), format!("--lang={lang}")],
        }),
    );
    // chromedriver listens on plain HTTP on this machine: no TLS.
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

/// Longest wait for an element to appear (a click's page may still be loading).
const ELEMENT_WAIT: Duration = Duration::from_secs(15);

/// The element `at` finds, once the page has it.
async fn element(client: &fantoccini::Client, at: Locator<'_>) -> fantoccini::elements::Element {
    let what = format!("{at:?}");
    client
        .wait()
        .at_most(ELEMENT_WAIT)
        .for_element(at)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Clicks the element `at` finds.
pub async fn click(client: &fantoccini::Client, at: Locator<'_>) {
    let what = format!("{at:?}");
    element(client, at)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {what}: {e}"));
}

/// Types `text` into the element `css` finds.
pub async fn type_into(client: &fantoccini::Client, css: &str, text: &str) {
    element(client, Locator::Css(css))
        .await
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// The text of the element `css` finds.
pub async fn text_of(client: &fantoccini::Client, css: &str) -> String {
    element(client, Locator::Css(css))
        .await
        .text()
        .await
        .unwrap_or_else(|e| panic!("the text of {css}: {e}"))
}

/// A screenshot of the page, kept as `target/{folder}/{name}.png`.
pub async fn shot(client: &fantoccini::Client, folder: &str, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name}");
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target")
        .join(folder);
    std::fs::create_dir_all(&dir).expect("the artefact folder");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("saved");
}
