//! Dashboard users: adding and managing them (`gerbang users`), signing in
//! ([`signin`]), their sessions ([`sessions`]) and the audit log ([`audit`]).
//! Times here are the wall clock's, never the sandbox clock: a code from an
//! authenticator app and a session's age are real time.

pub mod audit;
mod password;
pub mod sessions;
pub mod signin;
pub mod totp;

use crate::App;
use gerbang_core::mask::Secret;
use gerbang_core::user::{Role, Scope, User, Username};
use gerbang_core::{Clock, Document, SystemClock, Timestamp};
use gerbang_store::{Expect, RecordWrite, Step, StepError};

/// Shortest password taken.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password taken (argon2 reads all of it).
pub const MAX_PASSWORD_CHARS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error("a user {0} already exists")]
    Exists(Username),
    #[error("no user {0}")]
    Unknown(Username),
    #[error("{0} changed meanwhile; try again")]
    Changed(Username),
    #[error("{0}")]
    Store(String),
}

impl From<gerbang_store::StoreError> for UserError {
    fn from(e: gerbang_store::StoreError) -> Self {
        UserError::Store(e.to_string())
    }
}

impl From<StepError> for UserError {
    fn from(e: StepError) -> Self {
        UserError::Store(e.to_string())
    }
}

/// The wall clock's now.
pub(crate) fn now() -> Timestamp {
    SystemClock.now()
}

/// A user as stored, with its version.
pub async fn load(app: &App, username: &Username) -> Result<Option<(User, i64)>, UserError> {
    Ok(crate::stored::load::<User>(app.store.as_ref(), User::KIND, username.as_str()).await?)
}

pub(crate) fn user_write(user: &User, expect: Expect) -> RecordWrite {
    RecordWrite {
        kind: User::KIND.into(),
        key: user.username.as_str().into(),
        owner: user.scope.owner(),
        state: user.state().into(),
        data: Document::of(user),
        expect,
    }
}

/// Commits `records` as one step; a record someone else changed meanwhile is
/// [`UserError::Changed`] (of `who`).
pub(crate) async fn commit(
    app: &App,
    records: Vec<RecordWrite>,
    who: &Username,
) -> Result<gerbang_store::StepOutcome, UserError> {
    match app
        .commit(Step {
            records,
            ..Step::default()
        })
        .await
    {
        Ok(outcome) => Ok(outcome),
        Err(StepError::RecordConflict { .. }) => Err(UserError::Changed(who.clone())),
        Err(e) => Err(e.into()),
    }
}

/// Writes `user` over version `version`.
pub(crate) async fn save(app: &App, user: &User, version: i64) -> Result<(), UserError> {
    commit(
        app,
        vec![user_write(user, Expect::Version(version))],
        &user.username,
    )
    .await?;
    Ok(())
}

/// Whether `scope` names a principal this gateway knows.
async fn scope_exists(app: &App, scope: &Scope) -> Result<bool, UserError> {
    Ok(match scope {
        Scope::Operator => true,
        Scope::Merchant(id) => app.store.record("merchant", id).await?.is_some(),
        Scope::Partner(va) => app.store.record("sendme_partner", va).await?.is_some(),
    })
}

/// What `add` made: the user, and its TOTP enrolment when its role needs one
/// (shown once: the secret is not shown again).
pub struct Added {
    pub user: User,
    pub enrolment: Option<totp::Enrolment>,
}

/// Adds a user with `password`.
pub async fn add(
    app: &App,
    username: Username,
    scope: Scope,
    role: Role,
    password: Secret,
) -> Result<Added, UserError> {
    let chars = password.expose().chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(UserError::Invalid(format!(
            "a password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        )));
    }
    if !scope_exists(app, &scope).await? {
        return Err(UserError::Invalid(format!("there is no {scope}")));
    }
    let enrolment = role
        .needs_second_factor()
        .then(|| totp::Enrolment::new(&username));
    let user = User {
        username: username.clone(),
        scope,
        role,
        password_hash: password::hash(password).await?,
        totp_secret: enrolment.as_ref().map(|e| e.secret.clone()),
        totp_last_step: None,
        disabled: false,
        failed_sign_ins: 0,
        locked_until: None,
        created_at: now(),
    };
    let step = Step {
        records: vec![user_write(&user, Expect::Absent)],
        ..Step::default()
    };
    match app.commit(step).await {
        Ok(_) => Ok(Added { user, enrolment }),
        Err(StepError::RecordConflict { .. }) => Err(UserError::Exists(username)),
        Err(e) => Err(e.into()),
    }
}

/// Every user, by username.
pub async fn list(app: &App) -> Result<Vec<User>, UserError> {
    let mut users = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .store
            .records(User::KIND, None, after.as_deref(), 500)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.key.clone());
        for record in &page {
            users.push(record.data.decode::<User>().map_err(|e| {
                UserError::Store(format!("stored user {} is unreadable: {e}", record.key))
            })?);
        }
    }
    Ok(users)
}

/// Disables `username`: it can no longer sign in, and its sessions end at their
/// next request.
pub async fn disable(app: &App, username: &Username) -> Result<User, UserError> {
    let (mut user, version) = load(app, username)
        .await?
        .ok_or_else(|| UserError::Unknown(username.clone()))?;
    user.disabled = true;
    save(app, &user, version).await?;
    Ok(user)
}

/// Gives `username` a new TOTP secret (the old one stops working) and lifts a
/// lockout; returns the enrolment to show once.
pub async fn reset_totp(app: &App, username: &Username) -> Result<totp::Enrolment, UserError> {
    let (mut user, version) = load(app, username)
        .await?
        .ok_or_else(|| UserError::Unknown(username.clone()))?;
    let enrolment = totp::Enrolment::new(username);
    user.totp_secret = Some(enrolment.secret.clone());
    user.totp_last_step = None;
    user.failed_sign_ins = 0;
    user.locked_until = None;
    save(app, &user, version).await?;
    Ok(enrolment)
}
