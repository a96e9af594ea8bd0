//! What a network does over the host-to-host API: inquiry, payment, reversal and
//! advice of a code at its counter. A code is either a cash-out code (ten digits,
//! [`cash_codes`]: the network hands out cash) or a bill's id (sixteen digits,
//! [`bills`]: the customer pays the bill in cash at a store or into a virtual
//! account at a bank). Idempotent by the network's reference: a payment's
//! reference is an idempotency key in the scope of its network, so a repeated
//! payment answers the first one again, and a reversal of a payment that never
//! arrived takes the key first (voided) so that the payment, should it come
//! late, is refused.

mod bills;
mod cash_codes;

use crate::cashout::NetworkRules;
use crate::config::{Config, Mode};
use crate::App;
pub use gerbang_core::counter::{CounterNetwork, VaBank};
use gerbang_core::payin::Bill;
pub use gerbang_core::payout::CodeRefusal as Refusal;
use gerbang_core::payout::Disbursement;
use gerbang_core::Timestamp;
use gerbang_store::{NewIdempotency, Step, StepError};

/// The fingerprint of a reference taken by a reversal before any payment.
const VOIDED: &str = "voided-by-reversal";
/// What an idempotency record's response starts with when it names a bill.
const BILL_PREFIX: &str = "bill:";
/// Attempts at a step that lost a race before giving up.
const ATTEMPTS: usize = 8;
/// Digits in a bill's id, its payment code at a counter.
const BILL_CODE_DIGITS: usize = 16;

#[derive(Debug)]
pub enum H2hError {
    Refused(Refusal),
    Store(String),
}

impl From<Refusal> for H2hError {
    fn from(r: Refusal) -> Self {
        H2hError::Refused(r)
    }
}

fn store_error(e: impl std::fmt::Display) -> H2hError {
    H2hError::Store(e.to_string())
}

/// How a network may use the API.
#[derive(Clone, Debug)]
pub struct Access {
    pub key: String,
    /// `None`: the network cannot call the API.
    pub secret: Option<String>,
    pub reversal_window_seconds: u64,
    pub reversal_after_advice: bool,
}

/// The access the configuration gives `network`.
pub fn access(config: &Config, network: CounterNetwork) -> Access {
    match network {
        CounterNetwork::Cash(n) => {
            let rules = n.rules(&config.cashout, config.mode);
            Access {
                key: rules.key,
                secret: rules.secret,
                reversal_window_seconds: rules.reversal_window_seconds,
                reversal_after_advice: rules.reversal_after_advice,
            }
        }
        CounterNetwork::Bank(b) => {
            let c = config.banks.get(b.slug()).cloned().unwrap_or_default();
            Access {
                key: c.key.unwrap_or_else(|| b.slug().to_string()),
                secret: c.secret.or_else(|| {
                    (config.mode == Mode::Sandbox).then(|| format!("sandbox-{}-secret", b.slug()))
                }),
                reversal_window_seconds: c.reversal_window_seconds.unwrap_or(3600),
                reversal_after_advice: false,
            }
        }
    }
}

/// A live code as inquiry shows it.
#[derive(Clone, Debug)]
pub struct Claimable {
    pub id: String,
    pub amount_minor: i64,
    /// Who the code is for: the cash-out's holder, the bill's customer.
    pub holder: String,
    pub expires_at: Timestamp,
}

/// A payment as the network is told about it (again, on a repeat).
#[derive(Clone, Debug)]
pub struct Paid {
    pub id: String,
    pub reference: String,
    pub amount_minor: i64,
    pub paid_at: Timestamp,
    pub repeated: bool,
}

#[derive(Clone, Debug)]
pub struct PaymentRequest {
    pub reference: String,
    pub code: String,
    /// The phone a cash-out code was issued for; a bill needs none.
    pub phone: String,
    pub amount_minor: i64,
    pub terminal: String,
}

/// How a reversal ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reversal {
    /// The payment was undone: funds back where they came from.
    Reversed { repeated: bool },
    /// No payment had arrived under that reference; it is void now.
    Voided { repeated: bool },
}

fn scope(network: CounterNetwork) -> String {
    format!("cashout.payment:{}", network.slug())
}

/// What a code is, from its shape.
enum Code {
    Cash,
    Bill,
}

fn code_kind(code: &str) -> Result<Code, Refusal> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::UnknownCode);
    }
    match code.len() {
        crate::cashout::CODE_DIGITS => Ok(Code::Cash),
        BILL_CODE_DIGITS => Ok(Code::Bill),
        _ => Err(Refusal::UnknownCode),
    }
}

/// What a network's reference already stands for.
enum Taken {
    /// A reversal came before any payment.
    Voided,
    /// A cash-out code's payment: its fingerprint, the disbursement and its version.
    Payout(String, Box<Disbursement>, i64),
    /// A bill's payment: its fingerprint, the bill and its version.
    Bill(String, Box<Bill>, i64),
}

async fn taken(
    app: &App,
    network: CounterNetwork,
    reference: &str,
) -> Result<Option<Taken>, H2hError> {
    let Some(idem) = app
        .store
        .idempotency(&scope(network), reference)
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    if idem.fingerprint == VOIDED {
        return Ok(Some(Taken::Voided));
    }
    let missing = || H2hError::Store(format!("payment {reference} names nothing stored"));
    if let Some(id) = idem.response.strip_prefix(BILL_PREFIX) {
        let (b, version) = crate::payin::load(&app.store, id)
            .await
            .map_err(store_error)?
            .ok_or_else(missing)?;
        return Ok(Some(Taken::Bill(idem.fingerprint, Box::new(b), version)));
    }
    let (d, version) = crate::payout::load(&app.store, &idem.response)
        .await
        .map_err(store_error)?
        .ok_or_else(missing)?;
    Ok(Some(Taken::Payout(idem.fingerprint, Box::new(d), version)))
}

fn payment_fingerprint(req: &PaymentRequest) -> String {
    use sha2::{Digest, Sha256};
    let digits: String = req.phone.chars().filter(char::is_ascii_digit).collect();
    let text = format!(
        "{}|{}|{}|{}",
        req.code, digits, req.amount_minor, req.terminal
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The idempotency key a payment under `req.reference` takes, naming `response`.
fn payment_key(network: CounterNetwork, req: &PaymentRequest, response: String) -> NewIdempotency {
    NewIdempotency {
        scope: scope(network),
        key: req.reference.clone(),
        fingerprint: payment_fingerprint(req),
        response,
    }
}

/// Inquiry: is this code payable here, for how much, by whom.
pub async fn inquire(
    app: &App,
    network: impl Into<CounterNetwork>,
    code: &str,
    phone: &str,
) -> Result<Claimable, H2hError> {
    let network = network.into();
    match code_kind(code)? {
        Code::Cash => cash_codes::inquire(app, network, code, phone).await,
        Code::Bill => bills::inquire(app, network, code).await,
    }
}

/// Payment: the network claims a cash-out code (the held amount is posted to
/// its clearing account) or takes a bill's payment (its clearing account pays
/// the merchant); the requester is told either way.
pub async fn pay(
    app: &App,
    network: impl Into<CounterNetwork>,
    req: PaymentRequest,
) -> Result<Paid, H2hError> {
    let network = network.into();
    let print = payment_fingerprint(&req);
    for _ in 0..ATTEMPTS {
        // The same payment again answers as it did, unless reversed since; the
        // reference with anything else is refused.
        let repeat = match taken(app, network, &req.reference).await? {
            None => None,
            Some(Taken::Payout(fingerprint, d, _)) if fingerprint == print => {
                Some(cash_codes::repeated(&d)?)
            }
            Some(Taken::Bill(fingerprint, b, _)) if fingerprint == print => {
                Some(bills::repeated(&b)?)
            }
            Some(_) => Some(None),
        };
        if let Some(first) = repeat {
            return first.ok_or_else(|| Refusal::DuplicateReference.into());
        }
        let claimed = match code_kind(&req.code)? {
            Code::Cash => cash_codes::pay(app, network, &req).await,
            Code::Bill => bills::pay(app, network, &req).await,
        };
        match claimed {
            Err(Lost::Race) => continue,
            Err(Lost::Error(e)) => return Err(e),
            Ok(paid) => return Ok(paid),
        }
    }
    Err(H2hError::Store(
        "the payment kept losing races; try again".into(),
    ))
}

/// Why one attempt at a step did not end it.
enum Lost {
    /// Another request changed what it read: look again.
    Race,
    Error(H2hError),
}

impl From<H2hError> for Lost {
    fn from(e: H2hError) -> Self {
        Lost::Error(e)
    }
}

impl From<Refusal> for Lost {
    fn from(r: Refusal) -> Self {
        Lost::Error(r.into())
    }
}

/// Reversal: undoes the payment `reference` names (a cash-out's funds back to
/// the partner, a bill's back to the channel), or voids the reference if no
/// payment came.
pub async fn reverse(
    app: &App,
    network: impl Into<CounterNetwork>,
    reference: &str,
) -> Result<Reversal, H2hError> {
    let network = network.into();
    let access = access(&app.config, network);
    for _ in 0..ATTEMPTS {
        let attempt = match taken(app, network, reference).await? {
            Some(Taken::Payout(_, d, version)) => {
                cash_codes::reverse(app, network, &access, reference, &d, version).await
            }
            Some(Taken::Bill(_, b, version)) => bills::reverse(app, &access, &b, version).await,
            Some(Taken::Voided) => return Ok(Reversal::Voided { repeated: true }),
            None => {
                let void = Step {
                    idempotency: Some(NewIdempotency {
                        scope: scope(network),
                        key: reference.to_string(),
                        fingerprint: VOIDED.into(),
                        response: String::new(),
                    }),
                    ..Step::default()
                };
                match app.commit(void).await {
                    Ok(_) => return Ok(Reversal::Voided { repeated: false }),
                    Err(StepError::Duplicate(_)) => Err(Lost::Race),
                    Err(e) => return Err(store_error(e)),
                }
            }
        };
        match attempt {
            Ok(r) => return Ok(r),
            Err(Lost::Race) => continue,
            Err(Lost::Error(e)) => return Err(e),
        }
    }
    Err(H2hError::Store(
        "the reversal kept losing races; try again".into(),
    ))
}

/// Advice: the network confirms the payment is final (cash handed out, or
/// taken). Returns whether it had been advised before.
pub async fn advise(
    app: &App,
    network: impl Into<CounterNetwork>,
    reference: &str,
) -> Result<bool, H2hError> {
    let network = network.into();
    for _ in 0..ATTEMPTS {
        let attempt = match taken(app, network, reference).await? {
            Some(Taken::Payout(_, d, version)) => cash_codes::advise(app, &d, version).await,
            Some(Taken::Bill(_, b, _)) => bills::advise(app, &b).await,
            _ => return Err(Refusal::NoSuchPayment.into()),
        };
        match attempt {
            Ok(before) => return Ok(before),
            Err(Lost::Race) => continue,
            Err(Lost::Error(e)) => return Err(e),
        }
    }
    Err(H2hError::Store(
        "the advice kept losing races; try again".into(),
    ))
}
