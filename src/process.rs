//! Process groups and process liveness, shared by the code that runs children
//! (validation commands) and the code that cleans up after a killed run (stale
//! worktrees, the daemon's lock).
//!
//! Kept apart from both so that `git` and `validate` need not import each other.

/// Send `signal` to every process of the group (no error when it is already gone).
pub fn kill_group(pgid: i32, signal: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// Whether process `pid` is running (a zombie, dead but not yet reaped, is not).
pub fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        return stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z'));
    }
    // SAFETY: signal 0 only checks for existence and permission.
    unsafe { libc::kill(pid, 0) == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) }
}
