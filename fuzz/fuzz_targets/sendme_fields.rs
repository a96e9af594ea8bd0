//! A SendMe request body (and path values): parsed, then decoded into every
//! typed request the services read.
#![no_main]
use gerbang_protocol::sendme::fields::Fields;
use gerbang_protocol::sendme::request::{
    AccountDetails, Confirmation, Decision, Input, MutasiQuery, NameQuery, StatusQuery, Transfer,
    TransferTo,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first line (if any) is what follows the service's path.
    let (path, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b""[..], data),
    };
    let Ok(f) = Fields::parse(body) else {
        return;
    };
    for name in ["trx_amount", "trx_no", "virtual_account", "callback_url"] {
        let _ = f.get(name);
        if let Ok(v) = f.required(name, 15) {
            // No control character reaches the domain but a tab or a line break.
            assert!(!v
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')));
        }
        let _ = f.digits(name, 20);
    }
    if let Ok(t) = Transfer::parse(&f) {
        assert!(t.amount.minor() > 0);
        if let TransferTo::Account(a) = &t.to {
            let _ = a.beneficiary_virtual_account();
            let _ = a.account();
            let _ = a.name();
            let _ = a.timing();
        }
    }
    let _ = Decision::parse(&f);
    let _ = AccountDetails::parse(&f);
    let _ = Confirmation::parse(&f);
    let input = Input::new(f, &String::from_utf8_lossy(path));
    let _ = NameQuery::parse(&input);
    let _ = StatusQuery::parse(&input);
    if let Ok(m) = MutasiQuery::parse(&input) {
        assert!(m.start <= m.end);
    }
});
