//! The digest that tells two requests under one reference apart, whatever face
//! they came through.

/// A digest of the parts that make a request what it is; each part
/// length-prefixed, so no two lists of parts digest alike.
pub fn fingerprint(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hex::encode(hash.finalize())
}
