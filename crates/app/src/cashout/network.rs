//! The rules the configuration gives each cash-out network (Alfamart, Indomaret,
//! Permata ATM): amounts, description length, credentials, reversals.

use crate::config::{CashoutConfig, Mode};
pub use gerbang_core::payout::CashNetwork as Network;

/// The rules the configuration gives each cash network.
pub trait NetworkRules {
    /// The rules in force for this network.
    fn rules(self, config: &CashoutConfig, mode: Mode) -> Rules;
}

/// Minimum, maximum and multiple in rupiah, and description length, when the
/// configuration names none.
fn defaults(network: Network) -> (i64, i64, i64, usize) {
    match network {
        Network::Alfamart => (50_000, 5_000_000, 50_000, 15),
        Network::Indomaret => (100_000, 10_000_000, 50_000, 15),
        Network::Permata => (100_000, 1_500_000, 100_000, 27),
    }
}

impl NetworkRules for Network {
    fn rules(self, config: &CashoutConfig, mode: Mode) -> Rules {
        let c = config.network(self);
        let (min, max, multiple, chars) = defaults(self);
        let secret = c
            .secret
            .clone()
            .or_else(|| (mode == Mode::Sandbox).then(|| format!("sandbox-{}-secret", self.slug())));
        Rules {
            min_minor: c.min_rupiah.unwrap_or(min).saturating_mul(100),
            max_minor: c.max_rupiah.unwrap_or(max).saturating_mul(100),
            multiple_minor: c
                .multiple_rupiah
                .unwrap_or(multiple)
                .max(1)
                .saturating_mul(100),
            description_chars: c.description_chars.unwrap_or(chars).max(1),
            key: c.key.clone().unwrap_or_else(|| self.slug().to_string()),
            secret,
            reversal_window_seconds: c.reversal_window_seconds.unwrap_or(3600),
            reversal_after_advice: c.reversal_after_advice.unwrap_or(false),
        }
    }
}

/// A network's rules, amounts in minor units (sen).
#[derive(Clone, Debug)]
pub struct Rules {
    pub min_minor: i64,
    pub max_minor: i64,
    pub multiple_minor: i64,
    pub description_chars: usize,
    pub key: String,
    /// `None`: the network cannot call the host-to-host API.
    pub secret: Option<String>,
    pub reversal_window_seconds: u64,
    pub reversal_after_advice: bool,
}

impl Rules {
    /// Whether the network pays out `amount_minor`: from the minimum to the
    /// maximum, in multiples of the multiple.
    pub fn allows_amount(&self, amount_minor: i64) -> bool {
        amount_minor >= self.min_minor
            && amount_minor <= self.max_minor
            && amount_minor % self.multiple_minor == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_take_defaults() {
        let mut config = CashoutConfig::default();
        config.alfamart.min_rupiah = Some(100_000);
        let alf = Network::Alfamart.rules(&config, Mode::Sandbox);
        assert_eq!(alf.min_minor, 10_000_000);
        assert_eq!(alf.multiple_minor, 5_000_000);
        assert!(alf.allows_amount(10_000_000));
        assert!(!alf.allows_amount(12_500_000));
        assert!(!alf.allows_amount(5_000_000));
        assert_eq!(alf.secret.as_deref(), Some("sandbox-alfamart-secret"));
        assert_eq!(
            Network::Permata.rules(&config, Mode::Production).secret,
            None
        );
    }
}
