//! Fresh, real databases for test suites.
//!
//! PostgreSQL tests need `GERBANG_TEST_POSTGRES_URL`, a URL of a server where the
//! user may create databases (for example `postgres://gerbang@127.0.0.1:5432/postgres`).
//! Each call creates a new database on that server, dropped again when the test lets go
//! of it (a test run would otherwise leave hundreds behind). Without the variable the
//! PostgreSQL tests are skipped, loudly, unless `GERBANG_REQUIRE_POSTGRES=1`, which
//! turns the skip into a failure (CI sets it).

use crate::{SharedStore, Store};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub const POSTGRES_URL_VAR: &str = "GERBANG_TEST_POSTGRES_URL";
pub const REQUIRE_POSTGRES_VAR: &str = "GERBANG_REQUIRE_POSTGRES";

/// A database that lives as long as this value.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// For a PostgreSQL database: the server's admin URL and the database's name.
    postgres: Option<(String, String)>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop may run on an async worker; the statement gets a runtime of its own on a
        // thread of its own. FORCE ends the connections a pool or a child process still holds.
        let dropping = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            if let Err(e) = runtime.block_on(execute_on_server(&admin_url, &sql)) {
                eprintln!("test database {name} left behind: {e}");
            }
        });
        let _ = dropping.join();
    }
}

/// A new SQLite file in a temporary folder.
pub fn sqlite_database() -> TestDatabase {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}", dir.path().join("gerbang.db").display());
    TestDatabase {
        url,
        _dir: Some(dir),
        postgres: None,
    }
}

/// A new, empty PostgreSQL database, or `None` when no server is configured.
pub async fn postgres_database() -> Option<TestDatabase> {
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
        if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1") {
            panic!("{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set");
        }
        eprintln!("PostgreSQL suite skipped: {POSTGRES_URL_VAR} is not set");
        return None;
    };
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "gerbang_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    execute_on_server(&admin_url, &format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| {
            panic!("cannot create test database {name} at {POSTGRES_URL_VAR}: {e}")
        });
    Some(TestDatabase {
        url: replace_database(&admin_url, &name),
        _dir: None,
        postgres: Some((admin_url, name)),
    })
}

/// Runs `sql` on the database `url` names (`sqlite://PATH` or `postgres://…`) on
/// a connection of its own, as an operator's tool would.
pub async fn execute(url: &str, sql: &str) -> Result<(), String> {
    match url.strip_prefix("sqlite://") {
        Some(path) => rusqlite::Connection::open(path)
            .and_then(|c| c.execute_batch(sql))
            .map_err(|e| e.to_string()),
        None => execute_on_server(url, sql).await.map_err(|e| e.to_string()),
    }
}

/// Runs `sql` on the server `admin_url` names, on a connection of its own.
pub async fn execute_on_server(admin_url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(connection);
    let result = client.batch_execute(sql).await;
    drop(client);
    let _ = driver.await;
    result
}

/// The same server URL naming another database.
pub fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

pub async fn open(db: &TestDatabase) -> SharedStore {
    crate::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", crate::redact_url(&db.url)))
}

/// Both backends, the PostgreSQL one only when configured.
pub async fn each_backend() -> Vec<(TestDatabase, Arc<dyn Store>)> {
    let mut out = Vec::new();
    let sqlite = sqlite_database();
    let store = open(&sqlite).await;
    out.push((sqlite, store));
    if let Some(pg) = postgres_database().await {
        let store = open(&pg).await;
        out.push((pg, store));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn swaps_the_database_name() {
        assert_eq!(
            super::replace_database("postgres://u:p@127.0.0.1:5432/postgres", "t1"),
            "postgres://u:p@127.0.0.1:5432/t1"
        );
        assert_eq!(
            super::replace_database("postgres://u@localhost:5432/postgres?sslmode=disable", "t2"),
            "postgres://u@localhost:5432/t2?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://u@localhost", "t3"),
            "postgres://u@localhost/t3"
        );
    }
}
