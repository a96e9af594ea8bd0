//! Signing in: a password, then a TOTP code for roles that need one. Wrong
//! answers count against the user; at [`MAX_FAILED`] in a row it is locked for
//! [`LOCKOUT_SECONDS`]. Every outcome is audited in the step that records it.

use super::audit::entry;
use super::sessions::{self, Live};
use super::{commit, load, now, password, totp, user_write, UserError};
use crate::App;
use gerbang_core::mask::Secret;
use gerbang_core::user::{Scope, User, Username};
use gerbang_core::Timestamp;
use gerbang_store::{Expect, RecordWrite};

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
    Ok(Outcome::Session(token, Live::new(key, session)))
}

/// `code` checked for `username` at `at`: a locked user is refused; a wrong or
/// used code counts towards a lockout. A refusal is audited as `refused_as`, in
/// the step that records it with `on_lock` when it locks. Right: the user with
/// the code's step taken and its failures forgotten (not written yet), and its
/// version.
async fn checked_code(
    app: &App,
    username: &Username,
    code: &str,
    from: &str,
    refused_as: &str,
    on_lock: Vec<RecordWrite>,
) -> Result<Result<(User, i64), Refusal>, UserError> {
    let at = now();
    let (user, version) = load(app, username)
        .await?
        .ok_or_else(|| UserError::Unknown(username.clone()))?;
    if let Some(until) = user.locked_until.filter(|until| *until > at) {
        let refused = entry(username.as_str(), &user.scope, refused_as, "locked", from);
        let mut records = vec![super::audit::write(&refused)];
        records.extend(on_lock);
        commit(app, records, username).await?;
        return Ok(Err(Refusal::Locked(until)));
    }
    let Some(step) = fresh_step(&user, code, at) else {
        let (user, locked) = failed(user, at);
        let detail = if locked {
            "wrong code; locked"
        } else {
            "wrong code"
        };
        let refused = entry(username.as_str(), &user.scope, refused_as, detail, from);
        let mut records = vec![
            user_write(&user, Expect::Version(version)),
            super::audit::write(&refused),
        ];
        if locked {
            records.extend(on_lock);
        }
        commit(app, records, username).await?;
        return Ok(Err(match (locked, user.locked_until) {
            (true, Some(until)) => Refusal::Locked(until),
            _ => Refusal::WrongCode,
        }));
    };
    let mut user = user;
    user.totp_last_step = Some(step);
    user.failed_sign_ins = 0;
    user.locked_until = None;
    Ok(Ok((user, version)))
}

/// The second step: the TOTP `code` for the session `live`, which waits for it.
/// Right: the half-open session ends and a new one, complete, takes its place
/// (a new token for the cookie: the first factor's token is never the signed-in
/// one). A lockout ends the half-open session too.
pub async fn with_code(
    app: &App,
    live: &Live,
    code: &str,
    from: &str,
) -> Result<Outcome, UserError> {
    let username = live.session.username.clone();
    let mut ended = live.session.clone();
    ended.ended = true;
    let end_it = vec![sessions::write(
        &live.key,
        &ended,
        Expect::Version(live.version),
    )];
    let (user, version) = match checked_code(
        app,
        &username,
        code,
        from,
        "sign_in_refused",
        end_it.clone(),
    )
    .await?
    {
        Ok(found) => found,
        Err(refusal) => return Ok(Outcome::Refused(refusal)),
    };
    let (token, key, mut session) = sessions::open(&user, from);
    session.complete = true;
    let done = entry(
        username.as_str(),
        &user.scope,
        "sign_in",
        "with a second factor",
        from,
    );
    let mut records = vec![
        user_write(&user, Expect::Version(version)),
        sessions::write(&key, &session, Expect::Absent),
        super::audit::write(&done),
    ];
    records.extend(end_it);
    commit(app, records, &username).await?;
    Ok(Outcome::Session(token, Live::new(key, session)))
}

/// A signed-in user's TOTP `code` confirming an action (an approval, a
/// rotation): right, and not taken before. A wrong code counts towards a
/// lockout, and is audited.
pub async fn confirm(
    app: &App,
    username: &Username,
    code: &str,
    from: &str,
) -> Result<Result<(), Refusal>, UserError> {
    match checked_code(
        app,
        username,
        code,
        from,
        "confirmation_refused",
        Vec::new(),
    )
    .await?
    {
        Ok((user, version)) => {
            commit(
                app,
                vec![user_write(&user, Expect::Version(version))],
                username,
            )
            .await?;
            Ok(Ok(()))
        }
        Err(refusal) => Ok(Err(refusal)),
    }
}
