//! The key that signs the gateway's access tokens (SendMe's and SNAP's B2B
//! tokens, told apart by purpose): made the first time it is needed and stored as
//! the setting record `sendme.token_key` (its name from when only SendMe issued
//! tokens), so every process on the database accepts every other's tokens.

use crate::App;
use gerbang_protocol::token::TokenKey;
use gerbang_store::{Expect, RecordWrite, Step, StoreError};

const KIND: &str = "setting";
const KEY: &str = "sendme.token_key";

fn read(record: &gerbang_store::Record) -> Result<TokenKey, StoreError> {
    record.data.value()["hex"]
        .as_str()
        .and_then(TokenKey::from_hex)
        .ok_or_else(|| StoreError(format!("stored token key ({KIND}/{KEY}) is unreadable")))
}

/// The stored key, or a new one stored now. Two processes making one at once
/// both write; the first wins and the other reads it.
pub(crate) async fn load_or_create(app: &App) -> Result<TokenKey, StoreError> {
    if let Some(r) = app.store.record(KIND, KEY).await? {
        return read(&r);
    }
    let key = TokenKey::random();
    let created = app
        .commit(Step {
            records: vec![RecordWrite {
                kind: KIND.into(),
                key: KEY.into(),
                owner: "sendme".into(),
                state: "set".into(),
                data: serde_json::json!({ "hex": key.to_hex() }).into(),
                expect: Expect::Absent,
            }],
            ..Step::default()
        })
        .await;
    match created {
        Ok(_) => Ok(key),
        Err(_) => match app.store.record(KIND, KEY).await? {
            Some(r) => read(&r),
            None => Err(StoreError("no token key".into())),
        },
    }
}
