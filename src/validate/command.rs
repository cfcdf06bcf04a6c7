//! Running one validation command: its own process group, a timeout, output kept
//! in a capped log, and its tail at hand for the failure message.
//!
//! Commands run through `sh -c` exactly as configured. Each gets a new process
//! group so that a timeout or a cancellation kills `make` *and* everything it
//! started (pytest workers, servers a test left behind); the group is also killed
//! after the command exits, so a stray background child cannot keep the output
//! pipe open and hang the run.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::process::kill_group;

/// How to run a command.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Killed (with its whole process group) after this long.
    pub timeout: Duration,
    /// At most this many bytes of output go to the log; the rest is counted, not kept.
    pub log_limit: u64,
    /// Lines of output kept for the failure message.
    pub tail_lines: usize,
}

/// How a command ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub ok: bool,
    /// The exit code, when it exited (not when killed by a signal).
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub cancelled: bool,
    pub duration: Duration,
    /// All output bytes, kept or not.
    pub output_bytes: u64,
    /// Whether the log was cut at the limit.
    pub truncated: bool,
    /// The last lines of output.
    pub tail: String,
    pub log: PathBuf,
}

impl Outcome {
    /// One line saying how it ended: `exit code 2`, `timed out after 30 s`, ...
    pub fn summary(&self) -> String {
        if self.timed_out {
            format!("timed out after {:.0} s; its process group was killed", self.duration.as_secs_f64())
        } else if self.cancelled {
            "cancelled; its process group was killed".to_string()
        } else {
            match self.exit_code {
                Some(0) => "passed".to_string(),
                Some(code) => format!("failed with exit code {code}"),
                None => "killed by a signal".to_string(),
            }
        }
    }
}

/// The part of the output kept in memory for the tail: enough for `tail_lines` of normal lines.
const TAIL_BYTES: usize = 64 * 1024;
/// Environment variables that tell git which repository, index and tree to use.
const GIT_LOCATION_VARIABLES: &[&str] =
    &["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX", "GIT_OBJECT_DIRECTORY"];
/// How often the child is polled for exit, timeout and cancellation.
const POLL: Duration = Duration::from_millis(20);
/// Between SIGTERM and SIGKILL of a group that is being stopped.
const GRACE: Duration = Duration::from_millis(1500);

/// Run `command` with `sh -c` in `cwd`, its output (stdout and stderr together) to `log`.
pub fn run(
    command: &str,
    cwd: &Path,
    env: &[(String, String)],
    limits: &Limits,
    log: &Path,
    cancelled: &dyn Fn() -> bool,
) -> std::io::Result<Outcome> {
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::File::create(log)?;
    writeln!(file, "$ {command}\n# in {}\n", cwd.display())?;
    let (reader, writer) = std::io::pipe()?;
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    // Set when the tool itself runs from a git hook: they would point `git` inside
    // the command at the user's repository instead of the worktree it runs in.
    for key in GIT_LOCATION_VARIABLES {
        cmd.env_remove(key);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    // The parent's copies of the pipe's write end must go, or the reader never sees EOF.
    drop(cmd);
    let pgid = child.id() as i32;
    let (done_tx, done_rx) = mpsc::channel();
    let limit = limits.log_limit;
    let collector = std::thread::spawn(move || {
        let collected = collect(reader, file, limit);
        let _ = done_tx.send(());
        collected
    });

    let (status, timed_out, was_cancelled) = wait(&mut child, pgid, start + limits.timeout, cancelled)?;
    let duration = start.elapsed();
    // Leftovers of the group (a server a test started) die with it.
    kill_group(pgid, libc::SIGKILL);
    // A grandchild that left the group may still hold the pipe: do not wait for it forever.
    let (output_bytes, truncated, tail_bytes) = if done_rx.recv_timeout(Duration::from_secs(5)).is_ok() {
        collector.join().unwrap_or_default()
    } else {
        (0, false, b"(output still held open by a process that left the command's process group)".to_vec())
    };
    let tail = last_lines(&String::from_utf8_lossy(&tail_bytes), limits.tail_lines);
    Ok(Outcome {
        ok: status.success() && !timed_out && !was_cancelled,
        exit_code: status.code(),
        timed_out,
        cancelled: was_cancelled,
        duration,
        output_bytes,
        truncated,
        tail,
        log: log.to_path_buf(),
    })
}

/// Wait for the child until it exits, the deadline passes or the user cancels
/// (then its group is stopped): its status, whether it timed out, whether cancelled.
fn wait(
    child: &mut std::process::Child,
    pgid: i32,
    deadline: Instant,
    cancelled: &dyn Fn() -> bool,
) -> std::io::Result<(std::process::ExitStatus, bool, bool)> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((status, false, false));
        }
        let timed_out = Instant::now() >= deadline;
        let was_cancelled = !timed_out && cancelled();
        if timed_out || was_cancelled {
            stop_group(pgid, child);
            return Ok((child.wait()?, timed_out, was_cancelled));
        }
        std::thread::sleep(POLL);
    }
}

/// Copy output to the log up to `limit` bytes, count the rest, keep the last bytes for the tail.
fn collect(mut reader: std::io::PipeReader, mut file: std::fs::File, limit: u64) -> (u64, bool, Vec<u8>) {
    let mut total = 0u64;
    let mut written = 0u64;
    let mut tail: VecDeque<u8> = VecDeque::with_capacity(TAIL_BYTES);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let chunk = &buf[..n];
        total += n as u64;
        if written < limit {
            let keep = (limit - written).min(n as u64) as usize;
            if file.write_all(&chunk[..keep]).is_ok() {
                written += keep as u64;
            }
        }
        if chunk.len() >= TAIL_BYTES {
            tail.clear();
            tail.extend(&chunk[chunk.len() - TAIL_BYTES..]);
        } else {
            let overflow = (tail.len() + chunk.len()).saturating_sub(TAIL_BYTES);
            tail.drain(..overflow);
            tail.extend(chunk);
        }
    }
    let truncated = total > written;
    if truncated {
        let _ = writeln!(
            file,
            "\n[refactor-async: output cut at {written} bytes of {total}; the last lines follow]\n{}",
            String::from_utf8_lossy(tail.make_contiguous())
        );
    }
    (total, truncated, tail.into())
}

/// The last `n` lines of `text`, without a trailing newline.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// SIGTERM the group, then SIGKILL it if the leader has not gone within the grace period.
fn stop_group(pgid: i32, child: &mut std::process::Child) {
    kill_group(pgid, libc::SIGTERM);
    let until = Instant::now() + GRACE;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(POLL);
    }
    kill_group(pgid, libc::SIGKILL);
}

/// Where `program` is on PATH, when it is not a path itself.
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return path.is_file().then_some(path);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::process_alive;

    fn limits(timeout_ms: u64, log_limit: u64) -> Limits {
        Limits { timeout: Duration::from_millis(timeout_ms), log_limit, tail_lines: 3 }
    }

    #[test]
    fn output_goes_to_the_log_and_the_tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("logs/a.log");
        let out = run(
            "echo one; echo two >&2; echo three; echo four; exit 3",
            dir.path(),
            &[],
            &limits(10_000, 1 << 20),
            &log,
            &|| false,
        )
        .unwrap();
        assert!(!out.ok);
        assert_eq!(out.exit_code, Some(3));
        assert_eq!(out.tail, "two\nthree\nfour");
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("one\ntwo\nthree\nfour\n"), "{text}");
        assert_eq!(out.summary(), "failed with exit code 3");
    }

    #[test]
    fn a_hanging_command_and_its_children_are_killed_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("child.pid");
        let cmd = format!("sleep 60 & echo $! > {}; wait", marker.display());
        let out = run(&cmd, dir.path(), &[], &limits(500, 1 << 20), &dir.path().join("l.log"), &|| false).unwrap();
        assert!(out.timed_out && !out.ok);
        assert!(out.duration < Duration::from_secs(10));
        let pid: i32 = std::fs::read_to_string(&marker).unwrap().trim().parse().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let alive = process_alive(pid);
        assert!(!alive, "the background sleep of the timed-out command is still running");
    }

    #[test]
    fn huge_output_is_capped_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("big.log");
        let out = run(
            "yes refactor | head -c 5000000; echo last line",
            dir.path(),
            &[],
            &limits(30_000, 10_000),
            &log,
            &|| false,
        )
        .unwrap();
        assert!(out.ok, "{}", out.tail);
        assert!(out.truncated);
        assert!(out.output_bytes > 5_000_000);
        let size = std::fs::metadata(&log).unwrap().len();
        assert!(size < 100_000, "log is {size} bytes");
        assert!(out.tail.ends_with("last line"), "{}", out.tail);
    }

    #[test]
    fn cancellation_stops_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let out = run("sleep 30", dir.path(), &[], &limits(60_000, 1000), &dir.path().join("c.log"), &|| {
            start.elapsed() > Duration::from_millis(200)
        })
        .unwrap();
        assert!(out.cancelled && !out.ok);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_background_child_holding_the_pipe_does_not_hang_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = run(
            "(sleep 30 &) ; echo started",
            dir.path(),
            &[],
            &limits(20_000, 1000),
            &dir.path().join("b.log"),
            &|| false,
        )
        .unwrap();
        assert!(out.ok);
        assert!(out.duration < Duration::from_secs(10));
    }
}
