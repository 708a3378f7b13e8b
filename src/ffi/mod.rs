//! The C ABI (placeholder while the core compiles).
