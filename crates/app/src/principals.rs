//! Who talks to the gateway: Debit merchants, SendMe partners and SNAP partners.
//! Stored as records; secrets are kept as given (the protocols need them to compute
//! signatures) and never printed.

use crate::remembered::Remembered;
use gerbang_core::ledger::codes;
use gerbang_core::mask::Secret;
use gerbang_store::{Store, StoreError};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::sync::Arc;

pub const MERCHANT: &str = "merchant";
pub const SENDME_PARTNER: &str = "sendme_partner";
pub const SNAP_PARTNER: &str = "snap_partner";
/// Index record: SendMe `faspay_key` → virtual account.
pub const SENDME_KEY_INDEX: &str = "sendme_partner.by_faspay_key";

/// A Debit payment API merchant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Merchant {
    pub merchant_id: String,
    pub name: String,
    pub user_id: String,
    pub password: Secret,
    pub notification_url: Option<String>,
    pub return_url: Option<String>,
    /// The syntax the merchant reads payment notifications in.
    #[serde(default)]
    pub notification_format: NoticeFormat,
    /// The payment channels its bills may name; unset: every channel the gateway knows.
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    /// What the operator keeps of each paid bill, per channel.
    #[serde(default)]
    pub fees: Vec<Fee>,
}

/// The operator's fee on a channel's paid bills: a flat amount plus a share.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// The channel it applies to; `None`: every channel without a fee of its own.
    pub channel: Option<String>,
    pub flat_minor: i64,
    /// Hundredths of a percent (`70` = 0.70 %).
    pub basis_points: i64,
}

impl Fee {
    /// The fee on `amount_minor`: flat plus the share rounded half up, never more
    /// than the amount.
    pub fn on(&self, amount_minor: i64) -> i64 {
        let share = (i128::from(amount_minor) * i128::from(self.basis_points) + 5_000) / 10_000;
        (i128::from(self.flat_minor) + share).clamp(0, i128::from(amount_minor)) as i64
    }
}

/// JSON or XML, as a merchant chose in its developer settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeFormat {
    #[default]
    Json,
    Xml,
}

impl Merchant {
    /// The fee on a bill of `amount_minor` paid through `channel`.
    pub fn fee_for(&self, channel: &str, amount_minor: i64) -> i64 {
        self.fees
            .iter()
            .find(|f| f.channel.as_deref() == Some(channel))
            .or_else(|| self.fees.iter().find(|f| f.channel.is_none()))
            .map_or(0, |f| f.on(amount_minor))
    }

    /// The channels this merchant's bills may name.
    pub fn enabled_channels(
        &self,
    ) -> impl Iterator<Item = &'static gerbang_core::payin::Channel> + '_ {
        gerbang_core::payin::CHANNELS
            .iter()
            .filter(|c| match &self.channels {
                Some(enabled) => enabled.iter().any(|e| e == c.code),
                // Cards go through a gateway of their own: only when named.
                None => c.family != gerbang_core::payin::ChannelFamily::Card,
            })
    }

    /// What the Debit face signs and addresses its notices with.
    pub fn notice_keys(&self) -> gerbang_protocol::debit::notice::MerchantKeys {
        use gerbang_protocol::debit::message::Syntax;
        gerbang_protocol::debit::notice::MerchantKeys {
            merchant_id: self.merchant_id.clone(),
            name: self.name.clone(),
            user_id: self.user_id.clone(),
            password: self.password.expose().to_string(),
            syntax: match self.notification_format {
                NoticeFormat::Json => Syntax::Json,
                NoticeFormat::Xml => Syntax::Xml,
            },
        }
    }
}

/// A SendMe disbursement partner; its virtual account is also the source of funds
/// for the SNAP partners that name it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendmePartner {
    pub virtual_account: String,
    pub name: String,
    pub faspay_key: String,
    pub faspay_secret: Secret,
    pub app_key: String,
    pub app_secret: Secret,
    pub client_key: String,
    pub client_secret: Secret,
    pub iv: Secret,
    pub require_approval: bool,
    /// How long this partner's cash-out codes live unless a request says.
    #[serde(default)]
    pub cashout_expiry_seconds: Option<u64>,
}

impl SendmePartner {
    pub fn account_code(&self) -> String {
        codes::partner_balance(&self.virtual_account)
    }

    /// Who this partner is as the requester of a SendMe v1 request.
    pub fn requester(&self) -> gerbang_core::payout::Requester {
        gerbang_core::payout::Requester {
            face: gerbang_core::payout::Face::SendmeV1,
            principal: self.virtual_account.clone(),
        }
    }

    /// What SendMe's notices need of this partner.
    pub fn callback_keys(&self) -> gerbang_protocol::sendme::notice::CallbackKeys {
        gerbang_protocol::sendme::notice::CallbackKeys {
            va_name: self.name.clone(),
            app_key: self.app_key.clone(),
            app_secret: self.app_secret.expose().to_string(),
            client_key: self.client_key.clone(),
            client_secret: self.client_secret.expose().to_string(),
        }
    }
}

/// A SNAP open-API partner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapPartner {
    pub partner_id: String,
    pub channel_id: String,
    /// PEM `PUBLIC KEY` that verifies the partner's SHA256withRSA signatures.
    pub public_key_pem: Option<String>,
    /// For the symmetric (HMAC-SHA512) signature mode.
    pub client_secret: Option<Secret>,
    pub source_account: String,
    pub notification_url: Option<String>,
    /// How its transactional requests are signed; unset: asymmetric when it has a
    /// public key, symmetric otherwise.
    #[serde(default)]
    pub signature_mode: Option<SignatureMode>,
}

/// SNAP's two ways of signing a transactional request (spec §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureMode {
    /// SHA256withRSA with the partner's private key, no token (Faspay's way).
    Asymmetric,
    /// HMAC-SHA512 with the client secret over a B2B access token (the standard's).
    Symmetric,
}

impl SnapPartner {
    pub fn mode(&self) -> SignatureMode {
        self.signature_mode
            .unwrap_or(match (&self.public_key_pem, &self.client_secret) {
                (None, Some(_)) => SignatureMode::Symmetric,
                _ => SignatureMode::Asymmetric,
            })
    }

    /// Who this partner is as the requester of a SNAP request.
    pub fn requester(&self) -> gerbang_core::payout::Requester {
        gerbang_core::payout::Requester {
            face: gerbang_core::payout::Face::Snap,
            principal: self.partner_id.clone(),
        }
    }

    /// What SNAP's notices need of this partner.
    pub fn notice_address(&self) -> gerbang_protocol::snap::notice::PartnerAddress {
        gerbang_protocol::snap::notice::PartnerAddress {
            notification_url: self.notification_url.clone(),
        }
    }

    /// The balance its transfers spend: its SendMe source account's.
    pub fn account_code(&self) -> String {
        codes::partner_balance(&self.source_account)
    }
}

pub trait Principal: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn key(&self) -> &str;
}

impl Principal for Merchant {
    const KIND: &'static str = MERCHANT;
    fn key(&self) -> &str {
        &self.merchant_id
    }
}

impl Principal for SendmePartner {
    const KIND: &'static str = SENDME_PARTNER;
    fn key(&self) -> &str {
        &self.virtual_account
    }
}

impl Principal for SnapPartner {
    const KIND: &'static str = SNAP_PARTNER;
    fn key(&self) -> &str {
        &self.partner_id
    }
}

/// Loads a principal by its key.
pub async fn load<P: Principal>(store: &dyn Store, key: &str) -> Result<Option<P>, StoreError> {
    Ok(crate::stored::load(store, P::KIND, key)
        .await?
        .map(|(principal, _)| principal))
}

/// The SendMe partner whose `faspay-key` header this is.
pub async fn sendme_partner_by_key(
    store: &dyn Store,
    faspay_key: &str,
) -> Result<Option<SendmePartner>, StoreError> {
    let Some(index) = store.record(SENDME_KEY_INDEX, faspay_key).await? else {
        return Ok(None);
    };
    load(store, &index.owner).await
}

/// SendMe partners by `faspay_key` and virtual account, and Debit merchants by id,
/// remembered for a moment: every request names its principal, and reading its
/// record on each would cost more than the request. A provisioning change is seen
/// within [`PartnerCache::TTL`].
pub struct PartnerCache {
    by_key: Remembered<SendmePartner>,
    by_va: Remembered<SendmePartner>,
    merchants: Remembered<Arc<Merchant>>,
    snap: Remembered<Arc<SnapPartner>>,
}

impl Default for PartnerCache {
    fn default() -> Self {
        PartnerCache {
            by_key: Remembered::new(Some(Self::TTL), Self::MAX_ENTRIES),
            by_va: Remembered::new(Some(Self::TTL), Self::MAX_ENTRIES),
            merchants: Remembered::new(Some(Self::TTL), Self::MAX_ENTRIES),
            snap: Remembered::new(Some(Self::TTL), Self::MAX_ENTRIES),
        }
    }
}

impl PartnerCache {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(2);
    /// Most partners remembered; past that the cache starts over.
    const MAX_ENTRIES: usize = 10_000;

    pub async fn sendme_by_key(
        &self,
        store: &dyn Store,
        faspay_key: &str,
    ) -> Result<Option<SendmePartner>, StoreError> {
        if let Some(partner) = self.by_key.recall(faspay_key) {
            return Ok(Some(partner));
        }
        let found = sendme_partner_by_key(store, faspay_key).await?;
        if let Some(partner) = &found {
            self.by_key.remember(faspay_key, partner.clone());
        }
        Ok(found)
    }

    /// The partner with this virtual account (workers settling its transfers ask).
    pub async fn sendme_by_va(
        &self,
        store: &dyn Store,
        virtual_account: &str,
    ) -> Result<Option<SendmePartner>, StoreError> {
        if let Some(partner) = self.by_va.recall(virtual_account) {
            return Ok(Some(partner));
        }
        let found: Option<SendmePartner> = load(store, virtual_account).await?;
        if let Some(partner) = &found {
            self.by_va.remember(virtual_account, partner.clone());
        }
        Ok(found)
    }

    /// The Debit merchant with this id.
    pub async fn merchant(
        &self,
        store: &dyn Store,
        merchant_id: &str,
    ) -> Result<Option<Arc<Merchant>>, StoreError> {
        if let Some(merchant) = self.merchants.recall(merchant_id) {
            return Ok(Some(merchant));
        }
        let found: Option<Arc<Merchant>> = load(store, merchant_id).await?.map(Arc::new);
        if let Some(merchant) = &found {
            self.merchants.remember(merchant_id, merchant.clone());
        }
        Ok(found)
    }

    /// The SNAP partner with this `X-PARTNER-ID`.
    pub async fn snap(
        &self,
        store: &dyn Store,
        partner_id: &str,
    ) -> Result<Option<Arc<SnapPartner>>, StoreError> {
        if let Some(partner) = self.snap.recall(partner_id) {
            return Ok(Some(partner));
        }
        let found: Option<Arc<SnapPartner>> = load(store, partner_id).await?.map(Arc::new);
        if let Some(partner) = &found {
            self.snap.remember(partner_id, partner.clone());
        }
        Ok(found)
    }
}
