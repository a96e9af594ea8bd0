//! The cash-out networks (Alfamart, Indomaret, Permata ATM), their SendMe codes,
//! and the rules the configuration gives each.

use crate::config::{CashoutConfig, CashoutNetworkConfig, Mode};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    Alfamart,
    Indomaret,
    Permata,
}

impl Network {
    pub const ALL: [Network; 3] = [Network::Alfamart, Network::Indomaret, Network::Permata];

    /// The network a SendMe `beneficiary_bank_code` names (any case).
    pub fn by_bank_code(code: &str) -> Option<Network> {
        Self::ALL
            .into_iter()
            .find(|n| n.bank_code().eq_ignore_ascii_case(code.trim()))
    }

    /// The network a host-to-host path segment names.
    pub fn by_slug(slug: &str) -> Option<Network> {
        Self::ALL.into_iter().find(|n| n.slug() == slug)
    }

    /// Its SendMe `beneficiary_bank_code`.
    pub fn bank_code(self) -> &'static str {
        match self {
            Network::Alfamart => "alf",
            Network::Indomaret => "imr",
            Network::Permata => "C013",
        }
    }

    /// Its name in host-to-host paths and configuration.
    pub fn slug(self) -> &'static str {
        match self {
            Network::Alfamart => "alfamart",
            Network::Indomaret => "indomaret",
            Network::Permata => "permata",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Network::Alfamart => "Alfamart",
            Network::Indomaret => "Indomaret",
            Network::Permata => "Permata ATM",
        }
    }

    /// Whether the code handed to the partner is encrypted (Permata) or plain.
    pub fn encrypts_code(self) -> bool {
        self == Network::Permata
    }

    /// The ledger account its claimed cash-outs are posted to.
    pub fn clearing_account(self) -> String {
        gerbang_core::ledger::codes::channel_clearing(&format!("cashout:{}", self.bank_code()))
    }

    fn defaults(self) -> (i64, i64, i64, usize) {
        match self {
            Network::Alfamart => (50_000, 5_000_000, 50_000, 15),
            Network::Indomaret => (100_000, 10_000_000, 50_000, 15),
            Network::Permata => (100_000, 1_500_000, 100_000, 27),
        }
    }

    pub(crate) fn settings(self, config: &CashoutConfig) -> &CashoutNetworkConfig {
        match self {
            Network::Alfamart => &config.alfamart,
            Network::Indomaret => &config.indomaret,
            Network::Permata => &config.permata,
        }
    }

    /// The rules in force for this network.
    pub fn rules(self, config: &CashoutConfig, mode: Mode) -> Rules {
        let c = self.settings(config);
        let (min, max, multiple, chars) = self.defaults();
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
    /// Why `amount_minor` is not allowed, if it is not.
    pub fn check_amount(&self, amount_minor: i64) -> Result<(), String> {
        if amount_minor < self.min_minor
            || amount_minor > self.max_minor
            || amount_minor % self.multiple_minor != 0
        {
            return Err(format!(
                "trx_amount: from {} to {} in multiples of {} (two implied decimals)",
                self.min_minor, self.max_minor, self.multiple_minor
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_in_any_case_and_rules_take_defaults() {
        assert_eq!(Network::by_bank_code("Imr"), Some(Network::Indomaret));
        assert_eq!(Network::by_bank_code("c013"), Some(Network::Permata));
        assert_eq!(Network::by_bank_code("014"), None);
        let mut config = CashoutConfig::default();
        config.alfamart.min_rupiah = Some(100_000);
        let alf = Network::Alfamart.rules(&config, Mode::Sandbox);
        assert_eq!(alf.min_minor, 10_000_000);
        assert_eq!(alf.multiple_minor, 5_000_000);
        assert!(alf.check_amount(10_000_000).is_ok());
        assert!(alf.check_amount(12_500_000).is_err());
        assert!(alf.check_amount(5_000_000).is_err());
        assert_eq!(alf.secret.as_deref(), Some("sandbox-alfamart-secret"));
        assert_eq!(
            Network::Permata.rules(&config, Mode::Production).secret,
            None
        );
    }
}
