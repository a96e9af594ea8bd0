//! Post Data Transaction, Inquiry Payment Status and Cancel Transaction (§3, §5,
//! §6): typed requests turned into pay-in commands, bills turned into answers.

use super::merchant::{internal, signed_merchant};
use gerbang_app::payin::{self, ChangeError, NewBill, PostError, RefundError};
use gerbang_app::principals::Merchant;
use gerbang_app::App;
use gerbang_core::mask::Masked;
use gerbang_core::payin::{find_channel, Bill, BillItem, BillStatus, ChannelFamily, Customer};
use gerbang_core::payout::{Face, Requester};
use gerbang_core::Document;
use gerbang_protocol::debit::answer::{Answer, DebitError};
use gerbang_protocol::debit::message::Message;
use gerbang_protocol::debit::notice::{payment_status, rupiah, wib};
use gerbang_protocol::debit::request::{
    Cancel, PostData, Refund, RefundAmount, StatusInquiry, MAX_LIFETIME_SECONDS,
};
use gerbang_protocol::debit::signature;
use serde::{Deserialize, Serialize};

/// What the Debit face keeps of a posted request, to answer as it was asked.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Echo {
    bill_items: Vec<Vec<(String, String)>>,
    #[serde(default)]
    bill_reff: Option<String>,
    /// Channel-specific: Kredivo's plan.
    #[serde(default)]
    reserve2: Option<String>,
}

fn requester(merchant_id: &str) -> Requester {
    Requester {
        face: Face::Debit,
        principal: merchant_id.to_string(),
    }
}

/// The item lines as echoed in `bill_items`: what was sent, with the defaults
/// Faspay fills in.
fn bill_items(req: &PostData, merchant_id: &str) -> Vec<Vec<(String, String)>> {
    req.items
        .iter()
        .map(|item| {
            // A field sent is echoed as sent, even empty (§14.2); one left out
            // is echoed with what it means.
            let sent = |k: &str, default: &str| {
                item.sent
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| default.to_string())
            };
            let mut line = Vec::new();
            if let Some(id) = item.sent.get("id") {
                line.push(("id".to_string(), id.clone()));
            }
            line.extend([
                ("product".to_string(), item.product.clone()),
                ("qty".to_string(), sent("qty", "1")),
                ("amount".to_string(), item.amount.raw.clone()),
                ("payment_plan".to_string(), sent("payment_plan", "01")),
                ("tenor".to_string(), sent("tenor", "00")),
                ("merchant_id".to_string(), sent("merchant_id", merchant_id)),
            ]);
            line
        })
        .collect()
}

/// Whether a channel is an online-credit provider.
fn credit_family(channel: &str) -> bool {
    find_channel(channel).is_some_and(|c| c.family == ChannelFamily::OnlineCredit)
}

/// Kredivo's plan (§9.1): `reserve2` names one, and an instalment needs at least
/// Rp 1.500.000.
fn check_plan(req: &PostData) -> Result<(), DebitError> {
    let Some(plan) = req.reserve2.as_deref() else {
        if req.payment_channel == "709" {
            return Err(DebitError::mandatory("reserve2"));
        }
        return Ok(());
    };
    let Some(months) = super::credit::months_of(plan) else {
        return Err(
            DebitError::FORMAT.with_detail("reserve2: 30_days, 3_months, 6_months or 12_months")
        );
    };
    if !super::credit::open_to(months, req.bill_total.minor) {
        return Err(DebitError::INVALID_AMOUNT.with_detail("instalments start at Rp 1.500.000"));
    }
    Ok(())
}

/// Where the customer's browser goes to pay (§4).
fn redirect_url(app: &App, b: &Bill, merchant: &Merchant) -> String {
    let base = app.public_base();
    let environment = if app.is_sandbox() {
        "0830000010100000"
    } else {
        "2830000010100000"
    };
    let signed = signature::sign(
        &merchant.user_id,
        merchant.password.expose(),
        &[&b.reference],
    );
    let query = url_query(&[
        ("trx_id", &b.id),
        ("merchant_id", &merchant.merchant_id),
        ("bill_no", &b.reference),
    ]);
    format!("{base}/pws/100003/{environment}/{signed}?{query}")
}

fn url_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", super::pages::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether a new bill's plan and times can be taken now.
fn acceptable(app: &App, req: &PostData) -> Result<(), DebitError> {
    if credit_family(&req.payment_channel) {
        check_plan(req)?;
    }
    if req.bill_expired <= app.now() {
        return Err(DebitError::EXPIRED.with_detail("bill_expired has passed"));
    }
    // At most 30 days after bill_date (§3.1).
    if req.bill_expired > req.bill_date.plus_seconds(MAX_LIFETIME_SECONDS) {
        return Err(DebitError::FORMAT.with_detail("bill_expired: at most 30 days after bill_date"));
    }
    Ok(())
}

pub(super) async fn post_data(app: &App, m: &Message<'_>) -> Result<Answer, DebitError> {
    let req = PostData::decode(m)?;
    let merchant = signed_merchant(
        app,
        &req.merchant_id.0,
        &req.signature,
        &[req.bill_no.as_str()],
    )
    .await?;
    if !merchant
        .enabled_channels()
        .any(|c| c.code == req.payment_channel)
    {
        return Err(DebitError::UNREGISTERED.with_detail(format!(
            "payment_channel {} is not enabled for this merchant",
            req.payment_channel
        )));
    }
    // What the bill is made of says whether a repeated `bill_no` asks for the same
    // bill: the documented fields, not the free-text `request`, the signature or
    // keys a plugin adds of its own (`trx_source`, …).
    let fingerprint = m.fingerprint(&PostData::makes_the_bill);
    // A request seen before answers as it did, whatever the time is now: a
    // refusal of the request's times or plan is looked up first. A new bill
    // goes straight to the store, which knows a repeat by its bill_no.
    if let Err(refused) = acceptable(app, &req) {
        let seen = payin::earlier(
            app,
            &requester(&merchant.merchant_id),
            req.bill_no.as_str(),
            &fingerprint,
        )
        .await
        .map_err(internal)?;
        return match seen {
            Some(Ok(bill)) => Ok(posted_answer(app, &bill, &merchant, None)),
            Some(Err(())) => Err(DebitError::INVALID_ORDER.with_detail(format!(
                "bill_no {} was used for another bill",
                req.bill_no.as_str()
            ))),
            None => Err(refused),
        };
    }
    let expires_at = req.bill_expired;
    let echo = Echo {
        bill_items: bill_items(&req, &merchant.merchant_id),
        bill_reff: req.bill_reff.clone(),
        reserve2: req.reserve2.clone(),
    };
    let request = Document::of(&echo);
    let new = NewBill {
        requester: requester(&merchant.merchant_id),
        reference: req.bill_no.as_str().to_string(),
        // Every field but the free-text `request` and the signature says whether a
        // repeated `bill_no` asks for the same bill.
        fingerprint,
        channel: req.payment_channel.clone(),
        amount_minor: req.bill_total.minor,
        description: req.bill_desc.clone(),
        customer: Customer {
            number: req.cust_no.clone(),
            name: req.cust_name.clone(),
            email: Masked(req.email.clone()),
            phone: Masked(req.msisdn.clone()),
        },
        items: req
            .items
            .iter()
            .map(|i| BillItem {
                product: i.product.clone(),
                quantity: i.quantity,
                amount_minor: i.amount.minor,
            })
            .collect(),
        expires_at,
        notice_url: merchant.notification_url.clone(),
        request: request.clone(),
    };
    let bill = match payin::post(app, new).await {
        Ok(b) => b,
        Err(PostError::DuplicateReference) => {
            return Err(DebitError::INVALID_ORDER.with_detail(format!(
                "bill_no {} was used for another bill",
                req.bill_no.as_str()
            )))
        }
        Err(PostError::UnknownChannel(c)) => {
            return Err(DebitError::UNREGISTERED.with_detail(format!("payment_channel {c}")))
        }
        Err(PostError::AlreadyExpired) => return Err(DebitError::EXPIRED),
        Err(PostError::ChannelAmount(why)) => {
            return Err(DebitError::INVALID_AMOUNT.with_detail(why))
        }
        Err(PostError::Store(e)) => return Err(internal(e)),
    };
    // A new bill stored this request's echo; a repeat answers with its own.
    let stored = (bill.request.as_str() == request.as_str()).then_some(echo);
    Ok(posted_answer(app, &bill, &merchant, stored))
}

/// The Post Data answer for `bill`, echoing what it stored (read back unless
/// the caller has it).
fn posted_answer(app: &App, bill: &Bill, merchant: &Merchant, echo: Option<Echo>) -> Answer {
    let echo: Echo = echo.unwrap_or_else(|| bill.request.decode().unwrap_or_default());
    let mut qr = Answer::default();
    if let Some(content) = super::qr::content(bill, merchant) {
        let base = app.public_base();
        qr = qr
            .text(
                "web_url",
                // Signed like OVO's push, over the trx_id: ids are not secrets.
                format!(
                    "{base}/__assets/qr/{}-{}.png?s={}",
                    merchant.merchant_id,
                    bill.id,
                    signature::sign(&merchant.user_id, merchant.password.expose(), &[&bill.id])
                ),
            )
            .text("qr_content", content);
    }
    let answer = Answer::default()
        .text("response", "Transmisi Info Detil Pembelian")
        .text("trx_id", bill.id.as_str())
        .text("merchant_id", merchant.merchant_id.as_str())
        .text("merchant", merchant.name.as_str())
        .text("bill_no", bill.reference.as_str())
        .text("external_id", "")
        .list("bill_items", echo.bill_items)
        .text("response_code", "00")
        .text("response_desc", "Sukses")
        .text("redirect_url", redirect_url(app, bill, merchant));
    Answer(answer.0.into_iter().chain(qr.0).collect())
}

/// The merchant's bill `bill_no`, which must carry `trx_id` when one is given.
async fn find(
    app: &App,
    merchant: &Merchant,
    bill_no: &str,
    trx_id: Option<&str>,
) -> Result<Option<Bill>, DebitError> {
    let found = payin::by_reference(&app.store, &requester(&merchant.merchant_id), bill_no)
        .await
        .map_err(internal)?
        .map(|(b, _)| b);
    match (found, trx_id) {
        (Some(b), Some(id)) if b.id != id => {
            Err(DebitError::INVALID_ORDER
                .with_detail(format!("trx_id {id} is not the bill {bill_no}")))
        }
        (found, _) => Ok(found),
    }
}

pub(super) async fn status_inquiry(app: &App, m: &Message<'_>) -> Result<Answer, DebitError> {
    let req = StatusInquiry::decode(m)?;
    let merchant = signed_merchant(
        app,
        &req.merchant_id.0,
        &req.signature,
        &[req.bill_no.as_str()],
    )
    .await?;
    let bill = find(app, &merchant, req.bill_no.as_str(), req.trx_id.as_deref()).await?;
    let (code, desc) = match &bill {
        Some(b) => payment_status(b.status_at(app.now())),
        None => ("5", "Tagihan tidak ditemukan"),
    };
    let payment = bill.as_ref().and_then(|b| b.payment.as_ref());
    Ok(Answer::default()
        .text("response", "Inquiry Status Payment")
        .text(
            "trx_id",
            bill.as_ref()
                .map(|b| b.id.clone())
                .or(req.trx_id.clone())
                .unwrap_or_default(),
        )
        .text("merchant_id", merchant.merchant_id.as_str())
        .text("merchant", merchant.name.as_str())
        .text("bill_no", req.bill_no.as_str())
        .text(
            "payment_reff",
            payment.map(|p| p.reference.clone()).unwrap_or_default(),
        )
        .text(
            "payment_date",
            payment.map(|p| wib(p.paid_at)).unwrap_or_default(),
        )
        .text("payment_status_code", code)
        .text("payment_status_desc", desc)
        .text(
            "payment_total",
            payment.map(|p| rupiah(p.amount_minor)).unwrap_or_default(),
        )
        .text("response_code", "00")
        .text("response_desc", "Sukses"))
}

/// The signed merchant and its bill `bill_no` (carrying `trx_id` when given) that
/// a request about an existing bill names; `14` when there is none.
async fn existing(
    app: &App,
    merchant_id: &str,
    signed: &str,
    bill_no: &gerbang_core::values::Reference,
    trx_id: Option<&str>,
) -> Result<(std::sync::Arc<Merchant>, Bill), DebitError> {
    let merchant = signed_merchant(app, merchant_id, signed, &[bill_no.as_str()]).await?;
    let bill = find(app, &merchant, bill_no.as_str(), trx_id)
        .await?
        .ok_or_else(|| {
            DebitError::INVALID_ORDER.with_detail(format!("no bill {}", bill_no.as_str()))
        })?;
    Ok((merchant, bill))
}

pub(super) async fn cancel(app: &App, m: &Message<'_>) -> Result<Answer, DebitError> {
    let req = Cancel::decode(m)?;
    let (merchant, bill) = existing(
        app,
        &req.merchant_id.0,
        &req.signature,
        &req.bill_no,
        req.trx_id.as_deref(),
    )
    .await?;
    let cancelled = match payin::cancel(app, &bill.requester, &bill.id, &req.reason).await {
        Ok(b) => b,
        Err(ChangeError::AlreadyPaid) => return Err(DebitError::ALREADY_PAID),
        Err(ChangeError::NotPending(status)) if status == BillStatus::Expired.as_str() => {
            return Err(DebitError::EXPIRED)
        }
        Err(ChangeError::NotPending(status)) => {
            return Err(DebitError::INVALID_ORDER.with_detail(format!("the bill is {status}")))
        }
        Err(ChangeError::NotFound) => return Err(DebitError::INVALID_ORDER),
        Err(
            e @ (ChangeError::WrongAmount
            | ChangeError::ReferenceTaken
            | ChangeError::Changed
            | ChangeError::Store(_)),
        ) => return Err(internal(e)),
    };
    let (code, desc) = payment_status(cancelled.status);
    Ok(Answer::default()
        .text("response", "Canceling Payment")
        .text("trx_id", cancelled.id.as_str())
        .text("merchant_id", merchant.merchant_id.as_str())
        .text("merchant", merchant.name.as_str())
        .text("bill_no", cancelled.reference.as_str())
        .text("trx_status_code", "00")
        .text("trx_status_desc", "Sukses")
        .text("payment_status_code", code)
        .text("payment_status_desc", desc)
        .text("payment_cancel_date", wib(cancelled.status_at))
        .text(
            "payment_cancel",
            cancelled.cancel_reason.clone().unwrap_or_default(),
        )
        .text("response_code", "00")
        .text("response_desc", "Sukses"))
}

pub(super) async fn refund(app: &App, m: &Message<'_>) -> Result<Answer, DebitError> {
    let req = Refund::decode(m)?;
    let (merchant, bill) = existing(
        app,
        &req.merchant_id.0,
        &req.signature,
        &req.bill_no,
        req.trx_id.as_deref(),
    )
    .await?;
    let amount_minor = match &req.amount {
        RefundAmount::Full => None,
        RefundAmount::Partial(a) => Some(a.minor),
    };
    let refunded = match payin::refund(app, &bill.requester, &bill.id, amount_minor).await {
        Ok(b) => b,
        // A full refund asked again after it was made answers as it did.
        Err(RefundError::AlreadyRefunded) if req.amount == RefundAmount::Full => bill,
        Err(RefundError::AlreadyRefunded) => {
            return Err(DebitError::INVALID_ORDER.with_detail("the bill was refunded in full"))
        }
        Err(RefundError::NotPaid) => {
            return Err(DebitError::INVALID_ORDER.with_detail("the bill was not paid"))
        }
        Err(RefundError::Amount { left }) => {
            return Err(
                DebitError::INVALID_AMOUNT.with_detail(format!("at most {left} can be refunded"))
            )
        }
        Err(RefundError::MerchantBalance) => {
            return Err(DebitError::INVALID_AMOUNT
                .with_detail("the merchant's settlement balance does not cover it"))
        }
        Err(RefundError::ChannelRefused(why)) => {
            return Err(DebitError::INVALID_CUSTOMER.with_detail(why))
        }
        Err(RefundError::NotFound) => return Err(DebitError::INVALID_ORDER),
        Err(RefundError::Store(e)) => return Err(internal(e)),
    };
    let (code, desc) = payment_status(refunded.status);
    Ok(Answer::default()
        .text("response", "Pembatalan Pembelian Barang")
        .text("merchant_id", merchant.merchant_id.as_str())
        .text("merchant", merchant.name.as_str())
        .text("trx_id", refunded.id.as_str())
        .text("bill_no", refunded.reference.as_str())
        .text("fraud_status", "")
        .text("payment_status_code", code)
        .text("payment_status_desc", desc)
        .text("response_code", "00")
        .text("response_desc", "Sukses"))
}
