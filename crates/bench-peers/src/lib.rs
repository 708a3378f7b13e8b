//! Benchmarks only: see benches/hosts.rs.
