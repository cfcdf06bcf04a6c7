//! The git side of `propose`: the repository, its base commit, temporary
//! worktrees, commits on proposal branches and pushes.
//!
//! Everything here works beside the user's checkout, never in it: the working
//! tree, the index, HEAD and existing branches are only read.

pub mod branch;
pub mod commit;
pub mod push;
pub mod worktree;

use std::path::{Path, PathBuf};

use git2::{Oid, Repository, StatusOptions};

/// What can go wrong on the git side.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{0} does not exist")]
    NotFound(PathBuf),
    #[error("{0} is not inside a git repository (propose, daemon and status work on git repositories)")]
    NotGit(PathBuf),
    #[error("{0} is a bare repository; propose needs one with a working tree")]
    Bare(PathBuf),
    #[error("the repository at {0} has no commits yet; commit something first, proposals start from a commit")]
    NoCommits(PathBuf),
    #[error("unknown base `{rev}`: {message}")]
    UnknownBase { rev: String, message: String },
    #[error("{what}: {source}")]
    Git { what: String, source: git2::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("push to `{remote}` failed: {message}")]
    Push { remote: String, message: String },
}

/// Attach what was being done to a git2 error.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, GitError>;
}

impl<T> Context<T> for Result<T, git2::Error> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, GitError> {
        self.map_err(|source| GitError::Git { what: what(), source })
    }
}

/// The user's repository, opened for reading.
pub struct Repo {
    pub git: Repository,
    /// The top of the user's working tree.
    pub workdir: PathBuf,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo").field("workdir", &self.workdir).finish_non_exhaustive()
    }
}

/// The commit proposals start from.
#[derive(Debug, Clone)]
pub struct Base {
    pub oid: Oid,
    /// What the user named (`HEAD`, `main`, `v1.2`).
    pub rev: String,
    /// The commit's first line, for messages.
    pub summary: String,
}

impl Base {
    /// The commit's id abbreviated to 10 characters, for messages.
    pub fn short(&self) -> String {
        self.oid.to_string()[..10].to_string()
    }
}

impl Repo {
    /// The repository that contains `path`.
    pub fn open(path: &Path) -> Result<Repo, GitError> {
        if !path.exists() {
            return Err(GitError::NotFound(path.to_path_buf()));
        }
        let git = Repository::discover(path).map_err(|_| GitError::NotGit(path.to_path_buf()))?;
        let Some(workdir) = git.workdir().map(Path::to_path_buf) else {
            return Err(GitError::Bare(git.path().to_path_buf()));
        };
        Ok(Repo { git, workdir })
    }

    /// `.git/refactor-async/` of the main repository (shared by its worktrees).
    pub fn state_dir(&self) -> PathBuf {
        self.git.commondir().join("refactor-async")
    }

    /// Resolve `rev` (default HEAD) to a commit.
    pub fn base(&self, rev: Option<&str>) -> Result<Base, GitError> {
        if self.git.head().is_err() && self.git.is_empty().unwrap_or(false) {
            return Err(GitError::NoCommits(self.workdir.clone()));
        }
        let rev = rev.unwrap_or("HEAD");
        let object = self
            .git
            .revparse_single(rev)
            .map_err(|e| GitError::UnknownBase { rev: rev.to_string(), message: e.message().to_string() })?;
        let commit = object.peel_to_commit().map_err(|e| GitError::UnknownBase {
            rev: rev.to_string(),
            message: format!("it does not name a commit ({})", e.message()),
        })?;
        Ok(Base { oid: commit.id(), rev: rev.to_string(), summary: commit.summary().unwrap_or("").to_string() })
    }

    /// What the user should know about their checkout: uncommitted changes and a
    /// detached HEAD are fine, since proposals start from a commit, but say so.
    pub fn situation(&self, base: &Base) -> Vec<String> {
        let mut notes = Vec::new();
        if self.git.head_detached().unwrap_or(false) {
            notes.push(format!("HEAD is detached; proposing from commit {}", base.short()));
        }
        let mut options = StatusOptions::new();
        options.include_untracked(true).include_ignored(false).exclude_submodules(true);
        if let Ok(statuses) = self.git.statuses(Some(&mut options))
            && !statuses.is_empty()
        {
            notes.push(format!(
                "the working tree has {} uncommitted change{}; they are left alone and not part of the proposal, which starts from the committed base {}",
                statuses.len(),
                if statuses.len() == 1 { "" } else { "s" },
                base.short()
            ));
        }
        notes
    }
}

/// The signature commits are made with: `[git] author_name`/`author_email` from
/// the configuration, else the repository's `user.name`/`user.email`, else the tool's own.
pub fn signature(repo: &Repository, name: Option<&str>, email: Option<&str>) -> git2::Signature<'static> {
    let configured = repo.signature().ok();
    let name = name
        .map(str::to_string)
        .or_else(|| configured.as_ref().and_then(|s| s.name().map(str::to_string)))
        .unwrap_or_else(|| "refactor-async".to_string());
    let email = email
        .map(str::to_string)
        .or_else(|| configured.as_ref().and_then(|s| s.email().map(str::to_string)))
        .unwrap_or_else(|| "refactor-async@localhost".to_string());
    git2::Signature::now(&name, &email).unwrap_or_else(|_| {
        git2::Signature::now("refactor-async", "refactor-async@localhost").expect("valid signature")
    })
}
