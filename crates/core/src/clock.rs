//! Where "now" comes from. Production reads the system clock; the sandbox clock
//! adds an offset that the sandbox API can advance, so a 24-hour expiry can be
//! tested in a second.

use crate::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

fn system_now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    Timestamp::from_micros(micros)
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        system_now()
    }
}

/// System time plus an offset that only moves forward.
#[derive(Debug, Default)]
pub struct SandboxClock {
    offset_micros: AtomicI64,
}

impl SandboxClock {
    pub fn with_offset_micros(offset_micros: i64) -> Self {
        SandboxClock {
            offset_micros: AtomicI64::new(offset_micros),
        }
    }

    pub fn offset_micros(&self) -> i64 {
        self.offset_micros.load(Ordering::SeqCst)
    }

    /// Moves the clock forward; returns the new offset. Negative advances are ignored.
    pub fn advance_seconds(&self, seconds: i64) -> i64 {
        let add = seconds.max(0).saturating_mul(1_000_000);
        self.offset_micros.fetch_add(add, Ordering::SeqCst) + add
    }

    /// Raises the offset to at least `offset_micros` (another process advanced it).
    pub fn catch_up(&self, offset_micros: i64) {
        self.offset_micros
            .fetch_max(offset_micros, Ordering::SeqCst);
    }
}

impl Clock for SandboxClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(system_now().as_micros() + self.offset_micros())
    }
}
