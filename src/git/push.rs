//! Pushing proposal branches with git2, with git's credential helpers and ssh-agent.
//!
//! Before overwriting the remote branch, its current tip is read: if it is not a
//! commit the tool made (someone pushed their own work there), the push is refused.

use std::cell::RefCell;

use git2::{Cred, CredentialType, Oid, PushOptions, RemoteCallbacks, Repository};

use super::branch::{self, BranchState};
use super::{Context as _, GitError};

/// Network timeouts for every git2 connection, in milliseconds (process-wide in libgit2).
pub fn set_network_timeouts(connect_ms: i32, io_ms: i32) {
    // SAFETY: libgit2's global options are set before any connection is made.
    unsafe {
        let _ = git2::opts::set_server_connect_timeout_in_milliseconds(connect_ms);
        let _ = git2::opts::set_server_timeout_in_milliseconds(io_ms);
    }
}

/// Callbacks that find credentials the way `git` does, giving up after a few tries
/// instead of looping on a rejected key.
fn callbacks<'a>(repo: &'a Repository, attempts: &'a RefCell<u32>) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |url, username, allowed| {
        *attempts.borrow_mut() += 1;
        if *attempts.borrow() > 4 {
            return Err(git2::Error::from_str("authentication failed (credential helper and ssh-agent were tried)"));
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            return Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            let config = repo.config()?;
            return Cred::credential_helper(&config, url, username);
        }
        Cred::default()
    });
    callbacks
}

/// What the remote's copy of `name` points at, if it has one. The commit is
/// fetched (into a private reference, deleted again) so that it can be inspected.
pub fn remote_tip(repo: &Repository, remote_name: &str, name: &str) -> Result<Option<Oid>, GitError> {
    let failed = |e: git2::Error| GitError::Push { remote: remote_name.to_string(), message: e.message().to_string() };
    let mut remote = repo.find_remote(remote_name).context(|| format!("unknown remote `{remote_name}`"))?;
    let scratch = format!("refs/refactor-async/remote-tip/{name}");
    let attempts = RefCell::new(0);
    let mut options = git2::FetchOptions::new();
    options
        .remote_callbacks(callbacks(repo, &attempts))
        .update_fetchhead(false)
        .download_tags(git2::AutotagOption::None);
    let spec = format!("+refs/heads/{name}:{scratch}");
    remote
        .fetch(&[spec.as_str()], Some(&mut options), Some("refactor-async: read the remote branch"))
        .map_err(failed)?;
    let tip = repo.find_reference(&scratch).ok().and_then(|r| r.target());
    if let Ok(mut reference) = repo.find_reference(&scratch) {
        let _ = reference.delete();
    }
    Ok(tip)
}

/// Push local branch `name` to `remote_name`, replacing the remote copy only if it
/// is the tool's own commit.
pub fn push(repo: &Repository, remote_name: &str, name: &str) -> Result<(), GitError> {
    if let Some(tip) = remote_tip(repo, remote_name, name)? {
        let ours = matches!(branch::classify(repo, tip), BranchState::Ours { .. });
        let local = repo.find_branch(name, git2::BranchType::Local).ok().and_then(|b| b.get().target());
        if !ours && Some(tip) != local {
            return Err(GitError::Push {
                remote: remote_name.to_string(),
                message: format!(
                    "{remote_name}/{name} has commits refactor-async did not make (someone pushed to it); it is left as it is"
                ),
            });
        }
    }
    let mut remote = repo.find_remote(remote_name).context(|| format!("unknown remote `{remote_name}`"))?;
    let attempts = RefCell::new(0);
    let rejected: RefCell<Option<String>> = RefCell::new(None);
    let mut cbs = callbacks(repo, &attempts);
    cbs.push_update_reference(|refname, status| {
        if let Some(status) = status {
            *rejected.borrow_mut() = Some(format!("{refname}: {status}"));
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(cbs);
    let spec = format!("+refs/heads/{name}:refs/heads/{name}");
    remote
        .push(&[spec.as_str()], Some(&mut options))
        .map_err(|e| GitError::Push { remote: remote_name.to_string(), message: e.message().to_string() })?;
    drop(options);
    if let Some(message) = rejected.into_inner() {
        return Err(GitError::Push { remote: remote_name.to_string(), message });
    }
    Ok(())
}
