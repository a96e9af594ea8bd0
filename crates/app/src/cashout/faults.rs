//! Sandbox fault injection for the host-to-host API: the next answers to one
//! network's operation are slow or lost *after* the gateway did the work, as when
//! a store's link drops — which is what makes a network send a reversal.

use super::Network;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// Operations of the host-to-host API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Inquiry,
    Payment,
    Reversal,
    Advice,
}

impl Operation {
    pub fn by_name(name: &str) -> Option<Operation> {
        match name {
            "inquiry" => Some(Operation::Inquiry),
            "payment" => Some(Operation::Payment),
            "reversal" => Some(Operation::Reversal),
            "advice" => Some(Operation::Advice),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum Fault {
    /// The answer is held for this many seconds of the gateway's clock.
    Slow { delay_seconds: u64 },
    /// The connection is dropped instead of answering.
    Lost,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Armed {
    pub network: Network,
    pub operation: Operation,
    #[serde(flatten)]
    pub fault: Fault,
    /// Answers left to spoil.
    pub count: u32,
}

/// Most faults armed at once.
const MAX_ARMED: usize = 64;

#[derive(Default)]
pub struct Faults {
    armed: Mutex<Vec<Armed>>,
}

impl Faults {
    /// Arms a fault (replacing one for the same network and operation).
    pub fn arm(&self, armed: Armed) -> Result<(), String> {
        let mut list = self.armed.lock().expect("faults");
        list.retain(|a| !(a.network == armed.network && a.operation == armed.operation));
        if armed.count == 0 {
            return Ok(());
        }
        if list.len() >= MAX_ARMED {
            return Err(format!("at most {MAX_ARMED} faults at once"));
        }
        list.push(armed);
        Ok(())
    }

    /// The fault for this answer, if one is armed (uses one of its count).
    pub fn take(&self, network: Network, operation: Operation) -> Option<Fault> {
        let mut list = self.armed.lock().expect("faults");
        let i = list
            .iter()
            .position(|a| a.network == network && a.operation == operation)?;
        let fault = list[i].fault;
        list[i].count -= 1;
        if list[i].count == 0 {
            list.remove(i);
        }
        Some(fault)
    }

    pub fn list(&self) -> Vec<Armed> {
        self.armed.lock().expect("faults").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_spoils_count_answers_then_disarms() {
        let f = Faults::default();
        f.arm(Armed {
            network: Network::Alfamart,
            operation: Operation::Payment,
            fault: Fault::Lost,
            count: 2,
        })
        .unwrap();
        assert_eq!(f.take(Network::Indomaret, Operation::Payment), None);
        assert_eq!(
            f.take(Network::Alfamart, Operation::Payment),
            Some(Fault::Lost)
        );
        assert_eq!(
            f.take(Network::Alfamart, Operation::Payment),
            Some(Fault::Lost)
        );
        assert_eq!(f.take(Network::Alfamart, Operation::Payment), None);
    }
}
