//! Faspay SendMe v1 (disbursement): authentication and the shapes of its messages.

pub mod auth;
pub mod crypto;
pub mod token;
