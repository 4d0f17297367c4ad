//! Process hardening at start: no core dumps (they would contain key material) and, where
//! the system allows it, all memory locked so keys are never swapped out.

/// Disables core dumps and, unless `disable_mlock`, locks current and future memory.
/// Failures are reported, not fatal: unprivileged users often cannot lock memory.
pub fn harden_process(disable_mlock: bool) -> Vec<String> {
    let mut notes = Vec::new();
    #[cfg(target_os = "linux")]
    {
        if let Err(e) =
            rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        {
            notes.push(format!("could not disable core dumps: {e}"));
        }
        let zero = rustix::process::Rlimit {
            current: Some(0),
            maximum: None,
        };
        let _ = rustix::process::setrlimit(rustix::process::Resource::Core, zero);
    }
    #[cfg(target_os = "linux")]
    if !disable_mlock {
        // With a finite RLIMIT_MEMLOCK and no privilege, MCL_FUTURE would make later
        // allocations fail once the limit is reached, so lock only when that cannot happen.
        let limit = rustix::process::getrlimit(rustix::process::Resource::Memlock);
        let privileged = rustix::process::geteuid().is_root();
        if limit.current.is_none() || privileged {
            // ONFAULT locks pages as they are touched instead of faulting in every mapping
            // up front (thread stacks, allocator arenas, the whole binary): the same
            // protection for what holds data, without doubling the resident size.
            use rustix::mm::MlockAllFlags as F;
            let locked = rustix::mm::mlockall(F::CURRENT | F::FUTURE | F::ONFAULT).or_else(|e| {
                // Kernels before 4.4 know no ONFAULT.
                if e == rustix::io::Errno::INVAL {
                    rustix::mm::mlockall(F::CURRENT | F::FUTURE)
                } else {
                    Err(e)
                }
            });
            if let Err(e) = locked {
                notes.push(format!(
                    "could not lock memory ({e}); secrets may be swapped to disk"
                ));
            }
        } else {
            notes.push(
                "memory is not locked: RLIMIT_MEMLOCK is limited and the process is unprivileged; \
                 secrets may be swapped to disk unless swap is disabled"
                    .to_owned(),
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = disable_mlock;
    notes
}
