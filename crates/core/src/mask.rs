//! Masking of customer data (account and phone numbers) for logs and `Debug`.

use std::fmt;

/// Keeps the last four characters: `"1234567890"` → `"******7890"`.
pub fn mask_tail(value: &str) -> String {
    let count = value.chars().count();
    let keep = if count > 4 { 4 } else { 0 };
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i + keep >= count { c } else { '*' })
        .collect()
}

/// A piece of customer data that prints masked in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Masked(pub String);

impl Masked {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", mask_tail(&self.0))
    }
}

impl fmt::Display for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_tail(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_the_tail() {
        assert_eq!(mask_tail("9920015307"), "******5307");
        assert_eq!(mask_tail("123"), "***");
        assert_eq!(
            format!("{:?}", Masked("08123456789".into())),
            "\"*******6789\""
        );
    }
}

/// A secret (password, key, token): stored and compared as is, never printed.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

#[cfg(test)]
mod secret_tests {
    #[test]
    fn secrets_never_print() {
        let s = super::Secret::new("p@ssw0rd");
        assert_eq!(format!("{s:?}"), "\"***\"");
        assert_eq!(s.expose(), "p@ssw0rd");
    }
}
