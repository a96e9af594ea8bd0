//! The networks that call the host-to-host API: store chains and an ATM network,
//! which pay out cash-out codes and take payments of bills at their counters, and
//! banks, which take payments into virtual accounts (a bill's id is its VA number).

use crate::payout::CashNetwork;
use serde::{Deserialize, Serialize};

/// A bank that collects into virtual accounts over the host-to-host API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VaBank {
    Bca,
    Bni,
    Bri,
    Mandiri,
    Maybank,
    Danamon,
    Sinarmas,
    Cimb,
}

impl VaBank {
    pub const ALL: [VaBank; 8] = [
        VaBank::Bca,
        VaBank::Bni,
        VaBank::Bri,
        VaBank::Mandiri,
        VaBank::Maybank,
        VaBank::Danamon,
        VaBank::Sinarmas,
        VaBank::Cimb,
    ];

    /// Its name in host-to-host paths and configuration.
    pub fn slug(self) -> &'static str {
        match self {
            VaBank::Bca => "bca",
            VaBank::Bni => "bni",
            VaBank::Bri => "bri",
            VaBank::Mandiri => "mandiri",
            VaBank::Maybank => "maybank",
            VaBank::Danamon => "danamon",
            VaBank::Sinarmas => "sinarmas",
            VaBank::Cimb => "cimb",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            VaBank::Bca => "BCA",
            VaBank::Bni => "BNI",
            VaBank::Bri => "BRI",
            VaBank::Mandiri => "Mandiri",
            VaBank::Maybank => "Maybank",
            VaBank::Danamon => "Danamon",
            VaBank::Sinarmas => "Sinarmas",
            VaBank::Cimb => "CIMB Niaga",
        }
    }
}

/// A network calling the host-to-host API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterNetwork {
    /// Alfamart, Indomaret or Permata: cash-out codes and bills both.
    Cash(CashNetwork),
    /// A bank: bills paid into virtual accounts.
    Bank(VaBank),
}

impl From<CashNetwork> for CounterNetwork {
    fn from(n: CashNetwork) -> Self {
        CounterNetwork::Cash(n)
    }
}

impl CounterNetwork {
    /// Every network, cash networks first.
    pub fn all() -> impl Iterator<Item = CounterNetwork> {
        CashNetwork::ALL
            .into_iter()
            .map(CounterNetwork::Cash)
            .chain(VaBank::ALL.into_iter().map(CounterNetwork::Bank))
    }

    /// Its name in host-to-host paths (`alfamart`, `bni`).
    pub fn slug(self) -> &'static str {
        match self {
            CounterNetwork::Cash(n) => n.slug(),
            CounterNetwork::Bank(b) => b.slug(),
        }
    }

    pub fn by_slug(slug: &str) -> Option<CounterNetwork> {
        Self::all().find(|n| n.slug() == slug)
    }

    pub fn display_name(self) -> &'static str {
        match self {
            CounterNetwork::Cash(n) => n.display_name(),
            CounterNetwork::Bank(b) => b.display_name(),
        }
    }

    /// The cash network, when it is one (only those pay out cash-out codes).
    pub fn cash(self) -> Option<CashNetwork> {
        match self {
            CounterNetwork::Cash(n) => Some(n),
            CounterNetwork::Bank(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_found() {
        let slugs: Vec<&str> = CounterNetwork::all().map(|n| n.slug()).collect();
        let mut unique = slugs.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), slugs.len());
        for n in CounterNetwork::all() {
            assert_eq!(CounterNetwork::by_slug(n.slug()), Some(n));
        }
        assert_eq!(CounterNetwork::by_slug("gopay"), None);
    }
}
