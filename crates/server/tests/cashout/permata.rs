//! Permata ATM (`C013`): the code reaches the partner encrypted with the
//! gateway's private key (PKCS#1 v1.5 block type 1, as `openssl_private_encrypt`
//! does), Base64-encoded. The partner's side is played by the `openssl` command
//! line with the public key the sandbox hands out; the recovered digits are then
//! claimed at `/h2h/v1/permata/payment`.

use crate::client::*;
use crate::common::*;
use crate::fixture::{self, FUNDING_MINOR};
use crate::h2h::{assert_code, H2h};
use crate::support::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::path::PathBuf;

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("gerbang-cashout-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The public key (PEM) that decrypts Permata codes, from the sandbox API.
pub(crate) async fn public_key(api: &Api) -> String {
    let reply = api.get("/sandbox/cashout/public-key").await;
    assert_eq!(
        reply.status, 200,
        "GET /sandbox/cashout/public-key: {}",
        reply.text
    );
    let pem = if reply.content_type.starts_with("application/json") {
        let body = reply.json();
        body["public_key_pem"]
            .as_str()
            .or(body["public_key"].as_str())
            .unwrap_or_else(|| panic!("no public key in {body}"))
            .to_string()
    } else {
        reply.text.clone()
    };
    assert!(
        pem.trim_start().starts_with("-----BEGIN PUBLIC KEY-----"),
        "{pem}"
    );
    pem
}

/// `base64 -d | openssl pkeyutl -verifyrecover -pubin -inkey pub.pem`.
pub(crate) async fn decrypt(pem: &str, code: &str) -> String {
    let ciphertext = STANDARD
        .decode(code)
        .unwrap_or_else(|e| panic!("cashout_code {code:?} is not Base64: {e}"));
    assert_eq!(ciphertext.len(), 256, "an RSA-2048 block: {code}");
    let dir = Scratch::new();
    let key = dir.0.join("gerbang-public.pem");
    let input = dir.0.join("code.bin");
    std::fs::write(&key, pem).expect("key written");
    std::fs::write(&input, &ciphertext).expect("code written");
    let out = tokio::process::Command::new("openssl")
        .args(["pkeyutl", "-verifyrecover", "-pubin", "-inkey"])
        .arg(&key)
        .arg("-in")
        .arg(&input)
        .output()
        .await
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl pkeyutl -verifyrecover failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("digits")
}

async fn permata_codes_are_encrypted_for_the_partner(db: TestDatabase) {
    let s = fixture::start(db).await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    let url = receiver.url();

    // Permata's rules: Rp 100.000 to 1.500.000 in multiples of Rp 100.000.
    for amount in [5_000_000, 15_000_000, 160_000_000] {
        let answer = s
            .client
            .post(TRANSFER, &permata_body("PMT-AMT", amount, &url))
            .await;
        assert_error(&answer, "Invalid Request body");
    }
    // Its callback_url is mandatory.
    let answer = s
        .client
        .post(
            TRANSFER,
            &permata_body("PMT-NOURL", RP_100K, &url).without("callback_url"),
        )
        .await;
    assert_eq!(answer["status"], "9", "{answer}");
    assert_eq!(s.balances().await, (FUNDING_MINOR, FUNDING_MINOR));

    // Rp 200.000 with a description longer than 27 characters.
    let body = permata_body("PMT-9001", 2 * RP_100K, &url)
        .with("trx_desc", "Cash out at a Permata ATM for Budi");
    let answer = s.client.post(TRANSFER, &body).await;
    assert_on_process(&answer);
    assert_eq!(
        answer["trx_desc"], "Cash out at a Permata ATM f",
        "{answer}"
    );
    let encrypted = answer["cashout_code"]
        .as_str()
        .unwrap_or_else(|| panic!("no cashout_code: {answer}"))
        .to_string();
    assert_eq!(encrypted.len(), 344, "Base64 of 256 bytes: {encrypted}");
    assert!(
        answer["trx_expired"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{answer}"
    );
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR, FUNDING_MINOR - 2 * RP_100K)
    );

    // The partner recovers the digits with the public key.
    let pem = public_key(&s.api).await;
    let digits = decrypt(&pem, &encrypted).await;
    let code = assert_code_digits(&serde_json::Value::String(digits.clone()));
    assert_eq!(digits, code, "exactly the 10 digits, nothing around them");

    // inquiry_status hands out the same encrypted code.
    let status = s.client.status("PMT-9001", None).await;
    assert_on_process(&status);
    let again = status["cashout_code"].as_str().expect("cashout_code");
    assert_eq!(decrypt(&pem, again).await, code);

    // The ATM switch claims the plain digits.
    let permata = H2h::sandbox(&s.api, "permata");
    let inquiry = permata.inquiry("PMT-9001-INQ", &code, PHONE).await;
    assert_code(&inquiry, "00");
    assert_eq!(inquiry["amount"], 200_000, "{inquiry}");
    // The encrypted form is no code.
    assert_code(
        &permata.inquiry("PMT-9001-INQ2", &encrypted, PHONE).await,
        "14",
    );
    // Not Alfamart's.
    let alfamart = H2h::sandbox(&s.api, "alfamart");
    assert_code(
        &alfamart
            .payment("ALF-9001-PAY", &code, PHONE, 200_000)
            .await,
        "14",
    );
    let paid = permata.payment("PMT-9001-PAY", &code, PHONE, 200_000).await;
    assert_code(&paid, "00");
    assert_code(&permata.advice("PMT-9001-PAY").await, "00");

    let issued = Issued {
        trx_no: "PMT-9001".into(),
        trx_id: trx_id_of(&answer),
        code: code.clone(),
        amount_minor: 2 * RP_100K,
        answer: answer.clone(),
    };
    let callback = wait_callback(&s, &receiver, "PMT-9001", "2").await;
    assert_callback(&callback, &issued, "2", "C013");
    s.wait_status("PMT-9001", "2").await;
    assert_eq!(
        s.balances().await,
        (FUNDING_MINOR - 2 * RP_100K, FUNDING_MINOR - 2 * RP_100K)
    );
    let (lines, balance) = statement(&s.api, &clearing("C013")).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(balance, "200000.00");

    // `c013` in lower case names Permata too.
    let lower = permata_body("PMT-9002", RP_100K, &url).with("beneficiary_bank_code", "c013");
    let answer = s.client.post(TRANSFER, &lower).await;
    assert_on_process(&answer);
    let code = decrypt(&pem, answer["cashout_code"].as_str().expect("code")).await;
    assert_code(
        &permata.payment("PMT-9002-PAY", &code, PHONE, 100_000).await,
        "00",
    );
    wait_callback(&s, &receiver, "PMT-9002", "2").await;

    assert_ledger(&s.api, 0).await;
    s.stop().await;
}

on_both_backends!(permata_codes_are_encrypted_for_the_partner);
