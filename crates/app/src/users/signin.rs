//! Signing in: a password, then a TOTP code for roles that need one. Wrong
//! answers count against the user; at [`MAX_FAILED`] in a row it is locked for
//! [`LOCKOUT_SECONDS`]. Every outcome is audited in the step that records it.

use super::sessions::{self, Live};
use super::{load, now, password, totp, user_write, UserError};
use crate::App;
use gerbang_core::mask::Secret;
use gerbang_core::user::{AuditEntry, Scope, User, Username};
use gerbang_core::Timestamp;
use gerbang_store::{Expect, RecordWrite, Step, StepError};

/// Wrong passwords or codes in a row that lock a user.
pub const MAX_FAILED: u32 = 5;
/// How long a lockout lasts.
pub const LOCKOUT_SECONDS: i64 = 15 * 60;

/// Why a sign-in was refused. The words shown never tell a wrong name from a
/// wrong password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown name, wrong password, or a disabled user.
    WrongCredentials,
    /// A wrong or already used code.
    WrongCode,
    /// Too many wrong answers: locked until then.
    Locked(Timestamp),
}

/// What a sign-in step came to.
pub enum Outcome {
    /// Signed in: the cookie's token, and the session (complete, or waiting for
    /// its second factor).
    Session(Secret, Live),
    Refused(Refusal),
}

fn entry(actor: &str, scope: &Scope, action: &str, detail: &str, from: &str) -> AuditEntry {
    AuditEntry {
        at: now(),
        actor: actor.to_string(),
        scope: scope.clone(),
        action: action.into(),
        detail: detail.into(),
        from: from.to_string(),
    }
}

/// The time step of `code` if it is `user`'s code at `at` and later than any code
/// it gave before.
fn fresh_step(user: &User, code: &str, at: Timestamp) -> Option<u64> {
    user.totp_secret
        .as_ref()
        .and_then(|secret| totp::step_of(secret, &user.username, code, at))
        .filter(|step| user.totp_last_step.is_none_or(|last| *step > last))
}

/// `user` after one more wrong answer, and whether that locked it.
fn failed(mut user: User, at: Timestamp) -> (User, bool) {
    user.failed_sign_ins += 1;
    let locks = user.failed_sign_ins >= MAX_FAILED;
    if locks {
        user.failed_sign_ins = 0;
        user.locked_until = Some(at.plus_seconds(LOCKOUT_SECONDS));
    }
    (user, locks)
}

async fn commit(app: &App, records: Vec<RecordWrite>, who: &Username) -> Result<(), UserError> {
    match app
        .commit(Step {
            records,
            ..Step::default()
        })
        .await
    {
        Ok(_) => Ok(()),
        Err(StepError::RecordConflict { .. }) => Err(UserError::Changed(who.clone())),
        Err(e) => Err(e.into()),
    }
}

/// The first step: `name` and `given` password, from the client at `from`.
pub async fn with_password(
    app: &App,
    name: &str,
    given: Secret,
    from: &str,
) -> Result<Outcome, UserError> {
    let at = now();
    let found = match Username::parse(name) {
        Ok(username) => load(app, &username).await?,
        Err(_) => None,
    };
    let Some((user, version)) = found else {
        // As slow as a wrong password, so that names cannot be told by timing.
        password::verify(given, None).await;
        let refused = entry(
            &super::audit::given(name),
            &Scope::Operator,
            "sign_in_refused",
            "no such user",
            from,
        );
        super::audit::record(app, &refused).await?;
        return Ok(Outcome::Refused(Refusal::WrongCredentials));
    };
    if let Some(until) = user.locked_until.filter(|until| *until > at) {
        let refused = entry(
            user.username.as_str(),
            &user.scope,
            "sign_in_refused",
            "locked",
            from,
        );
        super::audit::record(app, &refused).await?;
        return Ok(Outcome::Refused(Refusal::Locked(until)));
    }
    let right = password::verify(given, Some(user.password_hash.clone())).await;
    if !right || user.disabled {
        let why = if user.disabled {
            "disabled"
        } else {
            "wrong password"
        };
        let (user, locked) = if right {
            (user, false)
        } else {
            failed(user, at)
        };
        let detail = if locked {
            format!("{why}; locked")
        } else {
            why.to_string()
        };
        let refused = entry(
            user.username.as_str(),
            &user.scope,
            "sign_in_refused",
            &detail,
            from,
        );
        commit(
            app,
            vec![
                user_write(&user, Expect::Version(version)),
                super::audit::write(&refused),
            ],
            &user.username,
        )
        .await?;
        return Ok(Outcome::Refused(match (locked, user.locked_until) {
            (true, Some(until)) => Refusal::Locked(until),
            _ => Refusal::WrongCredentials,
        }));
    }
    let (token, key, session) = sessions::open(&user, from);
    let mut user = user;
    let action = if session.complete {
        user.failed_sign_ins = 0;
        user.locked_until = None;
        "sign_in"
    } else {
        "password_accepted"
    };
    let done = entry(user.username.as_str(), &user.scope, action, "", from);
    commit(
        app,
        vec![
            user_write(&user, Expect::Version(version)),
            sessions::write(&key, &session, Expect::Absent),
            super::audit::write(&done),
        ],
        &user.username,
    )
    .await?;
    Ok(Outcome::Session(
        token,
        Live {
            key,
            version: 1,
            session,
        },
    ))
}

/// The second step: the TOTP `code` for the session `live`, which waits for it;
/// the session, now complete, or why not.
pub async fn with_code(
    app: &App,
    live: &Live,
    code: &str,
    from: &str,
) -> Result<Result<Live, Refusal>, UserError> {
    let at = now();
    let username = live.session.username.clone();
    let (user, version) = load(app, &username)
        .await?
        .ok_or_else(|| UserError::Unknown(username.clone()))?;
    if let Some(until) = user.locked_until.filter(|until| *until > at) {
        return Ok(Err(Refusal::Locked(until)));
    }
    let step = fresh_step(&user, code, at);
    let Some(step) = step else {
        let (user, locked) = failed(user, at);
        let detail = if locked {
            "wrong code; locked"
        } else {
            "wrong code"
        };
        let refused = entry(
            username.as_str(),
            &user.scope,
            "sign_in_refused",
            detail,
            from,
        );
        let mut records = vec![
            user_write(&user, Expect::Version(version)),
            super::audit::write(&refused),
        ];
        if locked {
            // The half-open session ends with the lockout.
            let mut session = live.session.clone();
            session.ended = true;
            records.push(sessions::write(
                &live.key,
                &session,
                Expect::Version(live.version),
            ));
        }
        commit(app, records, &username).await?;
        return Ok(Err(match (locked, user.locked_until) {
            (true, Some(until)) => Refusal::Locked(until),
            _ => Refusal::WrongCode,
        }));
    };
    let mut user = user;
    user.totp_last_step = Some(step);
    user.failed_sign_ins = 0;
    user.locked_until = None;
    let mut session = live.session.clone();
    session.complete = true;
    session.seen_at = at;
    let done = entry(
        username.as_str(),
        &user.scope,
        "sign_in",
        "with a second factor",
        from,
    );
    commit(
        app,
        vec![
            user_write(&user, Expect::Version(version)),
            sessions::write(&live.key, &session, Expect::Version(live.version)),
            super::audit::write(&done),
        ],
        &username,
    )
    .await?;
    Ok(Ok(Live {
        key: live.key.clone(),
        version: live.version + 1,
        session,
    }))
}

/// A signed-in user's TOTP `code` confirming an action (an approval): right,
/// and not taken before. A wrong code counts towards a lockout, and is audited.
pub async fn confirm(
    app: &App,
    username: &Username,
    code: &str,
    from: &str,
) -> Result<Result<(), Refusal>, UserError> {
    let at = now();
    let (user, version) = load(app, username)
        .await?
        .ok_or_else(|| UserError::Unknown(username.clone()))?;
    if let Some(until) = user.locked_until.filter(|until| *until > at) {
        return Ok(Err(Refusal::Locked(until)));
    }
    let step = fresh_step(&user, code, at);
    let Some(step) = step else {
        let (user, locked) = failed(user, at);
        let detail = if locked {
            "wrong confirmation code; locked"
        } else {
            "wrong confirmation code"
        };
        let refused = entry(
            username.as_str(),
            &user.scope,
            "confirmation_refused",
            detail,
            from,
        );
        commit(
            app,
            vec![
                user_write(&user, Expect::Version(version)),
                super::audit::write(&refused),
            ],
            username,
        )
        .await?;
        return Ok(Err(match (locked, user.locked_until) {
            (true, Some(until)) => Refusal::Locked(until),
            _ => Refusal::WrongCode,
        }));
    };
    let mut user = user;
    user.totp_last_step = Some(step);
    user.failed_sign_ins = 0;
    commit(
        app,
        vec![user_write(&user, Expect::Version(version))],
        username,
    )
    .await?;
    Ok(Ok(()))
}
