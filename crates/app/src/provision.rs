//! `gerbang provision FILE.toml`: creates or updates merchants and partners with
//! exactly the credentials in the file, so existing Faspay credentials move over
//! unchanged. A value left out keeps what is stored, or is generated (and reported
//! once) for a new principal. The whole file is checked before anything is written,
//! and then applied in one step: a bad file changes nothing, and re-running a file
//! changes nothing.

use crate::principals::{self, Merchant, Principal, SendmePartner, SnapPartner, SENDME_KEY_INDEX};
use gerbang_core::ledger::{codes, AccountKind, LedgerOp, NewAccount, NewEntry, Posting};
use gerbang_core::mask::Secret;
use gerbang_core::{Currency, Money, Timestamp};
use gerbang_store::{Document, Expect, RecordWrite, Step, StepError, Store};
use rand::distributions::{Alphanumeric, DistString};
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// Record kind marking that a partner's opening balance was posted.
pub const OPENING_BALANCE: &str = "provision.opening_balance";

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("{0}")]
    Invalid(String),
    #[error("storage: {0}")]
    Store(String),
}

// ---------------------------------------------------------------------------------
// Validated scalar fields: each refuses bad input at parse time, so the TOML error
// names the line and the field.

#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "String")]
struct Digits(String);

impl TryFrom<String> for Digits {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("expected 1 to 20 digits, got {s:?}"));
        }
        Ok(Digits(s))
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "String")]
struct Text(String);

impl TryFrom<String> for Text {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.trim().is_empty() || s.chars().count() > 256 || s.chars().any(char::is_control) {
            return Err("expected 1 to 256 printable characters".into());
        }
        Ok(Text(s))
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "String")]
struct HttpUrl(String);

impl TryFrom<String> for HttpUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(&s).map_err(|e| format!("not a URL ({e}): {s:?}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(format!("expected an http:// or https:// URL, got {s:?}"));
        }
        Ok(HttpUrl(s))
    }
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "String")]
struct Rupiah(i64);

impl TryFrom<String> for Rupiah {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let money = Money::parse_major(&s, Currency::Idr)
            .map_err(|e| format!("expected rupiah like \"100000000.00\": {e}"))?;
        if money.minor < 0 {
            return Err("must not be negative".into());
        }
        Ok(Rupiah(money.minor))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MerchantSpec {
    merchant_id: Digits,
    name: Option<Text>,
    user_id: Option<Text>,
    password: Option<Text>,
    notification_url: Option<HttpUrl>,
    return_url: Option<HttpUrl>,
    notification_format: Option<principals::NoticeFormat>,
    channels: Option<Vec<ChannelCode>>,
    fee: Option<Vec<FeeSpec>>,
}

/// `[[merchant.fee]]`: `channel` (or none: the default), `flat` rupiah, `percent`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeeSpec {
    channel: Option<ChannelCode>,
    flat: Option<Rupiah>,
    /// Up to two decimals: `"0.70"`.
    percent: Option<Percent>,
}

/// A share in hundredths of a percent, written `"0.70"` (at most 100).
#[derive(Debug, Clone, Copy)]
struct Percent(i64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let money = Money::parse_major(&text, Currency::Idr)
            .map_err(|_| serde::de::Error::custom(format!("percent {text:?}: like \"0.70\"")))?;
        if !(0..=10_000).contains(&money.minor) {
            return Err(serde::de::Error::custom("percent: from 0 to 100"));
        }
        Ok(Percent(money.minor))
    }
}

/// A payment channel code the gateway knows.
#[derive(Debug, Clone)]
struct ChannelCode(String);

impl<'de> Deserialize<'de> for ChannelCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        if gerbang_core::payin::find_channel(&code).is_none() {
            return Err(serde::de::Error::custom(format!(
                "unknown payment channel {code:?}"
            )));
        }
        Ok(ChannelCode(code))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendmeSpec {
    virtual_account: Digits,
    name: Option<Text>,
    faspay_key: Option<Text>,
    faspay_secret: Option<Text>,
    app_key: Option<Text>,
    app_secret: Option<Text>,
    client_key: Option<Text>,
    client_secret: Option<Text>,
    iv: Option<Text>,
    opening_balance: Option<Rupiah>,
    require_approval: Option<bool>,
    cashout_expiry_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapSpec {
    partner_id: Text,
    channel_id: Option<Digits>,
    public_key_file: Option<Spanned<String>>,
    public_key: Option<Spanned<String>>,
    client_secret: Option<Text>,
    source_account: Spanned<Digits>,
    notification_url: Option<HttpUrl>,
    /// `asymmetric` (SHA256withRSA, no token) or `symmetric` (B2B token + HMAC-SHA512).
    signature_mode: Option<principals::SignatureMode>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvisionFile {
    #[serde(default)]
    merchant: Vec<MerchantSpec>,
    #[serde(default)]
    sendme_partner: Vec<SendmeSpec>,
    #[serde(default)]
    snap_partner: Vec<SnapSpec>,
}

/// A checked provisioning file, ready to apply.
#[derive(Debug)]
pub struct Plan {
    merchants: Vec<MerchantSpec>,
    sendme: Vec<SendmeSpec>,
    snap: Vec<(SnapSpec, Option<String>)>,
    /// Where each snap partner's source account stands in the file, for errors.
    snap_source_lines: Vec<usize>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn is_public_key_pem(pem: &str) -> bool {
    let pem = pem.trim();
    pem.starts_with("-----BEGIN PUBLIC KEY-----") && pem.ends_with("-----END PUBLIC KEY-----")
}

/// Parses and checks a provisioning file. `base` is the folder relative key files
/// are read from. Nothing is written.
pub fn plan(text: &str, base: &Path) -> Result<Plan, ProvisionError> {
    let file: ProvisionFile =
        toml::from_str(text).map_err(|e| ProvisionError::Invalid(e.to_string()))?;
    let invalid = |offset: usize, field: &str, why: String| {
        ProvisionError::Invalid(format!(
            "line {}, field `{field}`: {why}",
            line_of(text, offset)
        ))
    };
    let mut seen = std::collections::HashSet::new();
    for m in &file.merchant {
        if !seen.insert(("merchant", m.merchant_id.0.clone())) {
            return Err(ProvisionError::Invalid(format!(
                "merchant {} appears twice",
                m.merchant_id.0
            )));
        }
    }
    let mut faspay_keys = std::collections::HashSet::new();
    for p in &file.sendme_partner {
        if !seen.insert(("sendme", p.virtual_account.0.clone())) {
            return Err(ProvisionError::Invalid(format!(
                "sendme_partner {} appears twice",
                p.virtual_account.0
            )));
        }
        if let Some(key) = &p.faspay_key {
            if !faspay_keys.insert(key.0.clone()) {
                return Err(ProvisionError::Invalid(format!(
                    "faspay_key of sendme_partner {} is used by another partner",
                    p.virtual_account.0
                )));
            }
        }
    }
    let mut snap = Vec::new();
    let mut snap_source_lines = Vec::new();
    for s in file.snap_partner {
        if !seen.insert(("snap", s.partner_id.0.clone())) {
            return Err(ProvisionError::Invalid(format!(
                "snap_partner {} appears twice",
                s.partner_id.0
            )));
        }
        let pem = match (&s.public_key, &s.public_key_file) {
            (Some(_), Some(file)) => {
                return Err(invalid(
                    file.span().start,
                    "public_key_file",
                    "give public_key or public_key_file, not both".into(),
                ))
            }
            (Some(inline), None) => {
                if !is_public_key_pem(inline.get_ref()) {
                    return Err(invalid(
                        inline.span().start,
                        "public_key",
                        "expected a PEM block -----BEGIN PUBLIC KEY-----".into(),
                    ));
                }
                Some(inline.get_ref().trim().to_string())
            }
            (None, Some(file)) => {
                let path = base.join(file.get_ref());
                let pem = std::fs::read_to_string(&path).map_err(|e| {
                    invalid(
                        file.span().start,
                        "public_key_file",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                if !is_public_key_pem(&pem) {
                    return Err(invalid(
                        file.span().start,
                        "public_key_file",
                        format!("{} is not a PEM PUBLIC KEY", path.display()),
                    ));
                }
                Some(pem.trim().to_string())
            }
            (None, None) => None,
        };
        snap_source_lines.push(line_of(text, s.source_account.span().start));
        snap.push((s, pem));
    }
    Ok(Plan {
        merchants: file.merchant,
        sendme: file.sendme_partner,
        snap,
        snap_source_lines,
    })
}

/// What applying a plan did.
#[derive(Debug, Default)]
pub struct Report {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    /// Values that were not in the file and were generated: (principal, field, value).
    /// They are shown once, now; later runs keep them.
    pub generated: Vec<(String, &'static str, String)>,
    pub warnings: Vec<String>,
}

impl Report {
    pub fn changed_anything(&self) -> bool {
        !self.created.is_empty() || !self.updated.is_empty()
    }

    /// Human-readable lines for the operator.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.created {
            out.push(format!("created   {c}"));
        }
        for u in &self.updated {
            out.push(format!("updated   {u}"));
        }
        for u in &self.unchanged {
            out.push(format!("unchanged {u}"));
        }
        for (who, field, value) in &self.generated {
            out.push(format!("generated {who} {field} = {value}"));
        }
        for w in &self.warnings {
            out.push(format!("warning   {w}"));
        }
        out
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn random_text(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), len)
}

/// Picks the file's value, else the stored one, else a generated one (reported).
struct Merge<'a> {
    who: String,
    report: &'a mut Report,
}

impl Merge<'_> {
    fn pick(
        &mut self,
        field: &'static str,
        given: Option<&Text>,
        stored: Option<&str>,
        generate: impl FnOnce() -> String,
    ) -> String {
        if let Some(v) = given {
            return v.0.clone();
        }
        if let Some(v) = stored {
            return v.to_string();
        }
        let v = generate();
        self.report
            .generated
            .push((self.who.clone(), field, v.clone()));
        v
    }
}

pub(crate) fn principal_write<P: Principal>(p: &P, version: Option<i64>) -> RecordWrite {
    RecordWrite {
        kind: P::KIND.to_string(),
        key: p.key().to_string(),
        owner: p.key().to_string(),
        state: "active".into(),
        data: Document::of(p),
        expect: version.map_or(Expect::Absent, Expect::Version),
    }
}

/// Classifies a principal as created, updated or unchanged and adds its write.
async fn stage<P: Principal + PartialEq>(
    store: &dyn Store,
    next: &P,
    step: &mut Step,
    report: &mut Report,
) -> Result<(), ProvisionError> {
    let label = format!("{} {}", P::KIND, next.key());
    let existing = store
        .record(P::KIND, next.key())
        .await
        .map_err(|e| ProvisionError::Store(e.to_string()))?;
    match existing {
        None => {
            step.records.push(principal_write(next, None));
            report.created.push(label);
        }
        Some(record) => {
            let stored: Option<P> = record.data.decode().ok();
            if stored.as_ref() == Some(next) {
                report.unchanged.push(label);
            } else {
                step.records
                    .push(principal_write(next, Some(record.version)));
                report.updated.push(label);
            }
        }
    }
    Ok(())
}

/// How often a step that lost a race with another process is built again.
const CONFLICT_RETRIES: u32 = 3;

/// Applies a checked plan in one step.
///
/// Another process may provision the same principals at the same moment (two
/// gateways starting together on one database). The step that loses that race is
/// refused whole; it is then built again from what is stored now, which changes
/// only what still differs, as a re-run would.
pub async fn apply(
    store: &dyn Store,
    now: Timestamp,
    plan: Plan,
) -> Result<Report, ProvisionError> {
    let mut retries = 0;
    loop {
        let (report, step) = build(store, &plan).await?;
        if step.records.is_empty() && step.ledger.is_empty() {
            return Ok(report);
        }
        match store.commit(now, step).await {
            Ok(_) => return Ok(report),
            Err(StepError::RecordConflict { .. }) if retries < CONFLICT_RETRIES => retries += 1,
            Err(e) => return Err(ProvisionError::Store(e.to_string())),
        }
    }
}

/// The step that brings the store to the plan, and what it would do.
async fn build(store: &dyn Store, plan: &Plan) -> Result<(Report, Step), ProvisionError> {
    let mut report = Report::default();
    let mut step = Step::default();
    let store_err = |e: gerbang_store::StoreError| ProvisionError::Store(e.to_string());

    for spec in &plan.merchants {
        let id = spec.merchant_id.0.clone();
        let stored: Option<Merchant> = principals::load(store, &id).await.map_err(store_err)?;
        let mut merge = Merge {
            who: format!("merchant {id}"),
            report: &mut report,
        };
        let next = Merchant {
            name: merge.pick(
                "name",
                spec.name.as_ref(),
                stored.as_ref().map(|m| m.name.as_str()),
                || format!("Merchant {id}"),
            ),
            user_id: merge.pick(
                "user_id",
                spec.user_id.as_ref(),
                stored.as_ref().map(|m| m.user_id.as_str()),
                || format!("bot{id}"),
            ),
            password: Secret::new(merge.pick(
                "password",
                spec.password.as_ref(),
                stored.as_ref().map(|m| m.password.expose()),
                || random_text(16),
            )),
            notification_url: spec
                .notification_url
                .as_ref()
                .map(|u| u.0.clone())
                .or_else(|| stored.as_ref().and_then(|m| m.notification_url.clone())),
            return_url: spec
                .return_url
                .as_ref()
                .map(|u| u.0.clone())
                .or_else(|| stored.as_ref().and_then(|m| m.return_url.clone())),
            fees: match &spec.fee {
                Some(fees) => fees
                    .iter()
                    .map(|f| principals::Fee {
                        channel: f.channel.as_ref().map(|c| c.0.clone()),
                        flat_minor: f.flat.as_ref().map_or(0, |r| r.0),
                        basis_points: f.percent.map_or(0, |p| p.0),
                    })
                    .collect(),
                None => stored.as_ref().map(|m| m.fees.clone()).unwrap_or_default(),
            },
            channels: spec
                .channels
                .as_ref()
                .map(|c| c.iter().map(|c| c.0.clone()).collect())
                .or_else(|| stored.as_ref().and_then(|m| m.channels.clone())),
            notification_format: spec
                .notification_format
                .or_else(|| stored.as_ref().map(|m| m.notification_format))
                .unwrap_or_default(),
            merchant_id: id.clone(),
        };
        step.accounts.push(NewAccount {
            code: codes::merchant_settlement(&id),
            kind: AccountKind::MerchantSettlement,
            currency: Currency::Idr,
        });
        stage(store, &next, &mut step, &mut report).await?;
    }

    let mut partners_in_file = std::collections::HashSet::new();
    for spec in &plan.sendme {
        let va = spec.virtual_account.0.clone();
        partners_in_file.insert(va.clone());
        let stored: Option<SendmePartner> =
            principals::load(store, &va).await.map_err(store_err)?;
        let s = stored.as_ref();
        let mut merge = Merge {
            who: format!("sendme_partner {va}"),
            report: &mut report,
        };
        let next = SendmePartner {
            name: merge.pick(
                "name",
                spec.name.as_ref(),
                s.map(|p| p.name.as_str()),
                || format!("Partner {va}"),
            ),
            faspay_key: merge.pick(
                "faspay_key",
                spec.faspay_key.as_ref(),
                s.map(|p| p.faspay_key.as_str()),
                uuid,
            ),
            faspay_secret: Secret::new(merge.pick(
                "faspay_secret",
                spec.faspay_secret.as_ref(),
                s.map(|p| p.faspay_secret.expose()),
                uuid,
            )),
            app_key: merge.pick(
                "app_key",
                spec.app_key.as_ref(),
                s.map(|p| p.app_key.as_str()),
                uuid,
            ),
            app_secret: Secret::new(merge.pick(
                "app_secret",
                spec.app_secret.as_ref(),
                s.map(|p| p.app_secret.expose()),
                uuid,
            )),
            client_key: merge.pick(
                "client_key",
                spec.client_key.as_ref(),
                s.map(|p| p.client_key.as_str()),
                uuid,
            ),
            client_secret: Secret::new(merge.pick(
                "client_secret",
                spec.client_secret.as_ref(),
                s.map(|p| p.client_secret.expose()),
                uuid,
            )),
            iv: Secret::new(
                merge.pick("iv", spec.iv.as_ref(), s.map(|p| p.iv.expose()), || {
                    format!("gerbang{}", random_text(8))
                }),
            ),
            require_approval: spec
                .require_approval
                .or(s.map(|p| p.require_approval))
                .unwrap_or(false),
            cashout_expiry_seconds: spec
                .cashout_expiry_seconds
                .filter(|s| *s > 0)
                .or(s.and_then(|p| p.cashout_expiry_seconds)),
            virtual_account: va.clone(),
        };
        // The faspay_key must point at this partner and no other.
        match store
            .record(SENDME_KEY_INDEX, &next.faspay_key)
            .await
            .map_err(store_err)?
        {
            Some(index) if index.owner != va => {
                return Err(ProvisionError::Invalid(format!(
                    "faspay_key of sendme_partner {va} already belongs to partner {}",
                    index.owner
                )))
            }
            Some(_) => {}
            None => step.records.push(RecordWrite {
                kind: SENDME_KEY_INDEX.into(),
                key: next.faspay_key.clone(),
                owner: va.clone(),
                state: "active".into(),
                data: Document::of(&()),
                expect: Expect::Absent,
            }),
        }
        step.accounts.push(NewAccount {
            code: next.account_code(),
            kind: AccountKind::PartnerBalance,
            currency: Currency::Idr,
        });
        if let Some(Rupiah(amount)) = spec.opening_balance {
            match store
                .record(OPENING_BALANCE, &va)
                .await
                .map_err(store_err)?
            {
                Some(done) => {
                    let posted = done.data.value()["amount"].as_i64().unwrap_or_default();
                    if posted != amount {
                        report.warnings.push(format!(
                            "sendme_partner {va}: the opening balance was already posted as {}; \
                             top up through the sandbox API to add more",
                            Money::idr(posted).to_major_string()
                        ));
                    }
                }
                None if amount > 0 => {
                    step.records.push(RecordWrite {
                        kind: OPENING_BALANCE.into(),
                        key: va.clone(),
                        owner: va.clone(),
                        state: "posted".into(),
                        data: serde_json::json!({ "amount": amount }).into(),
                        expect: Expect::Absent,
                    });
                    step.ledger.push(LedgerOp::Transfer(NewEntry {
                        kind: "topup".into(),
                        reference: format!("opening-balance-{va}"),
                        description: "opening balance".into(),
                        currency: Currency::Idr,
                        postings: vec![
                            Posting {
                                account: codes::OPERATOR_FUNDING.into(),
                                amount: -amount,
                            },
                            Posting {
                                account: next.account_code(),
                                amount,
                            },
                        ],
                    }));
                }
                None => {}
            }
        }
        stage(store, &next, &mut step, &mut report).await?;
    }

    for ((spec, pem), line) in plan.snap.iter().zip(&plan.snap_source_lines) {
        let id = spec.partner_id.0.clone();
        let source = spec.source_account.get_ref().0.clone();
        if !partners_in_file.contains(&source)
            && principals::load::<SendmePartner>(store, &source)
                .await
                .map_err(store_err)?
                .is_none()
        {
            return Err(ProvisionError::Invalid(format!(
                "line {line}, field `source_account`: no sendme_partner has virtual account {source}"
            )));
        }
        let stored: Option<SnapPartner> = principals::load(store, &id).await.map_err(store_err)?;
        let s = stored.as_ref();
        let next = SnapPartner {
            partner_id: id.clone(),
            channel_id: spec
                .channel_id
                .as_ref()
                .map(|c| c.0.clone())
                .or(s.map(|p| p.channel_id.clone()))
                .unwrap_or_else(|| "95221".into()),
            public_key_pem: pem.clone().or(s.and_then(|p| p.public_key_pem.clone())),
            client_secret: spec
                .client_secret
                .as_ref()
                .map(|c| Secret::new(c.0.clone()))
                .or(s.and_then(|p| p.client_secret.clone())),
            source_account: source,
            notification_url: spec
                .notification_url
                .as_ref()
                .map(|u| u.0.clone())
                .or(s.and_then(|p| p.notification_url.clone())),
            signature_mode: spec.signature_mode.or(s.and_then(|p| p.signature_mode)),
        };
        let mut next = next;
        if next.signature_mode == Some(principals::SignatureMode::Asymmetric)
            && next.public_key_pem.is_none()
        {
            return Err(ProvisionError::Invalid(format!(
                "snap_partner {id}: signature_mode \"asymmetric\" needs public_key or public_key_file"
            )));
        }
        if next.client_secret.is_none()
            && (next.public_key_pem.is_none()
                || next.signature_mode == Some(principals::SignatureMode::Symmetric))
        {
            // Without either the partner could not sign: give it a symmetric secret.
            let secret = random_text(32);
            report.generated.push((
                format!("snap_partner {id}"),
                "client_secret",
                secret.clone(),
            ));
            next.client_secret = Some(Secret::new(secret));
        }
        stage(store, &next, &mut step, &mut report).await?;
    }

    if step.records.is_empty() && step.ledger.is_empty() {
        return Ok((report, step));
    }
    step.accounts.push(NewAccount {
        code: codes::OPERATOR_FUNDING.into(),
        kind: AccountKind::OperatorFunding,
        currency: Currency::Idr,
    });
    step.accounts.sort_by(|a, b| a.code.cmp(&b.code));
    Ok((report, step))
}

/// Reads, checks and applies a provisioning file.
pub async fn apply_file(
    store: &dyn Store,
    now: Timestamp,
    path: &Path,
) -> Result<Report, ProvisionError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ProvisionError::Invalid(format!("{}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let plan = plan(&text, base)
        .map_err(|e| ProvisionError::Invalid(format!("{}: {e}", path.display())))?;
    apply(store, now, plan).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line_and_the_field() {
        let text =
            "[[sendme_partner]]\nvirtual_account = \"9920015307\"\nopening_balance = \"12.345\"\n";
        let err = plan(text, Path::new(".")).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("opening_balance"), "{err}");

        let text = "[[merchant]]\nmerchant_id = \"99999\"\nnotification_url = \"ftp://x\"\n";
        let err = plan(text, Path::new(".")).unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("notification_url"),
            "{err}"
        );

        let text = "[[merchant]]\nmerchant_id = \"99999\"\npasword = \"x\"\n";
        let err = plan(text, Path::new(".")).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("pasword"), "{err}");

        let text = "[[snap_partner]]\npartner_id = \"1\"\nsource_account = \"1\"\npublic_key_file = \"/nonexistent.pem\"\n";
        let err = plan(text, Path::new(".")).unwrap_err().to_string();
        assert!(
            err.contains("line 4") && err.contains("public_key_file"),
            "{err}"
        );
    }
}
