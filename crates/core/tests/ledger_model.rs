//! Properties of the in-memory ledger model alone: whatever sequence of ops it is
//! given, it never breaks the rules documented in `gerbang_core::ledger`.

use gerbang_core::ledger::model::Ledger;
use gerbang_core::ledger::{
    AccountKind, HoldState, LedgerOp, NewAccount, NewEntry, NewHold, PostHold, Posting,
};
use gerbang_core::Currency;
use proptest::prelude::*;
use std::collections::BTreeMap;

const ACCOUNTS: [(&str, AccountKind); 6] = [
    ("operator:funding", AccountKind::OperatorFunding),
    ("partner:p0", AccountKind::PartnerBalance),
    ("partner:p1", AccountKind::PartnerBalance),
    ("partner:p2", AccountKind::PartnerBalance),
    ("channel:bank", AccountKind::ChannelClearing),
    ("operator:fees", AccountKind::Fees),
];
/// Index of an account that is never opened.
const UNKNOWN: usize = ACCOUNTS.len();
/// Hold keys come from a pool this big, so keys get reused.
const KEYS: usize = 8;

fn code(account: usize) -> String {
    ACCOUNTS
        .get(account)
        .map_or("partner:unknown", |a| a.0)
        .to_string()
}

#[derive(Clone, Debug)]
enum Action {
    Transfer {
        postings: Vec<(usize, i64)>,
    },
    /// `from` pays `to`.
    Pay {
        from: usize,
        to: usize,
        amount: i64,
    },
    Hold {
        key: usize,
        account: usize,
        amount: i64,
    },
    /// Credits that add up to the held amount when `off` is zero.
    Post {
        key: usize,
        to: Vec<usize>,
        off: i64,
    },
    Void {
        key: usize,
    },
    Expire {
        key: usize,
    },
}

fn any_account() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0..UNKNOWN, 1 => Just(UNKNOWN)]
}

fn any_amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        8 => 1i64..=1_000,
        3 => 1_000i64..=100_000,
        1 => -10i64..=0,
    ]
}

fn any_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => prop::collection::vec((any_account(), -1_000i64..=1_000), 0..=4)
            .prop_map(|postings| Action::Transfer { postings }),
        6 => (any_account(), any_account(), any_amount())
            .prop_map(|(from, to, amount)| Action::Pay { from, to, amount }),
        3 => (Just(0usize), 1usize..=3, 1_000i64..=50_000)
            .prop_map(|(from, to, amount)| Action::Pay { from, to, amount }),
        4 => (0..=KEYS, any_account(), any_amount())
            .prop_map(|(key, account, amount)| Action::Hold { key, account, amount }),
        3 => (
            0..=KEYS,
            prop::collection::vec(any_account(), 1..=3),
            prop_oneof![6 => Just(0i64), 1 => -5i64..=5],
        )
            .prop_map(|(key, to, off)| Action::Post { key, to, off }),
        1 => (0..=KEYS).prop_map(|key| Action::Void { key }),
        1 => (0..=KEYS).prop_map(|key| Action::Expire { key }),
    ]
}

fn posting(account: usize, amount: i64) -> Posting {
    Posting {
        account: code(account),
        amount,
    }
}

fn entry(postings: Vec<Posting>) -> NewEntry {
    NewEntry {
        kind: "transfer".into(),
        reference: "r".into(),
        description: String::new(),
        currency: Currency::Idr,
        postings,
    }
}

fn op(ledger: &Ledger, action: &Action) -> LedgerOp {
    let key = |k: &usize| format!("h{k}");
    match action {
        Action::Transfer { postings } => LedgerOp::Transfer(entry(
            postings
                .iter()
                .map(|(a, amount)| posting(*a, *amount))
                .collect(),
        )),
        Action::Pay { from, to, amount } => {
            LedgerOp::Transfer(entry(vec![posting(*from, -amount), posting(*to, *amount)]))
        }
        Action::Hold {
            key: k,
            account,
            amount,
        } => LedgerOp::Hold(NewHold {
            key: key(k),
            account: code(*account),
            amount: *amount,
            currency: Currency::Idr,
            expires_at: None,
        }),
        Action::Post { key: k, to, off } => {
            let held = ledger.holds.get(&key(k)).map_or(100, |h| h.hold.amount);
            let n = to.len() as i64;
            let mut credits: Vec<Posting> = to.iter().map(|a| posting(*a, held / n)).collect();
            credits[0].amount += held - (held / n) * n + off;
            LedgerOp::Post(PostHold {
                key: key(k),
                kind: "payout".into(),
                reference: key(k),
                description: String::new(),
                credits,
            })
        }
        Action::Void { key: k } => LedgerOp::Void { key: key(k) },
        Action::Expire { key: k } => LedgerOp::Expire { key: key(k) },
    }
}

fn check_invariants(ledger: &Ledger) -> Result<(), TestCaseError> {
    let total: i64 = ledger.accounts.values().map(|a| a.balance).sum();
    prop_assert_eq!(total, 0, "balances do not sum to zero");
    let mut balances: BTreeMap<&str, i64> = BTreeMap::new();
    for e in &ledger.entries {
        prop_assert!(e.postings.len() >= 2);
        prop_assert_eq!(e.postings.iter().map(|p| p.amount).sum::<i64>(), 0);
        for p in &e.postings {
            prop_assert!(p.amount != 0);
            *balances.entry(&p.account).or_default() += p.amount;
        }
    }
    let mut pending: BTreeMap<&str, i64> = BTreeMap::new();
    for h in ledger.holds.values() {
        prop_assert!(h.hold.amount > 0);
        if h.state == HoldState::Pending {
            *pending.entry(&h.hold.account).or_default() += h.hold.amount;
        }
    }
    for (code, a) in &ledger.accounts {
        prop_assert_eq!(
            a.balance,
            balances.get(code.as_str()).copied().unwrap_or(0),
            "balance of {} is not the sum of its postings",
            code
        );
        prop_assert_eq!(
            a.pending,
            pending.get(code.as_str()).copied().unwrap_or(0),
            "pending of {} is not the sum of its pending holds",
            code
        );
        if !a.kind.may_go_negative() {
            prop_assert!(
                a.available() >= 0,
                "{} has {} available",
                code,
                a.available()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_ops_keep_the_ledger_sound(
        steps in prop::collection::vec(prop::collection::vec(any_action(), 1..=4), 1..=80)
    ) {
        let mut ledger = Ledger::default();
        for (code, kind) in ACCOUNTS {
            ledger
                .open(&NewAccount { code: code.into(), kind, currency: Currency::Idr })
                .unwrap();
        }
        for actions in &steps {
            let ops: Vec<LedgerOp> = actions.iter().map(|a| op(&ledger, a)).collect();
            let before = ledger.clone();
            match ledger.apply_all(&ops) {
                Ok(()) => {
                    let moved = ops
                        .iter()
                        .filter(|op| matches!(op, LedgerOp::Transfer(_) | LedgerOp::Post(_)))
                        .count();
                    prop_assert_eq!(ledger.entries.len(), before.entries.len() + moved);
                    prop_assert_eq!(
                        &ledger.entries[..before.entries.len()],
                        &before.entries[..],
                        "entries are append-only"
                    );
                }
                Err(_) => {
                    // All or nothing: a refused step changes nothing.
                    prop_assert_eq!(&ledger.accounts, &before.accounts);
                    prop_assert_eq!(&ledger.holds, &before.holds);
                    prop_assert_eq!(&ledger.entries, &before.entries);
                }
            }
            // A hold ends once: an ended hold never changes again.
            for (key, was) in &before.holds {
                let now = &ledger.holds[key];
                prop_assert_eq!(&now.hold, &was.hold);
                if was.state != HoldState::Pending {
                    prop_assert_eq!(now.state, was.state, "hold {} ended twice", key);
                }
            }
            check_invariants(&ledger)?;
        }
    }
}
