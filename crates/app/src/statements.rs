//! Balances and statements as a dashboard user's scope may see them: the
//! operator every account; a merchant its settlement account; a partner the
//! balance its payouts spend, whichever face asked for them.

use crate::App;
use gerbang_core::ledger::codes;
use gerbang_core::user::Scope;
use gerbang_core::Timestamp;
use gerbang_store::{Account, StatementLine, StatementQuery, StoreError};

/// Most lines one download holds; a longer window is cut there (and says so).
pub const MAX_DOWNLOAD_LINES: usize = 100_000;

/// The one account a merchant or partner user sees; none for the operator, who
/// sees all.
pub fn own_account(scope: &Scope) -> Option<String> {
    match scope {
        Scope::Operator => None,
        Scope::Merchant(id) => Some(codes::merchant_settlement(id)),
        Scope::Partner(va) => Some(codes::partner_balance(va)),
    }
}

/// Whether `scope` may see the account `code`.
pub fn may_see(scope: &Scope, code: &str) -> bool {
    own_account(scope).is_none_or(|own| own == code)
}

/// A page of the accounts `scope` sees, by code, after `after`.
pub async fn balances(
    app: &App,
    scope: &Scope,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Account>, StoreError> {
    match own_account(scope) {
        None => app.store.accounts(after, limit).await,
        Some(own) if after.is_none() => Ok(app.store.account(&own).await?.into_iter().collect()),
        Some(_) => Ok(Vec::new()),
    }
}

/// The account `code` with the postings of `from <= at < to` after posting
/// `after`, if `scope` may see it and it exists.
pub async fn statement(
    app: &App,
    scope: &Scope,
    code: &str,
    (from, to): (Timestamp, Timestamp),
    after: i64,
    limit: u32,
) -> Result<Option<(Account, Vec<StatementLine>)>, StoreError> {
    if !may_see(scope, code) {
        return Ok(None);
    }
    let Some(account) = app.store.account(code).await? else {
        return Ok(None);
    };
    let lines = app
        .store
        .statement(StatementQuery {
            account: code.to_string(),
            from,
            to,
            after_posting_id: after,
            limit,
        })
        .await?;
    Ok(Some((account, lines)))
}

/// A whole window of the account `code` for a download, page after page up to
/// [`MAX_DOWNLOAD_LINES`]; and whether it was cut there.
pub async fn download(
    app: &App,
    scope: &Scope,
    code: &str,
    window: (Timestamp, Timestamp),
) -> Result<Option<(Account, Vec<StatementLine>, bool)>, StoreError> {
    let page = gerbang_store::MAX_PAGE;
    let Some((account, mut lines)) = statement(app, scope, code, window, 0, page).await? else {
        return Ok(None);
    };
    // One line past the limit says whether the range was cut there.
    while lines.len() <= MAX_DOWNLOAD_LINES {
        let Some(after) = lines.last().map(|l| l.posting_id) else {
            break;
        };
        if lines.len() % page as usize != 0 {
            break;
        }
        let more = match statement(app, scope, code, window, after, page).await? {
            Some((_, more)) if !more.is_empty() => more,
            _ => break,
        };
        lines.extend(more);
    }
    let cut = lines.len() > MAX_DOWNLOAD_LINES;
    lines.truncate(MAX_DOWNLOAD_LINES);
    Ok(Some((account, lines, cut)))
}
