//! Bank codes and names: Bank Indonesia's three-digit clearing codes.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bank {
    pub code: &'static str,
    pub name: &'static str,
}

pub const BANKS: &[Bank] = &[
    Bank {
        code: "002",
        name: "BANK BRI",
    },
    Bank {
        code: "008",
        name: "BANK MANDIRI",
    },
    Bank {
        code: "009",
        name: "BANK BNI",
    },
    Bank {
        code: "011",
        name: "BANK DANAMON",
    },
    Bank {
        code: "013",
        name: "BANK PERMATA",
    },
    Bank {
        code: "014",
        name: "BANK BCA",
    },
    Bank {
        code: "016",
        name: "BANK MAYBANK INDONESIA",
    },
    Bank {
        code: "019",
        name: "BANK PANIN",
    },
    Bank {
        code: "022",
        name: "BANK CIMB NIAGA",
    },
    Bank {
        code: "028",
        name: "BANK OCBC NISP",
    },
    Bank {
        code: "147",
        name: "BANK MUAMALAT",
    },
    Bank {
        code: "200",
        name: "BANK BTN",
    },
    Bank {
        code: "213",
        name: "BANK BTPN",
    },
    Bank {
        code: "426",
        name: "BANK MEGA",
    },
    Bank {
        code: "441",
        name: "BANK KB BUKOPIN",
    },
    Bank {
        code: "451",
        name: "BANK SYARIAH INDONESIA",
    },
    Bank {
        code: "490",
        name: "BANK NEO COMMERCE",
    },
    Bank {
        code: "501",
        name: "BANK DIGITAL BCA",
    },
    Bank {
        code: "535",
        name: "BANK SEABANK INDONESIA",
    },
    Bank {
        code: "542",
        name: "BANK JAGO",
    },
];

/// The bank with this code; codes may come zero-stripped ("8") or padded ("0008").
pub fn by_code(code: &str) -> Option<&'static Bank> {
    let code = code.trim();
    if code.is_empty() || code.len() > 10 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u32 = code.parse().ok()?;
    BANKS
        .iter()
        .find(|b| b.code.parse::<u32>().ok() == Some(number))
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_banks_by_code_in_any_padding() {
        assert_eq!(super::by_code("014").unwrap().name, "BANK BCA");
        assert_eq!(super::by_code("8").unwrap().name, "BANK MANDIRI");
        assert_eq!(super::by_code("0009").unwrap().code, "009");
        assert!(super::by_code("999").is_none());
        assert!(super::by_code("alf").is_none());
    }
}
