//! WAL checkpoints on a thread of their own.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that crosses its threshold,
//! on the writer thread: every caller waiting for the next batch waits for the
//! checkpoint too (copying thousands of pages into the database file and syncing
//! it). Instead the writer connection reports the WAL's length after each commit
//! (`sqlite3_wal_hook`), and this thread runs a PASSIVE checkpoint on its own
//! connection once the WAL is long enough. A passive checkpoint never blocks the
//! writer; durability is unchanged (each commit is still synced to the WAL before it
//! is answered, and the database file is synced before the WAL is reused).
//!
//! The WAL starts over from its beginning only when a write transaction begins with
//! every frame already copied, which a checkpoint running beside a busy writer never
//! achieves: the writer keeps appending. So once this thread has copied the bulk,
//! the writer copies the few frames committed meanwhile itself, between two batches
//! ([`Signal::finish_wanted`]); its next transaction then reuses the WAL from the
//! start instead of growing the file.

use rusqlite::{ffi, Connection};
use std::os::raw::{c_char, c_int, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// WAL frames (pages) after which a checkpoint starts: about 16 MB. A checkpoint
/// ends by syncing the pages it copied, and a commit's own sync waits behind them:
/// the larger the checkpoint, the longer that wait (single commits took 30–45 ms
/// under load with 32 MB, up to 25–28 ms with 16 MB, 12–17 ms with 8 MB). The
/// smaller, the more often the same hot pages are copied again (8 MB wrote 10 %
/// more per transfer than 16 MB).
const CHECKPOINT_FRAMES: c_int = 4_000;
/// Past this many frames the WAL is checkpointed and restarted even if that makes
/// the writer wait (a safety net: passive checkpoints should never let it get here).
const RESTART_FRAMES: c_int = 128_000;

#[derive(Default)]
struct State {
    /// Frames in the WAL after the last commit.
    frames: c_int,
    stop: bool,
}

/// What the writer's WAL hook and the checkpoint thread share.
#[derive(Default)]
pub(super) struct Signal {
    state: Mutex<State>,
    wake: Condvar,
    /// The checkpoint thread copied the WAL up to a recent frame: the writer should
    /// copy the rest.
    finish: AtomicBool,
}

impl Signal {
    /// Whether the writer should finish a checkpoint now (and clears the request).
    pub(super) fn finish_wanted(&self) -> bool {
        self.finish.load(Ordering::Relaxed) && self.finish.swap(false, Ordering::Relaxed)
    }

    /// Stops the checkpoint thread (the writer is done).
    pub(super) fn stop(&self) {
        self.state.lock().expect("checkpoint state").stop = true;
        self.wake.notify_one();
    }

    fn committed(&self, frames: c_int) {
        let mut state = self.state.lock().expect("checkpoint state");
        state.frames = frames;
        if frames >= CHECKPOINT_FRAMES {
            self.wake.notify_one();
        }
    }
}

unsafe extern "C" fn on_commit(
    signal: *mut c_void,
    _db: *mut ffi::sqlite3,
    _name: *const c_char,
    frames: c_int,
) -> c_int {
    // SAFETY: `signal` is the `Signal` given to `install`, which outlives the
    // connection (see there).
    let signal = unsafe { &*(signal as *const Signal) };
    signal.committed(frames);
    ffi::SQLITE_OK
}

/// Starts the checkpoint thread for the database at `path` and replaces the writer
/// connection's automatic checkpoint with reports to it. Without a thread (it could
/// not be started), the automatic checkpoint stays.
///
/// `signal` must stay alive as long as `writer` is open.
pub(super) fn start(
    writer: &Connection,
    path: &Path,
    signal: &Arc<Signal>,
) -> Option<std::thread::JoinHandle<()>> {
    let conn = match Connection::open(path).and_then(|c| {
        c.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")?;
        Ok(c)
    }) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "no checkpoint connection; the writer checkpoints itself");
            return None;
        }
    };
    let thread = {
        let signal = signal.clone();
        std::thread::Builder::new()
            .name("gerbang-sqlite-checkpoint".into())
            .spawn(move || run(conn, signal))
    };
    match thread {
        Ok(thread) => {
            // SAFETY: the callback only reads `signal`, which the caller keeps alive
            // for the life of the connection.
            unsafe {
                ffi::sqlite3_wal_hook(
                    writer.handle(),
                    Some(on_commit),
                    Arc::as_ptr(signal) as *mut c_void,
                );
            }
            Some(thread)
        }
        Err(e) => {
            tracing::warn!(error = %e, "no checkpoint thread; the writer checkpoints itself");
            None
        }
    }
}

/// Runs checkpoints until the writer stops.
fn run(conn: Connection, signal: Arc<Signal>) {
    loop {
        let frames = {
            let mut state = signal.state.lock().expect("checkpoint state");
            // `stop` and `committed` notify whenever they make this condition false.
            while !state.stop && state.frames < CHECKPOINT_FRAMES {
                state = signal.wake.wait(state).expect("checkpoint state");
            }
            if state.stop {
                return;
            }
            // Seen: the next commit reports the WAL's length again.
            std::mem::replace(&mut state.frames, 0)
        };
        let mode = if frames >= RESTART_FRAMES {
            "RESTART"
        } else {
            "PASSIVE"
        };
        let result = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        match result {
            Ok((_busy, log, done)) => {
                tracing::debug!(mode, log, done, "WAL checkpoint");
                signal.finish.store(true, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Copies what is left of the WAL, on the writer's connection between two batches.
pub(super) fn finish(writer: &Connection) {
    if let Err(e) = writer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "WAL checkpoint on the writer failed");
    }
}
