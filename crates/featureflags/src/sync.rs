//! Locks that ignore poisoning. The C boundary catches panics and the engine stays in
//! use, so poisoning would turn one failed call into the failure of every later one.
//! Every critical section leaves its data usable if it panics part-way: a reload builds
//! the next rollout map aside and replaces the old one in one assignment, and every other
//! write touches one entry (an override, a winner, a rollout, a flag's history, a series,
//! a user, a tally, a name).

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
