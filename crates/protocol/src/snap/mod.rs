//! SNAP, Bank Indonesia's open-API standard: the security primitives every SNAP
//! service shares — the body hash over the minified body (`body.rs`), the
//! transactional signatures (`signature.rs`) and the `X-TIMESTAMP` header
//! (`timestamp.rs`). Pure functions, no I/O.

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
