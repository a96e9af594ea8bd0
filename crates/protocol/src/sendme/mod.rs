//! Faspay SendMe v1 (disbursement): authentication and the shapes of its messages.

pub mod auth;
pub mod callback;
pub mod crypto;
pub mod envelope;
pub mod fields;
pub mod token;
