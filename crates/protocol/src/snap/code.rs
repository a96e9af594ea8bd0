//! SNAP's response codes (spec §5): `responseCode` = the HTTP status (3 digits) +
//! the service code (2) + the case code (2), and the HTTP status of the answer is
//! always its first three digits. `responseMessage` is the case's message from the
//! standard's table, with what it concerns in brackets (`Invalid Field Format
//! [amount.value]`, `Unauthorized. [Signature]`).

/// A SNAP service: the two digits in the middle of its response codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Service(u8);

/// The services, the path each answers under `/v1.0` (§5.2).
const SERVICES: &[(u8, &str)] = &[
    (73, "/access-token/b2b"),
    (74, "/access-token/b2b2c"),
    (11, "/balance-inquiry"),
    (12, "/transaction-history-list"),
    (13, "/transaction-history-detail"),
    (15, "/account-inquiry-internal"),
    (16, "/account-inquiry-external"),
    (17, "/transfer-intrabank"),
    (18, "/transfer-interbank"),
    (24, "/transfer-va/inquiry"),
    (25, "/transfer-va/payment"),
    (26, "/transfer-va/status"),
    (27, "/transfer-va/create-va"),
    (32, "/transfer-va/inquiry-intrabank"),
    (33, "/transfer-va/payment-intrabank"),
    (36, "/transfer/status"),
    (37, "/emoney/account-inquiry"),
    (38, "/emoney/topup"),
    (39, "/emoney/topup-status"),
    (40, "/emoney/bulk-cashin-payment"),
    (41, "/emoney/bulk-cashin-notify"),
    // gerbang's own: a bulk cash-in's progress, answered with the bulk's code.
    (40, "/emoney/bulk-cashin-status"),
    (47, "/qr/qr-mpm-generate"),
    (51, "/qr/qr-mpm-query"),
    (52, "/qr/qr-mpm-notify"),
    (54, "/debit/payment-host-to-host"),
    (55, "/debit/status"),
    (56, "/debit/notify"),
];

impl Service {
    pub const B2B_TOKEN: Service = Service(73);
    pub const BALANCE_INQUIRY: Service = Service(11);
    pub const HISTORY_LIST: Service = Service(12);
    pub const ACCOUNT_INQUIRY_EXTERNAL: Service = Service(16);
    pub const TRANSFER_INTERBANK: Service = Service(18);
    pub const TRANSFER_VA_INQUIRY_INTRABANK: Service = Service(32);
    pub const TRANSFER_VA_PAYMENT_INTRABANK: Service = Service(33);
    pub const TRANSFER_STATUS: Service = Service(36);
    pub const EMONEY_TOPUP: Service = Service(38);
    pub const EMONEY_TOPUP_STATUS: Service = Service(39);
    pub const BULK_CASH_IN: Service = Service(40);
    pub const BULK_CASH_IN_NOTIFY: Service = Service(41);

    /// The service a request path names: the part from its version segment on
    /// (`/account/v1.0/transfer-interbank` is service 18).
    pub fn for_path(path: &str) -> Option<Service> {
        let path = path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        let at = segments
            .iter()
            .position(|s| super::signature::is_version(s))?;
        let rest = format!("/{}", segments[at + 1..].join("/"));
        SERVICES
            .iter()
            .find(|(_, p)| *p == rest)
            .map(|(code, _)| Service(*code))
    }

    pub fn code(self) -> u8 {
        self.0
    }
}

/// A case of the standard's table (§5.1): an HTTP status, a case code, a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case {
    pub http: u16,
    pub code: u8,
    pub message: &'static str,
}

macro_rules! cases {
    ($($name:ident = $http:literal, $code:literal, $message:literal;)*) => {
        impl Case {
            $(pub const $name: Case = Case { http: $http, code: $code, message: $message };)*
        }
        /// Every case of the table.
        pub const CASES: &[Case] = &[$(Case::$name),*];
    };
}

cases! {
    SUCCESSFUL = 200, 0, "Successful";
    IN_PROGRESS = 202, 0, "Request In Progress";
    BAD_REQUEST = 400, 0, "Bad Request";
    INVALID_FIELD_FORMAT = 400, 1, "Invalid Field Format";
    INVALID_MANDATORY_FIELD = 400, 2, "Invalid Mandatory Field";
    UNAUTHORIZED = 401, 0, "Unauthorized.";
    INVALID_TOKEN = 401, 1, "Invalid Token (B2B)";
    INVALID_CUSTOMER_TOKEN = 401, 2, "Invalid Customer Token";
    TOKEN_NOT_FOUND = 401, 3, "Token Not Found (B2B)";
    CUSTOMER_TOKEN_NOT_FOUND = 401, 4, "Customer Token Not Found";
    TRANSACTION_EXPIRED = 403, 0, "Transaction Expired";
    FEATURE_NOT_ALLOWED = 403, 1, "Feature Not Allowed";
    EXCEEDS_AMOUNT_LIMIT = 403, 2, "Exceeds Transaction Amount Limit";
    SUSPECTED_FRAUD = 403, 3, "Suspected Fraud";
    ACTIVITY_COUNT_LIMIT = 403, 4, "Activity Count Limit Exceeded";
    DO_NOT_HONOR = 403, 5, "Do Not Honor";
    NOT_ALLOWED_AT_THIS_TIME = 403, 6, "Feature Not Allowed At This Time.";
    INSUFFICIENT_FUNDS = 403, 14, "Insufficient Funds";
    NOT_PERMITTED = 403, 15, "Transaction Not Permitted.";
    INACTIVE_ACCOUNT = 403, 18, "Inactive Card/Account/Customer";
    MERCHANT_LIMIT = 403, 20, "Merchant Limit Exceed";
    ACCOUNT_LIMIT = 403, 23, "Account Limit Exceed";
    INVALID_STATUS = 404, 0, "Invalid Transaction Status";
    NOT_FOUND = 404, 1, "Transaction Not Found";
    INVALID_ROUTING = 404, 2, "Invalid Routing";
    BANK_NOT_SUPPORTED = 404, 3, "Bank Not Supported By Switch";
    CANCELLED = 404, 4, "Transaction Cancelled";
    INVALID_MERCHANT = 404, 8, "Invalid Merchant";
    INVALID_ACCOUNT = 404, 11, "Invalid Card/Account/Customer";
    INVALID_BILL = 404, 12, "Invalid Bill/Virtual Account";
    INVALID_AMOUNT = 404, 13, "Invalid Amount";
    PAID_BILL = 404, 14, "Paid Bill";
    PARTNER_NOT_FOUND = 404, 16, "Partner Not Found";
    INCONSISTENT = 404, 18, "Inconsistent Request";
    EXPIRED_BILL = 404, 19, "Invalid Bill/Virtual Account";
    NOT_SUPPORTED = 405, 0, "Requested Function Is Not Supported";
    NOT_ALLOWED = 405, 1, "Requested Opearation Is Not Allowed";
    CONFLICT = 409, 0, "Conflict";
    DUPLICATE_REFERENCE = 409, 1, "Duplicate partnerReferenceNo";
    TOO_MANY_REQUESTS = 429, 0, "Too Many Requests";
    GENERAL_ERROR = 500, 0, "General Error";
    INTERNAL_ERROR = 500, 1, "Internal Server Error";
    EXTERNAL_ERROR = 500, 2, "External Server Error";
    TIMEOUT = 504, 0, "Timeout";
}

/// What a SNAP answer says of a request: a case of a service, and what it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub case: Case,
    pub service: Service,
    /// A field path (`amount.value`), a header (`X-TIMESTAMP`) or a reason
    /// (`Signature`), shown in brackets after the message.
    pub detail: Option<String>,
}

impl Outcome {
    pub fn new(service: Service, case: Case) -> Outcome {
        Outcome {
            case,
            service,
            detail: None,
        }
    }

    pub fn about(mut self, detail: impl Into<String>) -> Outcome {
        self.detail = Some(detail.into());
        self
    }

    /// The HTTP status of the answer: the response code's first three digits.
    pub fn http_status(&self) -> u16 {
        self.case.http
    }

    /// `responseCode`, seven digits.
    pub fn response_code(&self) -> String {
        format!(
            "{:03}{:02}{:02}",
            self.case.http, self.service.0, self.case.code
        )
    }

    /// `responseMessage`.
    pub fn response_message(&self) -> String {
        match &self.detail {
            Some(detail) => format!("{} [{detail}]", self.case.message),
            None => self.case.message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_status_the_service_and_the_case() {
        let token = Outcome::new(Service::B2B_TOKEN, Case::SUCCESSFUL);
        assert_eq!(
            (token.response_code(), token.http_status()),
            ("2007300".into(), 200)
        );
        let signature = Outcome::new(Service::B2B_TOKEN, Case::UNAUTHORIZED).about("Signature");
        assert_eq!(signature.response_code(), "4017300");
        assert_eq!(signature.response_message(), "Unauthorized. [Signature]");
        let field = Outcome::new(Service::TRANSFER_INTERBANK, Case::INVALID_FIELD_FORMAT)
            .about("amount.value");
        assert_eq!(field.response_code(), "4001801");
        assert_eq!(
            field.response_message(),
            "Invalid Field Format [amount.value]"
        );
        assert_eq!(
            Outcome::new(Service::BULK_CASH_IN, Case::IN_PROGRESS).response_code(),
            "2024000"
        );
        // Every case of every service: the status is the code's first three digits.
        for &(code, _) in SERVICES {
            for case in CASES {
                let o = Outcome::new(Service(code), *case);
                let text = o.response_code();
                assert_eq!(text.len(), 7, "{text}");
                assert_eq!(text[..3].parse::<u16>().unwrap(), o.http_status());
            }
        }
    }

    #[test]
    fn paths_name_their_service() {
        for (path, code) in [
            ("/v1.0/access-token/b2b", Some(73)),
            ("/account/v1.0/account-inquiry-external", Some(16)),
            ("/account/v1.0/transfer-interbank?x=1", Some(18)),
            ("/v1.0/transfer/status", Some(36)),
            ("/v1.0/emoney/bulk-cashin-payment", Some(40)),
            ("/v1.0/unknown", None),
            ("/transfer-interbank", None),
            ("/account/transfer-interbank", None),
            ("", None),
        ] {
            assert_eq!(Service::for_path(path).map(Service::code), code, "{path}");
        }
    }
}
