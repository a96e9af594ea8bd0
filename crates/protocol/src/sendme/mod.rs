//! Faspay SendMe v1 (disbursement): authentication, the shapes of its messages,
//! how it shows a payout, and its notices.

pub mod auth;
pub mod callback;
pub mod crypto;
pub mod envelope;
pub mod fields;
pub mod notice;
pub mod path;
pub mod render;
pub mod request;
pub mod token;
