//! gerbang's wire protocols, one module per family: request and response types,
//! validation, status and response codes, and signatures — exactly as the real
//! clients put them on the wire. Pure code: no I/O, no storage, no HTTP server.

pub mod debit;
pub mod face;
pub mod fingerprint;
pub mod h2h;
pub mod json;
pub mod mass_transfer;
pub mod sendme;
pub mod snap;
pub mod token;
