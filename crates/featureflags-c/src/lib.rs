//! The C ABI (docs/design.md §2). This module only adapts the safe core: it checks every
//! pointer, length and UTF-8 string, runs each exported body inside `boundary!` so
//! that no panic unwinds into the host, and states the ownership of every pointer in the
//! doc comments that cbindgen copies into `include/featureflags.h`.
#![warn(missing_docs)]
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // the safety contract is each function's doc comment

use std::ffi::c_char;

// cbindgen reads this file's items first, then the modules in the order declared here,
// and writes the functions in that order: this order is the header's. rustfmt would sort
// the declarations if they were not separated by these comments.

// `boundary!`: every exported body runs inside it.
mod boundary;
// `ff_error` and its accessors; the status each core error maps to.
mod error;
// The caller's pointers, strings and handles; out-pointers; `ff_bytes_free`.
mod args;
// The engine handle: create, load, clock, revision, free; `ff_bucket`.
mod engine;
// The evaluation context handle.
mod context;
// Flag evaluation and runtime overrides.
mod flags;
// Many flags in one call: a list of keys, or all flags for a context.
mod batch;
// Flag lists: keys copied once, looked up once per config by each context.
mod flag_list;
// Assignment, tracking, results, winners; funnel and time-series reports.
mod experiments;
// Statistics that need no engine: `ff_analyze_json` and experiment planning.
mod planning;
// Rollout status, health, operator actions and membership; a flag's history.
mod rollouts;
// The event queue, evaluation events and the listener.
mod events;
// The types shared with C; their layout and numbering are the ABI.
mod types;
// flagd flag definitions: load, structured context values, evaluation (docs/flagd.md).
mod flagd;

pub use args::ff_bytes_free;
pub use batch::*;
pub use context::*;
pub use engine::*;
pub use error::{ff_error_free, ff_error_message, ff_error_status};
pub use events::*;
pub use experiments::*;
pub use flag_list::*;
pub use flagd::*;
pub use flags::*;
pub use planning::*;
pub use rollouts::*;
pub use types::*;

/// ABI version: bumped on any incompatible change to this header. 2 added functions and
/// types only: a caller built against ABI 1 keeps working unchanged.
pub const FF_ABI_VERSION: u32 = 2;

/// The `FF_ABI_VERSION` the loaded library was built with. A binding compares it with
/// the `FF_ABI_VERSION` it was compiled against when it loads the library, and refuses
/// a library built for another ABI.
#[no_mangle]
pub extern "C" fn ff_abi_version() -> u32 {
    FF_ABI_VERSION
}

/// The library version ("0.1.0"), equal to `FF_VERSION`. A static string: do not free.
#[no_mangle]
pub extern "C" fn ff_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
