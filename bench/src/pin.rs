//! CPU pinning: the servers run on one CPU and the load generator on another, so the two never take
//! each other's core and both servers get exactly the same share of the machine.

use anyhow::{Context, Result};

/// CPUs this process may run on.
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Pins the calling thread to `cpu`. Called before the runtime starts, so every thread the load
/// generator creates afterwards inherits the mask.
pub fn pin_current_thread(cpu: usize) -> Result<()> {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set).with_context(|| format!("pin to CPU {cpu}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinning_a_fresh_thread_restricts_it_to_that_cpu() {
        let got = std::thread::spawn(|| {
            pin_current_thread(0)
                .map(|()| rustix::thread::sched_getaffinity(None).map(|s| (s.count(), s.is_set(0))))
        })
        .join();
        assert!(matches!(got, Ok(Ok(Ok((1, true))))), "{got:?}");
    }
}
