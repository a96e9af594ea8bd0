//! A SNAP request body: read as every service's typed request and as a bulk
//! cash-in; whatever is accepted holds what its type promises.
#![no_main]
use gerbang_protocol::snap::bulk::BulkSubmit;
use gerbang_protocol::snap::fields::{Body, FieldError};
use gerbang_protocol::snap::request::{
    AccountInquiry, BalanceInquiry, EmoneyTopup, HistoryList, StatusQuery, TransferInterbank,
    VaInquiry, VaPayment,
};
use libfuzzer_sys::fuzz_target;

fn named(e: &FieldError) -> bool {
    match e {
        FieldError::Missing(p) | FieldError::Format(p) | FieldError::AboveLimit(p) => !p.is_empty(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(body) = Body::parse(data) else {
        return;
    };
    match TransferInterbank::read(&body) {
        Ok(t) => {
            assert!(t.amount_minor > 0);
            assert!(t.beneficiary_account.bytes().all(|b| b.is_ascii_digit()));
        }
        Err(e) => assert!(named(&e)),
    }
    match EmoneyTopup::read(&body) {
        Ok(t) => assert!(t.amount_minor > 0 && !t.customer_number.is_empty()),
        Err(e) => assert!(named(&e)),
    }
    match VaPayment::read(&body) {
        Ok(p) => assert!(p.virtual_account.number.bytes().all(|b| b.is_ascii_digit())),
        Err(e) => assert!(named(&e)),
    }
    match HistoryList::read(&body) {
        Ok(h) => assert!(h.from.1 <= h.to.1),
        Err(e) => assert!(named(&e)),
    }
    if let Err(e) = StatusQuery::read(&body) {
        assert!(named(&e));
    }
    if let Err(e) = AccountInquiry::read(&body) {
        assert!(named(&e));
    }
    if let Err(e) = BalanceInquiry::read(&body) {
        assert!(named(&e));
    }
    let _ = VaInquiry::read(&body);
    match BulkSubmit::read(&body, 100) {
        Ok(bulk) => {
            assert!(!bulk.items.is_empty() && bulk.items.len() <= 100);
            let mut seen = std::collections::HashSet::new();
            assert!(bulk.items.iter().all(|i| seen.insert(i.reference.clone())));
        }
        Err(refusal) => {
            let outcome = refusal.outcome();
            assert_eq!(
                outcome.response_code()[..3].parse::<u16>().unwrap(),
                outcome.http_status()
            );
        }
    }
});
