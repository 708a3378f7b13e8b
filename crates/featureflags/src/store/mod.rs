//! The durable state store: an engine opened with `state_path` keeps what it was told
//! and what it counted in one SQLite file (WAL mode), so a restart or a crash loses
//! neither. docs/durability.md says what is durable when.
//!
//! Control-plane changes (overrides, winners, rollout state, the loaded config) are each
//! committed with an fsync before the call that made them returns; counts (per-user
//! exposures and totals, tallies, the audit trail) are written by an explicit checkpoint.
//! The store only moves rows: what they mean is decided by the engine and the tracker.

pub(crate) mod codec;
mod control;
mod tallies;

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::sync::lock;

pub(crate) use codec::{encode_record, SavedExposure};
pub(crate) use control::SavedControls;
pub(crate) use tallies::{CheckpointRows, Names, SavedTally};

/// The schema this library writes. A file with a newer one is refused; an older one is
/// upgraded on open. Schema 2 added allocation periods to the counting rows (users' rows
/// layout 2, variants' tallies per period); its tables are those of schema 1, so the
/// upgrade only marks the file, and schema 1 rows read as one period.
pub const SCHEMA_VERSION: i64 = 2;

/// What to do with a state file that cannot be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StateRecovery {
    /// Refuse to open (the default): an operator decides.
    #[default]
    Refuse,
    /// Keep the unreadable file as `<path>.corrupt-<unix ms>` and start with no state.
    StartFresh,
}

/// Why the state store could not be opened or written. Every message names the file and
/// says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Another engine (in this or another process) has the file open.
    #[error("state {path}: in use by pid {pid}; each engine needs its own state_path")]
    InUse {
        /// The state file.
        path: String,
        /// The process holding it, as written in its lock file.
        pid: String,
    },
    /// The file was written by a newer library.
    #[error(
        "state {path}: schema version {found} is newer than this library's {supported}; \
         use a library at least as new as the one that wrote it, or another state_path"
    )]
    NewerSchema {
        /// The state file.
        path: String,
        /// The schema version in the file.
        found: i64,
        /// The newest this library knows.
        supported: i64,
    },
    /// The file is not a readable state store.
    #[error(
        "state {path}: {detail}; move the file aside, or open with \"state_recovery\": \"start_fresh\" \
         to keep it as {path}.corrupt-<time> and start with no state"
    )]
    Corrupt {
        /// The state file.
        path: String,
        /// What was wrong.
        detail: String,
    },
    /// Called from inside the engine's own event listener, where it could wait for itself.
    #[error(transparent)]
    InsideListener(#[from] crate::events::InsideListener),
    /// The file or its directory could not be read or written (missing, read-only, full).
    #[error("state {path}: {detail}")]
    Io {
        /// The state file.
        path: String,
        /// What failed and what to do.
        detail: String,
    },
}

/// The open store: one connection (SQLite serializes writers anyway) and the lock file
/// that keeps a second engine away.
#[derive(Debug)]
pub(crate) struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
    _lock: File,
    max_bytes: Option<u64>,
}

impl Store {
    /// Opens (creating if needed) the store at `path`, refusing a file another engine
    /// holds, a newer schema, or an unreadable file (unless `recovery` says start fresh).
    pub(crate) fn open(path: &Path, recovery: StateRecovery, max_bytes: Option<u64>) -> Result<Store, StateError> {
        let lock = lock_file(path)?;
        let conn = match open_connection(path, max_bytes) {
            Err(StateError::Corrupt { .. }) if recovery == StateRecovery::StartFresh => {
                set_aside(path)?;
                open_connection(path, max_bytes)?
            }
            other => other?,
        };
        Ok(Store { conn: Mutex::new(conn), path: path.to_owned(), _lock: lock, max_bytes })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        lock(&self.conn)
    }

    /// The error for a failed statement or commit on this file.
    fn fail(&self, e: rusqlite::Error) -> StateError {
        classify(&self.path, e)
    }

    /// Moves an unreadable file aside after it was opened (restore found it corrupt),
    /// for [`StateRecovery::StartFresh`]: the store reopens empty on the same path.
    pub(crate) fn reset(&self) -> Result<(), StateError> {
        let mut conn = self.conn();
        let fresh = Connection::open_in_memory().map_err(|e| self.fail(e))?;
        drop(std::mem::replace(&mut *conn, fresh));
        set_aside(&self.path)?;
        *conn = open_connection(&self.path, self.max_bytes)?;
        Ok(())
    }
}

/// Takes `<path>.lock` for this process, writing its pid there so a refused opener can
/// say who holds it. The OS drops the lock when the process dies, however it dies.
fn lock_file(path: &Path) -> Result<File, StateError> {
    let display = path.display().to_string();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(StateError::Io {
            path: display,
            detail: format!("directory {} does not exist; create it or choose another state_path", dir.display()),
        });
    }
    let lock_path = with_suffix(path, ".lock");
    let mut file =
        OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&lock_path).map_err(|e| {
            StateError::Io {
                path: display.clone(),
                detail: format!("cannot create {}: {e}; the directory must be writable", lock_path.display()),
            }
        })?;
    // A child forked by another thread holds a copy of every descriptor until it execs,
    // and with it the lock of an engine this process has just dropped: a lock held under
    // this process's own pid is retried for a moment before it counts as in use.
    let mut retries = 0;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                let pid = holder_pid(&mut file);
                if pid == std::process::id().to_string() && retries < SAME_PROCESS_LOCK_RETRIES {
                    retries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    continue;
                }
                return Err(StateError::InUse { path: display, pid: if pid.is_empty() { "?".into() } else { pid } });
            }
            Err(TryLockError::Error(e)) => {
                return Err(StateError::Io {
                    path: display,
                    detail: format!("cannot lock {}: {e}", lock_path.display()),
                })
            }
        }
    }
    let written = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| write!(file, "{}", std::process::id()));
    written
        .map_err(|e| StateError::Io { path: display, detail: format!("cannot write {}: {e}", lock_path.display()) })?;
    Ok(file)
}

/// How many milliseconds a lock held under this process's pid is waited for (see
/// `lock_file`); a second engine of this process on the same file is refused after it.
const SAME_PROCESS_LOCK_RETRIES: u32 = 200;

/// The pid written in a lock file by its holder ("" when unreadable).
fn holder_pid(file: &mut File) -> String {
    let mut pid = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut pid));
    pid.trim().to_owned()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Renames the file (and its WAL and shared-memory files) to `<path>.corrupt-<unix ms>`.
fn set_aside(path: &Path) -> Result<(), StateError> {
    let stamp = crate::timestamp::wall_clock_ms();
    for suffix in ["", "-wal", "-shm"] {
        let from = with_suffix(path, suffix);
        if from.exists() {
            let to = with_suffix(path, &format!(".corrupt-{stamp}{suffix}"));
            std::fs::rename(&from, &to).map_err(|e| StateError::Io {
                path: path.display().to_string(),
                detail: format!("cannot move the unreadable file aside to {}: {e}", to.display()),
            })?;
        }
    }
    Ok(())
}

/// Opens the database, sets it up for durable commits and checks or creates the schema.
fn open_connection(path: &Path, max_bytes: Option<u64>) -> Result<Connection, StateError> {
    let fail = |e| classify(path, e);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(fail)?;
    // WAL: a commit appends to the log, and `synchronous = FULL` fsyncs it before the
    // commit returns, so an acknowledged change survives a crash or a power cut.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(fail)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StateError::Io {
            path: path.display().to_string(),
            detail: format!("cannot use write-ahead logging (journal mode {mode}); use a local file system"),
        });
    }
    // A 32 MiB page cache keeps a checkpoint of 100,000 users from rereading pages.
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -32768;")
        .map_err(fail)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(fail)?;
    if version > SCHEMA_VERSION {
        return Err(StateError::NewerSchema {
            path: path.display().to_string(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == 0 {
        conn.execute_batch(SCHEMA).map_err(fail)?;
    } else if version == 1 {
        // Marked at once: once this library has checkpointed period rows, an older one
        // must refuse the file rather than misread them.
        conn.execute_batch("PRAGMA user_version = 2").map_err(fail)?;
    }
    if let Some(max_bytes) = max_bytes {
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).map_err(fail)?;
        let pages = (max_bytes / page_size as u64).max(1);
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(())).map_err(fail)?;
    }
    Ok(conn)
}

/// Schema version 2 (the tables of version 1). Names (experiments, variants, metrics)
/// are stored once and referred to by number in the counting tables, which keeps a
/// user's row small. A variant's tally (`attribute` -1) keeps its allocation period in
/// `segment`.
const SCHEMA: &str = "
BEGIN;
CREATE TABLE config (id INTEGER PRIMARY KEY CHECK (id = 1), document BLOB NOT NULL, loaded_at_ms INTEGER NOT NULL);
CREATE TABLE overrides (flag TEXT PRIMARY KEY, variant TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE winners (experiment TEXT PRIMARY KEY, variant TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE rollouts (rollout TEXT PRIMARY KEY, runtime TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE users (id TEXT PRIMARY KEY, exposures BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE tallies (experiment INTEGER NOT NULL, variant INTEGER NOT NULL, attribute INTEGER NOT NULL,
    segment INTEGER NOT NULL, users INTEGER NOT NULL, metrics BLOB NOT NULL,
    PRIMARY KEY (experiment, variant, attribute, segment)) WITHOUT ROWID;
CREATE TABLE segment_values (experiment INTEGER NOT NULL, attribute INTEGER NOT NULL, segment INTEGER NOT NULL,
    value TEXT NOT NULL, PRIMARY KEY (experiment, attribute, segment)) WITHOUT ROWID;
CREATE TABLE unattributed (metric TEXT PRIMARY KEY, events INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE history (flag TEXT PRIMARY KEY, entries TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE funnel_users (id TEXT PRIMARY KEY, progress BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE funnel_tallies (funnel INTEGER NOT NULL, variant INTEGER NOT NULL, tally BLOB NOT NULL,
    PRIMARY KEY (funnel, variant)) WITHOUT ROWID;
CREATE TABLE series (experiment TEXT PRIMARY KEY, series BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE allocations (experiment TEXT PRIMARY KEY, periods TEXT NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 2;
COMMIT;
";

/// Turns a SQLite error into one that says what to do.
fn classify(path: &Path, e: rusqlite::Error) -> StateError {
    let path_text = path.display().to_string();
    let code = e.sqlite_error_code();
    match code {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StateError::Corrupt { path: path_text, detail: e.to_string() }
        }
        Some(ErrorCode::DiskFull) => StateError::Io {
            path: path_text,
            detail: format!(
                "{e}; free space on its file system or raise state_max_bytes (nothing committed before was lost)"
            ),
        },
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen) => StateError::Io {
            path: path_text,
            detail: format!("{e}; the file and its directory must be writable by this process"),
        },
        _ => StateError::Io { path: path_text, detail: e.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A forked child's copy of the descriptor (here a duplicate, which shares the lock
    /// the same way) keeps an engine's lock after the engine is gone, until the child
    /// execs; reopening in that moment must wait for it rather than fail.
    #[test]
    fn a_lock_held_a_moment_longer_by_a_copy_of_its_descriptor_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flags.db");
        let first = lock_file(&path).expect("locks");
        let childs_copy = first.try_clone().unwrap();
        drop(first);
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            drop(childs_copy);
        });
        let again = lock_file(&path).expect("relocks once the copy is closed");
        release.join().unwrap();
        // A holder that stays is still refused, with its pid.
        match lock_file(&path) {
            Err(StateError::InUse { pid, .. }) => assert_eq!(pid, std::process::id().to_string()),
            other => panic!("expected InUse, got {other:?}"),
        }
        drop(again);
    }
}
