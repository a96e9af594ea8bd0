//! SendMe access tokens (`/account/api/tokens`): the gateway's tokens
//! ([`crate::token`]) for the SendMe purpose.

pub use crate::token::{TokenError, TokenKey, SENDME};

/// Token lifetime, as Faspay's `expired_in` says.
pub const LIFETIME_SECONDS: i64 = SENDME.lifetime_seconds;
