//! Keeps the tokens in this process's memory to this process: on Linux,
//! at start, the process is made non-dumpable (`PR_SET_DUMPABLE` 0), so no
//! core file is written and other processes of the same user cannot attach
//! to it or read its memory through /proc, and its core-file size limit is
//! set to zero for the kernels that still dump. Refusal by the system is
//! never an error: git must get its answer regardless.

/// Call first thing in `main`, before any secret is read.
pub fn protect() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{
            DumpableBehavior, Resource, getrlimit, set_dumpable_behavior, setrlimit,
        };

        if let Err(err) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
            crate::trace!("memory: could not make the process non-dumpable: {err}");
        }
        let mut limit = getrlimit(Resource::Core);
        limit.current = Some(0);
        if let Err(err) = setrlimit(Resource::Core, limit) {
            crate::trace!("memory: could not set the core-file size limit to 0: {err}");
        }
    }
}
