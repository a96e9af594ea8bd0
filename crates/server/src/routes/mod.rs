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

/// Rupiah as people read it, dots between thousands: `Rp 1.500.000`,
/// `-Rp 2.500,50`.
pub(crate) fn rupiah_text(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    let whole = (minor / 100).to_string();
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    match minor % 100 {
        0 => format!("{sign}Rp {out}"),
        cents => format!("{sign}Rp {out},{cents:02}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rupiah_text_groups_thousands_with_a_sign() {
        assert_eq!(super::rupiah_text(150_000_000), "Rp 1.500.000");
        assert_eq!(super::rupiah_text(-250_050), "-Rp 2.500,50");
        assert_eq!(super::rupiah_text(0), "Rp 0");
        assert_eq!(super::rupiah_text(99), "Rp 0,99");
        assert_eq!(super::rupiah_text(1_500), "Rp 15");
        assert_eq!(super::rupiah_text(123_456_789), "Rp 1.234.567,89");
    }
}
