//! The gateway's clock: the system clock plus a sandbox offset that the sandbox API
//! advances. The offset is stored, so it survives restarts and is shared by every
//! process on one database. In production mode it cannot move.

use gerbang_core::{Clock, SandboxClock, Timestamp};
use gerbang_store::{Expect, RecordWrite, SharedStore, Step};

/// The furthest one move of the clock goes: a year and a day.
pub const MAX_ADVANCE_SECONDS: i64 = 366 * 24 * 3600;
const SETTING: &str = "setting";
const KEY: &str = "sandbox.clock_offset";

pub struct PersistedClock {
    inner: SandboxClock,
    store: SharedStore,
    movable: bool,
}

impl PersistedClock {
    pub async fn load(store: SharedStore, movable: bool) -> Result<Self, String> {
        let clock = PersistedClock {
            inner: SandboxClock::default(),
            store,
            movable,
        };
        if movable {
            clock.refresh().await;
        }
        Ok(clock)
    }

    pub fn movable(&self) -> bool {
        self.movable
    }

    pub fn offset_seconds(&self) -> i64 {
        self.inner.offset_micros() / 1_000_000
    }

    /// Catches up with an offset another process stored.
    pub async fn refresh(&self) {
        if !self.movable {
            return;
        }
        if let Ok(Some(record)) = self.store.record(SETTING, KEY).await {
            if let Some(offset) = record.data.value()["offset_micros"].as_i64() {
                self.inner.catch_up(offset);
            }
        }
    }

    /// Moves the clock forward by `seconds` and stores the new offset (see
    /// [`crate::App::advance_clock`], which also wakes the workers).
    pub async fn advance(&self, seconds: i64) -> Result<Timestamp, String> {
        if !self.movable {
            return Err("the clock cannot be moved in production mode".into());
        }
        self.refresh().await;
        let offset = self.inner.advance_seconds(seconds);
        self.store
            .commit(
                self.now(),
                Step {
                    records: vec![RecordWrite {
                        kind: SETTING.into(),
                        key: KEY.into(),
                        owner: "sandbox".into(),
                        state: "set".into(),
                        data: serde_json::json!({ "offset_micros": offset }).into(),
                        expect: Expect::Any,
                    }],
                    ..Step::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(self.now())
    }

    /// Waits until this clock has moved `seconds` on: in real time, or at once when
    /// the sandbox API advances it (another process's advance is seen too).
    pub async fn sleep(&self, seconds: u64) {
        let until = self.now().plus_seconds(seconds.min(i64::MAX as u64) as i64);
        loop {
            self.refresh().await;
            if self.now() >= until {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Clock for PersistedClock {
    fn now(&self) -> Timestamp {
        self.inner.now()
    }
}
