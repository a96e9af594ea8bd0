//! Dashboard sessions: a random token in the browser's cookie, its SHA-256 as the
//! stored record's key, ended by signing out, by idling, by age, or by the user
//! being disabled.

use super::{now, UserError};
use crate::App;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gerbang_core::mask::Secret;
use gerbang_core::user::{Session, User};
use gerbang_core::{Document, Timestamp};
use gerbang_store::{Expect, RecordWrite};
use sha2::{Digest, Sha256};

/// A session unused this long has ended.
pub const IDLE_SECONDS: i64 = 30 * 60;
/// A session this old has ended, used or not.
pub const MAX_AGE_SECONDS: i64 = 12 * 3600;
/// `seen_at` is written back at most this often.
const TOUCH_SECONDS: i64 = 60;

/// A session as stored: its key (the token's hash), version and content.
#[derive(Clone, Debug)]
pub struct Live {
    pub key: String,
    pub version: i64,
    pub session: Session,
}

impl Live {
    /// A session just written (its first version).
    pub(crate) fn new(key: String, session: Session) -> Self {
        Live {
            key,
            version: 1,
            session,
        }
    }
}

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The stored key of the session whose cookie carries `token`.
pub fn key_of(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn write(key: &str, session: &Session, expect: Expect) -> RecordWrite {
    RecordWrite {
        kind: Session::KIND.into(),
        key: key.into(),
        owner: session.scope.owner(),
        state: if session.ended {
            "ended"
        } else if session.complete {
            "live"
        } else {
            "second_factor"
        }
        .into(),
        data: Document::of(session),
        expect,
    }
}

/// A new session for `user` and the token its cookie carries; complete unless
/// the user's role needs a second factor. Not stored: the caller commits
/// [`write`] with what else the sign-in changes.
pub(crate) fn open(user: &User, from: &str) -> (Secret, String, Session) {
    let token = random_token();
    let at = now();
    let session = Session {
        username: user.username.clone(),
        scope: user.scope.clone(),
        role: user.role,
        csrf: Secret::new(random_token()),
        complete: !user.role.needs_second_factor(),
        ended: false,
        created_at: at,
        seen_at: at,
        from: from.to_string(),
    };
    let key = key_of(&token);
    (Secret::new(token), key, session)
}

fn expired(session: &Session, at: Timestamp) -> bool {
    let age = (at.as_micros() - session.created_at.as_micros()) / 1_000_000;
    let idle = (at.as_micros() - session.seen_at.as_micros()) / 1_000_000;
    age > MAX_AGE_SECONDS || idle > IDLE_SECONDS
}

/// The live session `token` names, if any: not ended, not expired, its user still
/// enabled and in the same scope and role. Its `seen_at` moves on.
pub async fn find(app: &App, token: &str) -> Result<Option<Live>, UserError> {
    if token.is_empty() || token.len() > 64 {
        return Ok(None);
    }
    let key = key_of(token);
    let Some((mut session, version)) =
        crate::stored::load::<Session>(app.store.as_ref(), Session::KIND, &key).await?
    else {
        return Ok(None);
    };
    let at = now();
    if session.ended || expired(&session, at) {
        return Ok(None);
    }
    let user = super::load(app, &session.username).await?;
    let still = user
        .is_some_and(|(u, _)| !u.disabled && u.scope == session.scope && u.role == session.role);
    if !still {
        return Ok(None);
    }
    let mut version = version;
    if (at.as_micros() - session.seen_at.as_micros()) / 1_000_000 >= TOUCH_SECONDS {
        session.seen_at = at;
        match commit_one(app, &key, &session, version).await {
            Ok(v) => version = v,
            // Another request of the same browser touched it first.
            Err(UserError::Changed(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(Live {
        key,
        version,
        session,
    }))
}

async fn commit_one(
    app: &App,
    key: &str,
    session: &Session,
    version: i64,
) -> Result<i64, UserError> {
    let written = vec![write(key, session, Expect::Version(version))];
    let outcome = super::commit(app, written, &session.username).await?;
    Ok(outcome
        .record_versions
        .first()
        .copied()
        .unwrap_or(version + 1))
}

/// Ends `live` (signing out), with its audit entry in the same step; a request
/// of the same browser that touched it meanwhile is read past.
pub async fn end(app: &App, live: &Live, from: &str) -> Result<(), UserError> {
    let mut version = live.version;
    for _ in 0..3 {
        let mut session = live.session.clone();
        session.ended = true;
        let done = super::audit::entry(
            session.username.as_str(),
            &session.scope,
            "sign_out",
            "",
            from,
        );
        let records = vec![
            write(&live.key, &session, Expect::Version(version)),
            super::audit::write(&done),
        ];
        match super::commit(app, records, &session.username).await {
            Err(UserError::Changed(_)) => {
                let Some((_, now_at)) =
                    crate::stored::load::<Session>(app.store.as_ref(), Session::KIND, &live.key)
                        .await?
                else {
                    return Ok(());
                };
                version = now_at;
            }
            other => return other.map(|_| ()),
        }
    }
    Err(UserError::Changed(live.session.username.clone()))
}
