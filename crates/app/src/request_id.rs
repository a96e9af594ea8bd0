//! The id of the HTTP request being served, for logs: taken from the client's
//! `X-Request-Id` or made by the gateway, kept with what the request starts (a
//! payout, its notifications) so later log lines about them name it too.

use std::future::Future;

tokio::task_local! {
    static CURRENT: String;
}

/// Longest `X-Request-Id` taken from a client; a longer or odd one is replaced.
pub const MAX_CHARS: usize = 128;

/// A client's `X-Request-Id` when it is short and made of letters, digits and
/// `-_.:`; `None` otherwise (the gateway then makes one).
pub fn accept(given: &str) -> Option<String> {
    let fits = !given.is_empty()
        && given.chars().count() <= MAX_CHARS
        && given
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    fits.then(|| given.to_string())
}

/// A new request id: 16 random bytes in hex.
pub fn make() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Runs `f` as part of request `id`.
pub async fn scope<F: Future>(id: String, f: F) -> F::Output {
    CURRENT.scope(id, f).await
}

/// The request being served, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_ids_are_replaced() {
        assert_eq!(accept("abc-123_x.y:z").as_deref(), Some("abc-123_x.y:z"));
        assert_eq!(accept(""), None);
        assert_eq!(accept("a b"), None);
        assert_eq!(accept("x\u{1b}[31m"), None);
        assert_eq!(accept(&"a".repeat(MAX_CHARS + 1)), None);
        assert_eq!(make().len(), 32);
    }
}
