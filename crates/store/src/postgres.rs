//! The PostgreSQL store (being written).
use crate::StoreError;

pub struct PostgresStore;

impl PostgresStore {
    pub async fn connect(_url: &str) -> Result<crate::sqlite::SqliteStore, StoreError> {
        Err(StoreError("PostgreSQL backend not built yet".into()))
    }
}
