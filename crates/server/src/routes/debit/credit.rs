//! The online-credit extras (spec §9.1): Kredivo's payment-type inquiry — the
//! plans a basket can be paid with — and the plan rules the hosted page applies.
//! The provider's terms in the sandbox: paying in full within 30 days costs
//! nothing; instalments (3, 6 or 12 months, from Rp 1.500.000) cost 2.6 % a month
//! on the total, paid in equal monthly parts.

use super::merchant::signed_merchant;
use gerbang_app::App;
use gerbang_protocol::debit::answer::{Answer, DebitError};
use gerbang_protocol::debit::message::Message;
use gerbang_protocol::debit::request::PlanInquiry;

/// Instalment plans need at least Rp 1.500.000 (§9.1).
pub const MIN_INSTALMENT_MINOR: i64 = 150_000_000;
/// The monthly rate on instalments, in basis points.
const MONTHLY_RATE_BP: i64 = 260;

/// A plan: its `reserve2` id, its name, and its months (0: full payment).
pub const PLANS: [(&str, &str, i64); 4] = [
    ("30_days", "Bayar dalam 30 hari", 0),
    ("3_months", "Cicilan 3 bulan", 3),
    ("6_months", "Cicilan 6 bulan", 6),
    ("12_months", "Cicilan 12 bulan", 12),
];

/// `(total to pay, monthly instalment)` of `total_minor` over `months`.
pub fn plan_cost(total_minor: i64, months: i64) -> (i64, i64) {
    if months == 0 {
        return (total_minor, total_minor);
    }
    let interest = (total_minor * MONTHLY_RATE_BP * months + 5_000) / 10_000;
    let payable = total_minor + interest;
    let monthly = (payable + months - 1) / months;
    (payable, monthly)
}

/// The plan `id` names: Kredivo's own guide writes `30_Days`, so case does not
/// matter.
fn plan(id: &str) -> Option<&'static (&'static str, &'static str, i64)> {
    PLANS
        .iter()
        .find(|(plan, _, _)| plan.eq_ignore_ascii_case(id.trim()))
}

/// The plan `id` names, as written in [`PLANS`].
pub fn plan_id(id: &str) -> Option<&'static str> {
    plan(id).map(|(plan, _, _)| *plan)
}

/// The months of plan `id` (0: full payment), if it is one.
pub fn months_of(id: &str) -> Option<i64> {
    plan(id).map(|(_, _, months)| *months)
}

/// Whether a plan of `months` is open to a basket of `total_minor`.
pub fn open_to(months: i64, total_minor: i64) -> bool {
    months == 0 || total_minor >= MIN_INSTALMENT_MINOR
}

/// The plans open to a basket of `total_minor`.
pub fn plans_for(total_minor: i64) -> impl Iterator<Item = (&'static str, &'static str, i64)> {
    PLANS
        .into_iter()
        .filter(move |(_, _, months)| open_to(*months, total_minor))
}

pub(super) async fn plan_inquiry(app: &App, m: &Message<'_>) -> Result<Answer, DebitError> {
    let req = PlanInquiry::decode(m)?;
    let merchant = signed_merchant(app, &req.merchant_id.0, &req.signature, &[]).await?;
    let total = req.bill_total.minor;
    let payments = plans_for(total)
        .map(|(id, name, months)| {
            let (payable, monthly) = plan_cost(total, months);
            let text = |minor: i64| minor.to_string();
            vec![
                ("id".to_string(), id.to_string()),
                ("name".to_string(), name.to_string()),
                ("tenure".to_string(), months.max(1).to_string()),
                ("amount".to_string(), text(payable)),
                ("raw_amount".to_string(), text(payable)),
                ("installment_amount".to_string(), text(monthly)),
                ("down_payment".to_string(), "0".to_string()),
                ("monthly_installment".to_string(), text(monthly)),
                ("raw_monthly_installment".to_string(), text(monthly)),
                ("discounted_monthly_installment".to_string(), text(monthly)),
            ]
        })
        .collect();
    Ok(Answer::default()
        .text("response", "Pengecekan Payment Type Kredivo")
        .text("merchant_id", merchant.merchant_id.as_str())
        .text("merchant", merchant.name.as_str())
        .list("payments", payments)
        .text("response_code", "00")
        .text("response_desc", "Sukses"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instalments_cost_the_monthly_rate() {
        assert_eq!(plan_cost(200_000_000, 0), (200_000_000, 200_000_000));
        // Rp 2.000.000 over 3 months at 2.6 %: Rp 156.000 of interest.
        assert_eq!(plan_cost(200_000_000, 3), (215_600_000, 71_866_667));
        assert_eq!(plans_for(100_000_000).count(), 1);
        assert_eq!(plans_for(150_000_000).count(), 4);
    }
}
