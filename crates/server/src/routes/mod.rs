pub mod debit;
pub mod h2h;
pub mod health;
pub mod sandbox;
pub mod sandbox_cashout;
pub mod sandbox_debit;
pub mod sendme;
pub mod snap;

/// An amount in minor units as the APIs print rupiah: `"1250.00"`.
pub(crate) fn rupiah(minor: i64) -> String {
    gerbang_core::Money::idr(minor).to_major_string()
}
