//! The fresh TOTP code that confirms a decision (an approval, a mass transfer's
//! decision, new credentials): taken once, and what to say when it is not.

use super::auth::Signed;
use super::{layout, Dashboard};

/// Takes `signed`'s fresh TOTP code `code` confirming a decision. `Ok(Err(..))`
/// is the status to answer and what to say, `nothing` naming what was not done
/// (`decided`, `changed`).
pub async fn confirm_code(
    d: &Dashboard,
    signed: &Signed,
    code: &str,
    nothing: &str,
) -> Result<Result<(), (axum::http::StatusCode, String)>, gerbang_app::users::UserError> {
    use axum::http::StatusCode;
    use gerbang_app::users::signin::{self, Refusal};
    let s = &signed.live.session;
    Ok(
        match signin::confirm(&d.app, &s.username, code, &signed.from.to_string()).await? {
            Ok(()) => Ok(()),
            Err(Refusal::Locked(until)) => Err((
                StatusCode::FORBIDDEN,
                format!(
                    "Too many wrong codes: locked until {}.",
                    layout::when(until)
                ),
            )),
            Err(_) => Err((
                StatusCode::UNAUTHORIZED,
                format!("Wrong code, or a code already used: nothing was {nothing}."),
            )),
        },
    )
}
