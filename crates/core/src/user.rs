//! Dashboard users: who they are, whose data they see and what they may do; their
//! sessions; and the audit log of what they did. Records only: hashing, codes and
//! sign-in rules live in `gerbang_app::users`.

use crate::mask::Secret;
use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's name: 3 to 64 characters, lowercase letters, digits and `._-@`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(given: &str) -> Result<Self, String> {
        let name = given.trim().to_lowercase();
        let fits = (3..=Self::MAX_CHARS).contains(&name.chars().count())
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@')
            });
        if fits {
            Ok(Username(name))
        } else {
            Err(format!(
                "a username is 3 to {} characters: letters, digits and . _ - @",
                Self::MAX_CHARS
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Username::parse(&s)
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a user may do. Each role may do what the ones before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees.
    Viewer,
    /// Also prepares: uploads and submits mass transfers.
    Maker,
    /// Also decides: approves what a maker submitted (never their own).
    Checker,
    /// Also manages the principal's settings.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Maker, Role::Checker, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Maker => "maker",
            Role::Checker => "checker",
            Role::Admin => "admin",
        }
    }

    pub fn parse(given: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == given.trim().to_lowercase())
            .ok_or_else(|| format!("no role {given:?}: viewer, maker, checker or admin"))
    }

    /// Checkers and admins sign in with a second factor (a TOTP code).
    pub fn needs_second_factor(self) -> bool {
        self >= Role::Checker
    }
}

/// Whose data a user sees: the operator's (everything), one merchant's (its bills),
/// or one partner's (the payouts its balance funds, whichever face asked for them).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Scope {
    Operator,
    /// A Debit merchant, by its merchant id.
    Merchant(String),
    /// A SendMe partner, by its virtual account (SNAP partners spend its balance).
    Partner(String),
}

impl Scope {
    /// The owner under which the records of this scope's users are listed.
    pub fn owner(&self) -> String {
        match self {
            Scope::Operator => "operator".into(),
            Scope::Merchant(id) => format!("merchant:{id}"),
            Scope::Partner(va) => format!("partner:{va}"),
        }
    }

    /// The scope an account belongs to: a partner's balance, a merchant's
    /// settlement account; the operator's for the rest.
    pub fn of_account(code: &str) -> Scope {
        if let Some(va) = code.strip_prefix("partner:") {
            Scope::Partner(va.to_string())
        } else if let Some(id) = code.strip_prefix("merchant:") {
            Scope::Merchant(id.to_string())
        } else {
            Scope::Operator
        }
    }

    /// Whether this scope may see what belongs to `other`.
    pub fn covers(&self, other: &Scope) -> bool {
        *self == Scope::Operator || self == other
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Operator => f.write_str("operator"),
            Scope::Merchant(id) => write!(f, "merchant {id}"),
            Scope::Partner(va) => write!(f, "partner {va}"),
        }
    }
}

/// A dashboard user.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub username: Username,
    pub scope: Scope,
    pub role: Role,
    /// The password's argon2 hash, in PHC string form.
    pub password_hash: Secret,
    /// The TOTP secret (raw bytes, base32), once one was made.
    pub totp_secret: Option<Secret>,
    /// The last TOTP time step accepted: a code is never taken twice.
    #[serde(default)]
    pub totp_last_step: Option<u64>,
    pub disabled: bool,
    /// Wrong passwords or codes since the last sign-in.
    pub failed_sign_ins: u32,
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl User {
    pub const KIND: &'static str = "dashboard.user";

    pub fn state(&self) -> &'static str {
        if self.disabled {
            "disabled"
        } else {
            "active"
        }
    }
}

/// A signed-in browser. Its key is the SHA-256 of the cookie's token: the token
/// itself is never stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    pub username: Username,
    pub scope: Scope,
    pub role: Role,
    /// Every form of this session carries it; a form without it is refused.
    pub csrf: Secret,
    /// False until the second factor is given, for roles that need one.
    pub complete: bool,
    pub ended: bool,
    pub created_at: Timestamp,
    pub seen_at: Timestamp,
    /// Where it signed in from.
    pub from: String,
}

impl Session {
    pub const KIND: &'static str = "dashboard.session";
}

/// One line of the audit log: who did what, when and from where. Written once,
/// never changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    /// Who acted (a username, or the name given at a failed sign-in).
    pub actor: String,
    /// Whose data it touched (a sign-in: the user's own): the log of that scope
    /// shows it, and the operator's shows all.
    pub scope: Scope,
    /// What was done: `sign_in`, `sign_in_refused`, `sign_out`, …
    pub action: String,
    /// On what, and what came of it.
    pub detail: String,
    /// The client's address.
    pub from: String,
}

impl AuditEntry {
    pub const KIND: &'static str = "dashboard.audit";

    /// The entry's key: newest first in key order, unique within a microsecond by
    /// `tiebreak`.
    pub fn key(&self, tiebreak: u32) -> String {
        format!(
            "{:020}-{tiebreak:08x}",
            i64::MAX - self.at.as_micros().max(0)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_checked_and_lowercased() {
        assert_eq!(
            Username::parse(" Alice@Shop ").unwrap().as_str(),
            "alice@shop"
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("a b c").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Username::parse("<script>").is_err());
    }

    #[test]
    fn roles_order_and_second_factor() {
        assert!(Role::Admin > Role::Checker && Role::Checker > Role::Maker);
        assert!(!Role::Maker.needs_second_factor());
        assert!(Role::Checker.needs_second_factor() && Role::Admin.needs_second_factor());
        assert_eq!(Role::parse("CHECKER"), Ok(Role::Checker));
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn scopes_cover_their_own_only() {
        let m = Scope::Merchant("99999".into());
        assert!(Scope::Operator.covers(&m));
        assert!(m.covers(&m));
        assert!(!m.covers(&Scope::Merchant("99998".into())));
        assert!(!m.covers(&Scope::Operator));
        assert_eq!(m.owner(), "merchant:99999");
        assert_eq!(Scope::of_account("merchant:99999"), m);
        assert_eq!(
            Scope::of_account("partner:9920015307"),
            Scope::Partner("9920015307".into())
        );
        assert_eq!(Scope::of_account("operator:fees"), Scope::Operator);
    }

    #[test]
    fn audit_keys_list_newest_first() {
        let entry = |micros| AuditEntry {
            at: Timestamp::from_micros(micros),
            actor: "a".into(),
            scope: Scope::Operator,
            action: "sign_in".into(),
            detail: String::new(),
            from: "127.0.0.1".into(),
        };
        assert!(entry(2_000).key(0) < entry(1_000).key(0));
        assert!(entry(1_000).key(0) < entry(1_000).key(1));
    }
}
