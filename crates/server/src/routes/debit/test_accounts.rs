//! The sandbox's published test accounts (spec §13): what each channel's page
//! asks the customer for, and what it takes. Channels the spec names no account
//! for take the internet-banking simulator's common login, or any phone number.

/// An internet-banking login: what it asks for (`None`: not asked) and the
/// one-time codes it takes.
pub struct BankingLogin {
    pub user: Option<&'static str>,
    pub password: Option<&'static str>,
    pub otps: &'static [&'static str],
}

/// The login of internet-banking channel `code`.
pub fn banking(code: &str) -> BankingLogin {
    let login = |user, password, otps| BankingLogin {
        user,
        password,
        otps,
    };
    match code {
        // BRI e-Pay.
        "401" => login(Some("faspay"), Some("password"), &["101010"]),
        // BCA KlikPay: a password, no user id.
        "405" => login(None, Some("password"), &["101010"]),
        // Danamon Online Banking.
        "701" => login(Some("faspay"), Some("password"), &["10101010"]),
        // Maybank2U.
        "814" => login(Some("faspay"), Some("Faspay123!@#"), &["10101010"]),
        // Octo Clicks (CIMB Clicks): the OTP is the pay code, no password.
        "700" => login(Some("faspay"), None, &["101010"]),
        _ => login(Some("faspay"), Some("password"), &["101010", "10101010"]),
    }
}

impl BankingLogin {
    /// Whether the form's answers log in (a field not asked for is not read).
    pub fn takes(&self, user: Option<&str>, password: Option<&str>, otp: Option<&str>) -> bool {
        let user_ok = self.user.is_none_or(|u| user.map(str::trim) == Some(u));
        let password_ok = self.password.is_none_or(|p| password == Some(p));
        let otp = otp.map(str::trim).unwrap_or("");
        user_ok && password_ok && self.otps.contains(&otp)
    }
}

/// An e-wallet's test account: its phone (`None`: any phone number) and, where
/// the wallet asks for them, its PIN and OTP.
pub struct WalletAccount {
    pub phone: Option<&'static str>,
    pub pin: Option<&'static str>,
    pub otp: Option<&'static str>,
}

/// The test account of e-wallet channel `code`.
pub fn wallet(code: &str) -> WalletAccount {
    let account = |phone, pin, otp| WalletAccount { phone, pin, otp };
    match code {
        "812" => account(Some("081234567890"), None, None),
        // LinkAja and its app link.
        "302" | "716" => account(Some("081234567890"), Some("000000"), Some("000000")),
        "819" => account(Some("0817345545"), Some("123321"), None),
        _ => account(None, None, None),
    }
}

impl WalletAccount {
    /// Whether the form's answers pay: `phone` as [`super::pages::normalise_phone`]
    /// writes it.
    pub fn takes(&self, phone: &str, pin: Option<&str>, otp: Option<&str>) -> bool {
        let phone_ok = match self.phone {
            Some(p) => phone == p,
            None => phone.len() >= 9,
        };
        let pin_ok = self.pin.is_none_or(|p| pin.map(str::trim) == Some(p));
        let otp_ok = self.otp.is_none_or(|o| otp.map(str::trim) == Some(o));
        phone_ok && pin_ok && otp_ok
    }
}

/// The test cards (Visa, MasterCard): one name, expiry and CVV for both.
const CARDS: [&str; 2] = ["4440000009900010", "5123450000000008"];
const CARD_NAME: &str = "faspay";
const CARD_EXPIRY: &str = "01/39";
const CARD_CVV: &str = "100";

/// Whether a card form's answers are a test card: the number with or without
/// spaces, the name whatever its case.
pub fn card_takes(
    number: Option<&str>,
    name: Option<&str>,
    expiry: Option<&str>,
    cvv: Option<&str>,
) -> bool {
    fn given(v: Option<&str>) -> &str {
        v.unwrap_or("").trim()
    }
    let digits: String = given(number)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    CARDS.contains(&digits.as_str())
        && given(name).eq_ignore_ascii_case(CARD_NAME)
        && given(expiry) == CARD_EXPIRY
        && given(cvv) == CARD_CVV
}

/// The online-credit test accounts (Kredivo's): phone, PIN, whether it may
/// only pay in full.
const CREDIT_ACCOUNTS: [(&str, &str, bool); 2] = [
    ("081513114262", "663482", true),
    ("081291891818", "414141", false),
];
/// The one-time code every online-credit test account takes.
pub const CREDIT_OTP: &str = "4567";

/// Whether `phone` (as [`super::pages::normalise_phone`] writes it) and `pin`
/// are an online-credit test account: then whether it may only pay in full.
pub fn credit(phone: &str, pin: Option<&str>) -> Option<bool> {
    CREDIT_ACCOUNTS
        .iter()
        .find(|(p, known, _)| *p == phone && pin.map(str::trim) == Some(*known))
        .map(|(_, _, full_only)| *full_only)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_published_account_logs_in_and_only_it() {
        assert!(banking("814").takes(Some("faspay"), Some("Faspay123!@#"), Some("10101010")));
        assert!(!banking("814").takes(Some("faspay"), Some("password"), Some("10101010")));
        assert!(banking("405").takes(None, Some("password"), Some("101010")));
        assert!(banking("700").takes(Some("faspay"), None, Some("101010")));
        assert!(!banking("700").takes(Some("someone"), None, Some("101010")));
        assert!(banking("401").takes(Some(" faspay "), Some("password"), Some("101010")));
        assert!(!banking("401").takes(Some("faspay"), Some("password"), Some("10101010")));
        assert!(wallet("819").takes("0817345545", Some("123321"), None));
        assert!(!wallet("819").takes("0817345545", Some("000000"), None));
        assert!(wallet("302").takes("081234567890", Some("000000"), Some("000000")));
        assert!(!wallet("812").takes("089999999999", None, None));
        assert!(wallet("713").takes("089999999999", None, None));
        assert!(!wallet("713").takes("0812", None, None));
        let card = |n, name, exp, cvv| card_takes(Some(n), Some(name), Some(exp), Some(cvv));
        assert!(card("4440 0000 0990 0010", "FASPAY", "01/39", "100"));
        assert!(card("5123450000000008", "faspay", "01/39", "100"));
        assert!(!card("5123450000000008", "faspay", "01/39", "999"));
        assert!(!card("4111111111111111", "faspay", "01/39", "100"));
        assert!(!card_takes(
            Some("5123450000000008"),
            Some("faspay"),
            Some("01/39"),
            None
        ));
        assert_eq!(credit("081513114262", Some(" 663482 ")), Some(true));
        assert_eq!(credit("081291891818", Some("414141")), Some(false));
        assert_eq!(credit("081291891818", Some("663482")), None);
    }
}
