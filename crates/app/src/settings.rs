//! A principal's developer settings, changed from the dashboard: a merchant's
//! notification and return URLs and notification syntax, new credentials (shown
//! once, by whoever rotates them), and a test notification through the notifier.
//! Each change and its audit entry are one step. A provisioning file applied at
//! a later start writes what it names over them.

use crate::principals::{self, Merchant, NoticeFormat, SendmePartner};
use crate::App;
use gerbang_core::mask::Secret;
use gerbang_core::values::HttpUrl;
use gerbang_store::{NewNotification, RecordWrite, Step, StepError};

/// Longest URL taken.
pub const MAX_URL_CHARS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("no such principal")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("it changed meanwhile; try again")]
    Changed,
    #[error("storage: {0}")]
    Store(String),
}

impl From<gerbang_store::StoreError> for SettingsError {
    fn from(e: gerbang_store::StoreError) -> Self {
        SettingsError::Store(e.to_string())
    }
}

async fn commit(app: &App, records: Vec<RecordWrite>) -> Result<(), SettingsError> {
    match app
        .commit(Step {
            records,
            ..Step::default()
        })
        .await
    {
        Ok(_) => Ok(()),
        Err(StepError::RecordConflict { .. }) => Err(SettingsError::Changed),
        Err(e) => Err(SettingsError::Store(e.to_string())),
    }
}

pub async fn merchant(app: &App, id: &str) -> Result<(Merchant, i64), SettingsError> {
    crate::stored::load::<Merchant>(app.store.as_ref(), principals::MERCHANT, id)
        .await?
        .ok_or(SettingsError::NotFound)
}

pub async fn partner(app: &App, va: &str) -> Result<(SendmePartner, i64), SettingsError> {
    crate::stored::load::<SendmePartner>(app.store.as_ref(), principals::SENDME_PARTNER, va)
        .await?
        .ok_or(SettingsError::NotFound)
}

/// A URL as a form gives it: blank is none; otherwise an http(s) URL this
/// gateway may call (production refuses internal addresses).
pub fn url(app: &App, given: &str) -> Result<Option<String>, SettingsError> {
    let given = given.trim();
    if given.is_empty() {
        return Ok(None);
    }
    let url = HttpUrl::parse(given, MAX_URL_CHARS)
        .map_err(|e| SettingsError::Invalid(format!("{given:?}: {e}")))?;
    if app.config.refuses_notice_url(Some(url.as_str())) {
        return Err(SettingsError::Invalid(format!(
            "{given:?} names an internal address, which this gateway does not call"
        )));
    }
    Ok(Some(url.as_str().to_string()))
}

/// Sets a merchant's notification and return URLs and notification syntax.
pub async fn update_merchant(
    app: &App,
    id: &str,
    notification_url: Option<String>,
    return_url: Option<String>,
    format: NoticeFormat,
    audit: RecordWrite,
) -> Result<Merchant, SettingsError> {
    let (mut m, version) = merchant(app, id).await?;
    m.notification_url = notification_url;
    m.return_url = return_url;
    m.notification_format = format;
    commit(
        app,
        vec![crate::provision::principal_write(&m, Some(version)), audit],
    )
    .await?;
    Ok(m)
}

/// 24 random bytes, base64url: a new secret.
fn new_secret() -> Secret {
    use base64::Engine;
    Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>()))
}

/// Gives a merchant a new Debit password (its signatures change with it);
/// returns it, to be shown once.
pub async fn rotate_merchant_password(
    app: &App,
    id: &str,
    audit: RecordWrite,
) -> Result<Secret, SettingsError> {
    let (mut m, version) = merchant(app, id).await?;
    m.password = new_secret();
    commit(
        app,
        vec![crate::provision::principal_write(&m, Some(version)), audit],
    )
    .await?;
    Ok(m.password)
}

/// Gives a SendMe partner new secrets (Faspay secret, app secret, client
/// secret; its keys stay); returns the partner with them, to be shown once.
pub async fn rotate_partner_secrets(
    app: &App,
    va: &str,
    audit: RecordWrite,
) -> Result<SendmePartner, SettingsError> {
    let (mut p, version) = partner(app, va).await?;
    p.faspay_secret = new_secret();
    p.app_secret = new_secret();
    p.client_secret = new_secret();
    commit(
        app,
        vec![crate::provision::principal_write(&p, Some(version)), audit],
    )
    .await?;
    Ok(p)
}

/// Queues a test notification to `url` for `owner` through the notifier (its
/// timeouts, destination rules and attempt log); returns its id.
pub async fn test_notification(
    app: &App,
    owner: &str,
    url: &str,
    body: String,
) -> Result<i64, SettingsError> {
    let outcome = app
        .commit(Step {
            notifications: vec![NewNotification {
                protocol: "test".into(),
                owner: owner.to_string(),
                source: format!("dashboard:test:{:016x}", rand::random::<u64>()),
                url: url.to_string(),
                body,
                request_id: None,
            }],
            ..Step::default()
        })
        .await
        .map_err(|e| SettingsError::Store(e.to_string()))?;
    outcome
        .notification_ids
        .first()
        .copied()
        .ok_or_else(|| SettingsError::Store("no notification id".into()))
}
