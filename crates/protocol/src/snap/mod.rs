//! SNAP, Bank Indonesia's open-API standard, as pure wire: the body hash over the
//! minified body (`body.rs`), the transactional signatures (`signature.rs`, `key.rs`),
//! `X-TIMESTAMP` (`timestamp.rs`), the common headers (`headers.rs`), response codes
//! (`code.rs`), body fields by path (`fields.rs`), the disbursement requests
//! (`request.rs`), the bulk cash-in (`bulk.rs`), answers (`render.rs`) and the
//! gateway's notices (`notice.rs`). No I/O.

pub mod body;
pub mod bulk;
pub mod code;
pub mod fields;
pub mod headers;
pub mod key;
pub mod notice;
pub mod render;
pub mod request;
pub mod signature;
pub mod timestamp;
