//! Faspay's Debit payment API (spec faspay-debit.md): bills posted by merchants
//! and paid through a channel, in a JSON (`/cvr/…`) and an XML (`/pws/…`) family
//! that share every handler: `message` reads either syntax leniently, `request`
//! decodes the typed requests, `answer` writes answers and refusals back in the
//! request's syntax, `signature` is the one SHA-1-over-MD5 formula.

pub mod answer;
pub mod message;
pub mod notice;
pub mod request;
pub mod signature;
