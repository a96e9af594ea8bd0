//! A Debit body (JSON or XML, §1.2/§1.4), read leniently and decoded as every
//! operation decodes it; what is read back in again after an answer is written
//! reads the same.
#![no_main]
use gerbang_protocol::debit::answer::Answer;
use gerbang_protocol::debit::message;
use gerbang_protocol::debit::request::{
    Cancel, ChannelInquiry, PlanInquiry, PostData, Refund, StatusInquiry,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok((syntax, m)) = message::read(body) else {
        return;
    };
    let _ = ChannelInquiry::decode(&m);
    if let Ok(p) = PostData::decode(&m) {
        assert!(p.bill_total.minor > 0);
        assert!(!p.items.is_empty());
    }
    let _ = StatusInquiry::decode(&m);
    let _ = Cancel::decode(&m);
    let _ = Refund::decode(&m);
    let _ = PlanInquiry::decode(&m);
    let _ = m.fingerprint(&PostData::makes_the_bill);
    // Every scalar survives an answer written in the same syntax.
    let mut answer = Answer::default();
    for (k, v) in &m.scalars {
        if !k.is_empty()
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !k.starts_with(|c: char| c.is_ascii_digit())
        {
            answer = answer.text(k.to_string(), v.as_ref());
        }
    }
    let (_, rendered) = answer.render(syntax);
    let (_, back) = message::read(rendered.as_bytes()).expect("an answer reads back");
    for (k, v) in &back.scalars {
        assert_eq!(m.scalars.get(k).map(|s| s.trim()), Some(v.trim()), "{k}");
    }
});
