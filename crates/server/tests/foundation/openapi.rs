//! The OpenAPI document at `/openapi.json` is the one committed as
//! `docs/openapi.json`: a change to the API's annotations shows up as a change to
//! that file in review (`GERBANG_UPDATE_OPENAPI=1` rewrites it). Every route of
//! the sandbox is in it, and the reference page shows each operation.

use crate::common::*;

on_both_backends!(the_openapi_document_is_the_committed_one);

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

async fn the_openapi_document_is_the_committed_one(db: TestDatabase) {
    let gw = Gateway::start(test_config(&db)).await;
    let api = Api::new(format!("http://{}", gw.addr()));
    let reply = api.get("/openapi.json").await;
    assert_eq!(reply.status, 200);
    let served = reply.text.clone();
    if std::env::var("GERBANG_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(SNAPSHOT, format!("{served}\n")).expect("the snapshot is written");
    }
    let committed = std::fs::read_to_string(SNAPSHOT).expect("docs/openapi.json");
    assert!(
        committed.trim_end() == served.trim_end(),
        "/openapi.json differs from docs/openapi.json; if the change is meant, \
         run the test with GERBANG_UPDATE_OPENAPI=1 and commit the file"
    );
    let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/sandbox/topup",
        "/sandbox/clock/advance",
        "/sandbox/notifications/{id}/resend",
        "/sandbox/banks/next-outcome",
        "/sandbox/cashout/{network}/{action}",
        "/sandbox/debit/bills/{trx_id}/pay",
        "/readyz",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let topup = &doc["components"]["schemas"]["TopupRequest"];
    assert_eq!(
        topup["required"],
        serde_json::json!(["virtual_account", "amount"])
    );

    let page = api.get("/api-reference").await;
    assert_eq!(page.status, 200);
    for text in [
        "POST /sandbox/topup",
        "TopupRequest",
        "CashCodeClaim",
        "403 in production",
    ] {
        assert!(page.text.contains(text), "{text} on the reference page");
    }
}
