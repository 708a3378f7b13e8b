//! The calling thread's CPU time, for the examples that time work: unlike the wall
//! clock, it holds when other processes share the cores.

/// Nanoseconds of CPU time the calling thread has used; `None` where there is no
/// per-thread clock.
pub fn thread_cpu_ns() -> Option<u128> {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Some(t.tv_sec as u128 * 1_000_000_000 + t.tv_nsec as u128)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}
