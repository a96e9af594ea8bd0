//! Bytes no client should send, sent to every route: multibyte and non-UTF-8
//! paths, header values that are not UTF-8, bodies that are not UTF-8 or not JSON.
//! Each gets the documented error of its route's protocol — never a 5xx, never a
//! dropped connection — and the gateway keeps serving.

use crate::common::{body_of, raw_exchange, test_config, Gateway};
use gerbang_store::testing::TestDatabase;
use serde_json::Value;

/// Every route besides the sandbox's core calls (`production::SANDBOX_CALLS`),
/// with a path that reaches its handler.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/sandbox/banks/accounts"),
    ("POST", "/sandbox/banks/next-outcome"),
    ("POST", "/sandbox/cashout/faults"),
    ("GET", "/sandbox/cashout/public-key"),
    ("POST", "/sandbox/cashout/alfamart/claim"),
    ("GET", "/sandbox/cashout/sessions/1"),
    ("POST", "/h2h/v1/alfamart/inquiry"),
    ("POST", "/h2h/v1/indomaret/payment"),
    ("POST", "/h2h/v1/permata/reversal"),
    ("POST", "/h2h/v1/alfamart/advice"),
    ("GET", "/account/api/tokens"),
    ("POST", "/account/api/register"),
    ("POST", "/account/api/register/confirm"),
    ("POST", "/account/api/confirm"),
    ("POST", "/account/api/transfer"),
    ("POST", "/account/api/approve"),
    ("POST", "/account/api/reject"),
    ("GET", "/account/api/balance_inquiry/9920015307"),
    ("GET", "/account/api/inquiry_name/9920015307/x"),
    (
        "GET",
        "/account/api/mutasi/9920015307/2024-01-01/2024-01-02",
    ),
    ("GET", "/account/api/inquiry_status/9920015307/T1"),
];

fn request(method: &str, path: &[u8], headers: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(method.as_bytes());
    r.push(b' ');
    r.extend_from_slice(path);
    r.extend_from_slice(b" HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n");
    for h in headers {
        r.extend_from_slice(h);
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    r.extend_from_slice(body);
    r
}

/// What the route's protocol documents for a request it cannot use.
fn documented(path: &str, status: u16, answer: &str) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("a server error: {answer}"));
    }
    // A route that has no use for the junk may answer as usual.
    if (200..300).contains(&status) && !path.starts_with("/account/api/") {
        return Ok(());
    }
    let body = body_of(answer);
    // A request line the HTTP layer cannot read is refused before any route.
    if status == 400 && body.is_empty() {
        return Ok(());
    }
    let json: Value =
        serde_json::from_str(body).map_err(|e| format!("not a JSON answer ({e}): {answer}"))?;
    // A path that is no route gets the gateway's own "no such route".
    if status == 404 && json["error"].is_string() {
        return Ok(());
    }
    if path.starts_with("/account/api/") && status == 200 {
        // SendMe answers HTTP 200 with its envelope; these requests are unauthenticated.
        if json["status"] != "9" || !json["response_code"].is_string() {
            return Err(format!("not a SendMe error: {json}"));
        }
    }
    if path.starts_with("/h2h/") && json["response_code"].as_str().is_none() {
        return Err(format!("no host-to-host response code: {json}"));
    }
    Ok(())
}

async fn every_route_answers_hostile_bytes_with_its_documented_error(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let addr = gw.addr();
    let bad_bodies: [&[u8]; 4] = [
        b"\xff\xfe\xfd",
        b"{\"trx_amount\": \"\xc3\x28\"}",
        "{\"trx_no\": \"é😀\", \"virtual_account\": \"9920015307\"}".as_bytes(),
        b"not json",
    ];
    let bad_headers: [&[u8]; 4] = [
        b"faspay-key: \xff\xfe",
        b"faspay-signature: \xc3\x28\xa0",
        b"x-gerbang-key: \xe2\x82",
        b"faspay-timestamp: 2024-01-01 10:00:00\xff",
    ];
    let mut failures = Vec::new();
    for (method, path) in ROUTES.iter().chain(crate::production::SANDBOX_CALLS) {
        let mut paths: Vec<Vec<u8>> = vec![path.as_bytes().to_vec()];
        paths.push(format!("{path}/%C3%A9/%FF").into_bytes());
        paths.push([path.as_bytes(), "/é/ü".as_bytes()].concat());
        paths.push([path.as_bytes(), b"/\xff\xfe"].concat());
        for p in &paths {
            let label = String::from_utf8_lossy(p).into_owned();
            for body in bad_bodies {
                let (status, answer) = raw_exchange(addr, &request(method, p, &[], body)).await;
                if let Err(e) = documented(path, status, &answer) {
                    failures.push(format!("{method} {label} body {body:?}: {e}"));
                }
            }
            for header in bad_headers {
                let (status, answer) =
                    raw_exchange(addr, &request(method, p, &[header], b"{}")).await;
                if let Err(e) = documented(path, status, &answer) {
                    failures.push(format!("{method} {label} header {header:?}: {e}"));
                }
            }
        }
    }
    // Paths that are almost a route, in bytes.
    for p in [
        "/account/apié/x".as_bytes(),
        b"/account/api\xff/transfer",
        "/Account/API/TRANSFER/é".as_bytes(),
        "/h2h/v1/alfamärt/payment".as_bytes(),
        "/sandbox/cashout/é/claim".as_bytes(),
    ] {
        let (status, answer) = raw_exchange(addr, &request("POST", p, &[], b"{}")).await;
        if status >= 500 {
            failures.push(format!("POST {}: {answer}", String::from_utf8_lossy(p)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures, the first: {}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let (status, answer) = raw_exchange(addr, &request("GET", b"/healthz", &[], b"")).await;
    assert_eq!(status, 200, "still serving: {answer}");
    let check = gw.api.ledger_check().await;
    assert_eq!(check["clean"], true, "{check}");
    gw.stop().await;
}

on_both_backends!(every_route_answers_hostile_bytes_with_its_documented_error);
