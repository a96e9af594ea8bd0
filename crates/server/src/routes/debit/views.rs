//! The hosted checkout's HTML (spec §4), rendered on the server with maud: one
//! page per channel family — a VA number and how to pay it, a store payment
//! code, a QRIS code, an e-wallet or internet-banking confirmation, an
//! online-credit provider's plan choice — in Indonesian or English, working
//! without JavaScript. The stylesheet is vendored and compiled in.

use gerbang_core::payin::{Bill, BillStatus, Channel, ChannelFamily};
use maud::{html, Markup, PreEscaped, DOCTYPE};

pub const STYLESHEET: &str = include_str!("../../../assets/checkout.css");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Id,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }
}

/// The page's words in `lang`.
pub fn t(lang: Lang, key: &str) -> &'static str {
    let (id, en) = match key {
        "title" => ("Pembayaran", "Payment"),
        "total" => ("Total pembayaran", "Amount to pay"),
        "amount" => ("Jumlah tagihan", "Bill amount"),
        "description" => ("Keterangan", "Description"),
        "channel" => ("Metode pembayaran", "Payment method"),
        "paid_at" => ("Dibayar", "Paid"),
        "payment_reference" => ("Referensi pembayaran", "Payment reference"),
        "refunded_amount" => ("Dikembalikan", "Refunded"),
        "close" => ("Anda dapat menutup halaman ini", "You may close this page"),
        "bill" => ("No. tagihan", "Bill number"),
        "expires" => ("Bayar sebelum", "Pay before"),
        "va" => ("Nomor Virtual Account", "Virtual account number"),
        "va_steps" => (
            "Buka ATM, mobile banking atau internet banking|Pilih Transfer ke Virtual Account|Masukkan nomor di atas dan pastikan jumlahnya sama|Konfirmasi pembayaran",
            "Open an ATM, mobile banking or internet banking|Choose Transfer to Virtual Account|Enter the number above and check the amount|Confirm the payment",
        ),
        "retail" => ("Kode pembayaran", "Payment code"),
        "retail_steps" => (
            "Datang ke kasir gerai terdekat|Sebutkan pembayaran Faspay dan tunjukkan kode di atas|Bayar sesuai jumlah dan simpan struknya",
            "Go to the cashier of the nearest store|Ask to pay Faspay and show the code above|Pay the amount and keep the receipt",
        ),
        "qris" => ("Pindai dengan aplikasi e-wallet atau mobile banking", "Scan with any e-wallet or mobile banking app"),
        "ewallet" => ("Konfirmasi pembayaran di aplikasi", "Confirm the payment in the app"),
        "banking" => ("Masuk ke internet banking", "Log in to internet banking"),
        "credit" => ("Pilih cara bayar", "Choose how to pay"),
        "credit_with" => ("Bayar dengan", "Pay with"),
        "card" => ("Bayar dengan kartu kredit", "Pay by credit card"),
        "card_number" => ("Nomor kartu", "Card number"),
        "card_name" => ("Nama di kartu", "Name on the card"),
        "card_expiry" => ("Berlaku sampai (BB/TT)", "Expiry (MM/YY)"),
        "card_expiry_hint" => ("BB/TT", "MM/YY"),
        "card_cvv" => ("CVV", "CVV"),
        "phone" => ("Nomor ponsel", "Phone number"),
        "pin" => ("PIN", "PIN"),
        "otp" => ("Kode OTP", "OTP code"),
        "user" => ("User ID", "User ID"),
        "password" => ("Kata sandi", "Password"),
        "pay" => ("Bayar", "Pay"),
        "simulate" => ("Simulasikan pembayaran (sandbox)", "Simulate the payment (sandbox)"),
        "approve" => ("Setujui", "Approve"),
        "decline" => ("Tolak", "Decline"),
        "plan_30_days" => ("Bayar penuh dalam 30 hari", "Pay in full within 30 days"),
        "plan_3_months" => ("Cicilan 3 bulan", "3 monthly instalments"),
        "plan_6_months" => ("Cicilan 6 bulan", "6 monthly instalments"),
        "plan_12_months" => ("Cicilan 12 bulan", "12 monthly instalments"),
        "per_month" => ("/bulan", "/month"),
        "paid" => ("Pembayaran berhasil", "Payment received"),
        "partly_refunded" => (
            "Pembayaran berhasil; sebagian telah dikembalikan",
            "Payment received; part of it was refunded",
        ),
        "refunded" => ("Pembayaran telah dikembalikan", "The payment was refunded"),
        "reversed" => (
            "Pembayaran dibatalkan oleh saluran pembayaran dan dikembalikan",
            "The payment was reversed by the channel and given back",
        ),
        "failed" => ("Pembayaran ditolak", "Payment declined"),
        "expired" => ("Tagihan ini telah kedaluwarsa", "This bill has expired"),
        "cancelled" => ("Tagihan ini telah dibatalkan", "This bill was cancelled"),
        "back" => ("Kembali ke toko", "Back to the shop"),
        "choose_plan" => ("Pilih salah satu cara bayar", "Choose one of the plans"),
        "wrong_phone_or_pin" => ("Nomor ponsel atau PIN salah", "Wrong phone number or PIN"),
        "wrong_otp" => ("Kode OTP salah", "Wrong OTP"),
        "full_payment_only" => (
            "Akun ini hanya bisa bayar penuh",
            "This account can only pay in full",
        ),
        "instalment_minimum" => (
            "Cicilan minimal Rp 1.500.000",
            "Instalments start at Rp 1.500.000",
        ),
        "wrong_login" => ("Login atau OTP salah", "Wrong login or OTP"),
        "wrong_card" => ("Data kartu salah", "Wrong card details"),
        "wrong_wallet_login" => (
            "Data akun e-wallet salah",
            "Wrong e-wallet account details",
        ),
        "choose_action" => ("Pilih tindakan di halaman ini", "Choose an action on this page"),
        "sandbox" => ("Mode sandbox: tidak ada uang sungguhan", "Sandbox mode: no real money"),
        _ => ("", ""),
    };
    match lang {
        Lang::Id => id,
        Lang::En => en,
    }
}

/// A bill's payment as its page writes it.
pub struct PaidText {
    /// When, Jakarta time.
    pub at: String,
    /// The channel's reference for it.
    pub reference: String,
    /// What was given back of it, when anything was.
    pub refunded: Option<String>,
}

/// What a page shows beyond the bill.
pub struct PageContext<'a> {
    pub bill: &'a Bill,
    /// Where the bill stands now ([`Bill::status_at`]).
    pub status: BillStatus,
    pub channel: &'a Channel,
    pub merchant_name: &'a str,
    pub lang: Lang,
    /// The page's own URL (forms post back to it), without `lang`.
    pub action: &'a str,
    pub sandbox: bool,
    pub amount_text: String,
    pub expires_text: String,
    /// The QRIS payload and its picture, for a QR channel.
    pub qr: Option<(String, String)>,
    /// A plan chosen before (Kredivo `reserve2`).
    pub plan: Option<&'a str>,
    /// The payment, once there is one.
    pub paid: Option<PaidText>,
    pub error: Option<String>,
}

/// How often a page waiting for a payment made elsewhere reloads, in seconds.
const REFRESH_SECONDS: u32 = 15;

/// Whether the bill waits for a payment made away from this page: at a bank
/// (VA), a store counter or by scanning its QR code.
fn awaits_payment_elsewhere(c: &PageContext) -> bool {
    c.status == BillStatus::Pending
        && matches!(
            c.channel.family,
            ChannelFamily::VirtualAccount | ChannelFamily::Retail | ChannelFamily::Qris
        )
}

fn layout(c: &PageContext, body: Markup) -> Markup {
    let other = match c.lang {
        Lang::Id => Lang::En,
        Lang::En => Lang::Id,
    };
    let joiner = if c.action.contains('?') { '&' } else { '?' };
    html! {
        (DOCTYPE)
        html lang=(c.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Paid at a bank, a counter or from a wallet's scanner: the page
                // looks again by itself, without JavaScript.
                @if awaits_payment_elsewhere(c) {
                    // The page's own address (not a form's answer), in its language.
                    meta http-equiv="refresh" content=(format!("{REFRESH_SECONDS}; url={}{joiner}lang={}", c.action, c.lang.code()));
                }
                title { (t(c.lang, "title")) " — " (c.merchant_name) }
                style { (PreEscaped(STYLESHEET)) }
            }
            body {
                header {
                    span.merchant { (c.merchant_name) }
                    nav { a href=(format!("{}{joiner}lang={}", c.action, other.code())) { (other.code().to_uppercase()) } }
                }
                main {
                    section.card {
                        @let pending = c.status == BillStatus::Pending;
                        div.muted { (t(c.lang, if pending { "total" } else { "amount" })) }
                        p.amount data-testid="amount" { (c.amount_text) }
                        dl {
                            dt { (t(c.lang, "bill")) } dd { (c.bill.reference) }
                            @if !c.bill.description.is_empty() {
                                dt { (t(c.lang, "description")) } dd { (c.bill.description) }
                            }
                            @if pending {
                                dt { (t(c.lang, "expires")) } dd.when { (c.expires_text) }
                            }
                            dt { (t(c.lang, "channel")) } dd { (c.channel.name) }
                            @if let Some(paid) = &c.paid {
                                dt { (t(c.lang, "paid_at")) } dd.when { (paid.at) }
                                dt { (t(c.lang, "payment_reference")) } dd { (paid.reference) }
                                @if let Some(refunded) = &paid.refunded {
                                    dt { (t(c.lang, "refunded_amount")) } dd { (refunded) }
                                }
                            }
                        }
                    }
                    @if let Some(e) = &c.error { p.error role="alert" { (e) } }
                    (body)
                    @if c.sandbox { p.muted { (t(c.lang, "sandbox")) } }
                }
            }
        }
    }
}

fn steps(lang: Lang, key: &str) -> Markup {
    html! { ol { @for s in t(lang, key).split('|') { li { (s) } } } }
}

fn hidden_lang(c: &PageContext) -> Markup {
    html! { input type="hidden" name="lang" value=(c.lang.code()); }
}

fn simulate(c: &PageContext) -> Markup {
    html! {
        @if c.sandbox {
            form.card.sandbox method="post" action=(c.action) {
                (hidden_lang(c))
                input type="hidden" name="action" value="pay";
                button type="submit" { (t(c.lang, "simulate")) }
            }
        }
    }
}

/// A form's two buttons in the sandbox, where the page plays the channel:
/// `action` (`pay`, `approve`) and decline.
fn confirm_or_decline(c: &PageContext, action: &str) -> Markup {
    html! {
        @if c.sandbox {
            button type="submit" name="action" value=(action) { (t(c.lang, action)) }
            button.secondary type="submit" name="action" value="decline" formnovalidate { (t(c.lang, "decline")) }
        }
    }
}

/// The number a customer pays to (the bill's id), titled `title`, and how.
fn pay_code(c: &PageContext, title: &str, how: &str) -> Markup {
    html! {
        section.card {
            div.muted { (t(c.lang, title)) }
            p.code data-testid="pay-code" { (c.bill.id) }
            (steps(c.lang, how))
        }
        (simulate(c))
    }
}

/// The page for a pending bill.
fn pending(c: &PageContext) -> Markup {
    let lang = c.lang;
    let body = match c.channel.family {
        ChannelFamily::VirtualAccount => pay_code(c, "va", "va_steps"),
        ChannelFamily::Retail => pay_code(c, "retail", "retail_steps"),
        ChannelFamily::Qris => html! {
            section.card {
                div.muted { (t(lang, "qris")) }
                @if let Some((content, svg)) = &c.qr {
                    div.qr data-testid="qr" { (PreEscaped(svg)) }
                    details {
                        summary.muted { "QRIS" }
                        p.muted style="word-break:break-all" data-testid="qr-content" { (content) }
                    }
                }
            }
            (simulate(c))
        },
        ChannelFamily::Card => html! {
            form.card method="post" action=(c.action) {
                div.muted { (t(lang, "card")) }
                (hidden_lang(c))
                label for="card_number" { (t(lang, "card_number")) }
                input #card_number name="card_number" inputmode="numeric" autocomplete="cc-number" required;
                label for="card_name" { (t(lang, "card_name")) }
                input #card_name name="card_name" autocomplete="cc-name" required;
                label for="card_expiry" { (t(lang, "card_expiry")) }
                input #card_expiry name="card_expiry" autocomplete="cc-exp" placeholder=(t(lang, "card_expiry_hint")) required;
                label for="card_cvv" { (t(lang, "card_cvv")) }
                input #card_cvv name="card_cvv" type="password" inputmode="numeric" autocomplete="cc-csc" required;
                (confirm_or_decline(c, "pay"))
            }
        },
        ChannelFamily::EWallet => html! {
            form.card method="post" action=(c.action) {
                div.muted { (t(lang, "ewallet")) }
                (hidden_lang(c))
                label for="phone" { (t(lang, "phone")) }
                input #phone name="phone" inputmode="tel" autocomplete="tel" required;
                @let account = super::test_accounts::wallet(c.channel.code);
                @if account.pin.is_some() {
                    label for="pin" { (t(lang, "pin")) }
                    input #pin name="pin" type="password" inputmode="numeric" required;
                }
                @if account.otp.is_some() {
                    label for="otp" { (t(lang, "otp")) }
                    input #otp name="otp" inputmode="numeric" autocomplete="one-time-code" required;
                }
                (confirm_or_decline(c, "pay"))
            }
        },
        ChannelFamily::InternetBanking => html! {
            form.card method="post" action=(c.action) {
                div.muted { (t(lang, "banking")) }
                (hidden_lang(c))
                @let login = super::test_accounts::banking(c.channel.code);
                @if login.user.is_some() {
                    label for="user" { (t(lang, "user")) }
                    input #user name="user" autocomplete="username" required;
                }
                @if login.password.is_some() {
                    label for="password" { (t(lang, "password")) }
                    input #password name="password" type="password" autocomplete="current-password" required;
                }
                label for="otp" { (t(lang, "otp")) }
                input #otp name="otp" inputmode="numeric" autocomplete="one-time-code" required;
                (confirm_or_decline(c, "pay"))
            }
        },
        ChannelFamily::OnlineCredit => html! {
            form.card method="post" action=(c.action) {
                div.muted { (t(lang, "credit_with")) " " (c.channel.name) }
                (hidden_lang(c))
                label for="plan" { (t(lang, "credit")) }
                select #plan name="plan" {
                    // Only the plans open to this amount (instalments from Rp 1.500.000).
                    @for (plan, _, months) in super::credit::plans_for(c.bill.amount_minor) {
                        option value=(plan) selected[c.plan == Some(plan)] {
                            (t(lang, &format!("plan_{plan}")))
                            // What each month costs, at the provider's rate.
                            @if months > 0 {
                                " — "
                                (crate::routes::rupiah_text(super::credit::plan_cost(c.bill.amount_minor, months).1))
                                (t(lang, "per_month"))
                            }
                        }
                    }
                }
                label for="phone" { (t(lang, "phone")) }
                input #phone name="phone" inputmode="tel" autocomplete="tel" required;
                label for="pin" { (t(lang, "pin")) }
                input #pin name="pin" type="password" inputmode="numeric" required;
                label for="otp" { (t(lang, "otp")) }
                input #otp name="otp" inputmode="numeric" autocomplete="one-time-code" required;
                (confirm_or_decline(c, "approve"))
            }
        },
    };
    layout(c, body)
}

/// The page of the bill as it stands (`c.status`): how to pay it while it is
/// pending; then how it ended, and the way back to the merchant's return URL
/// when there is one (`back`).
pub fn page(c: &PageContext, back: Option<&str>) -> Markup {
    // Paid is good news, money given back is news, the rest went wrong.
    let (outcome, style) = match c.status {
        BillStatus::Pending => return pending(c),
        BillStatus::Paid => ("paid", "done"),
        BillStatus::PartlyRefunded => ("partly_refunded", "done"),
        BillStatus::Refunded => ("refunded", "note"),
        BillStatus::Reversed => ("reversed", "note"),
        BillStatus::Failed => ("failed", "error"),
        BillStatus::Expired => ("expired", "error"),
        BillStatus::Cancelled => ("cancelled", "error"),
    };
    let body = html! {
        section.card {
            p class=(style) data-testid="result" { (t(c.lang, outcome)) }
            @match back {
                Some(back) => a.button href=(back) data-testid="back" { (t(c.lang, "back")) },
                None => p.muted { (t(c.lang, "close")) },
            }
        }
    };
    layout(c, body)
}

/// A page for a link that names no bill, or a bad signature.
pub fn not_found(lang: Lang) -> Markup {
    message(
        lang,
        match lang {
            Lang::Id => "Tautan pembayaran tidak valid",
            Lang::En => "This payment link is not valid",
        },
    )
}

/// A page with one message.
pub fn message(lang: Lang, text: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1";
                   title { "gerbang" } style { (PreEscaped(STYLESHEET)) } }
            body { main { section.card { p.error role="alert" { (text) } } } }
        }
    }
}
