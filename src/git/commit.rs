//! Commits made in the object database only: the base tree with a draft's files
//! replaced, committed without touching any checkout, index or HEAD.

use git2::{FileMode, Oid, Repository};

use super::{Context as _, GitError};
use crate::draft::diff::FileChange;

/// The tree of `base` with `changes` applied (files added, replaced or removed).
pub fn tree_with(repo: &Repository, base: Oid, changes: &[FileChange]) -> Result<Oid, GitError> {
    let commit = repo.find_commit(base).context(|| format!("reading commit {base}"))?;
    let tree = commit.tree().context(|| format!("reading the tree of {base}"))?;
    let mut update = git2::build::TreeUpdateBuilder::new();
    for change in changes {
        match &change.new {
            Some(text) => {
                let blob = repo.blob(text.as_bytes()).context(|| format!("writing {}", change.path))?;
                // An executable script stays executable.
                let mode = match tree.get_path(std::path::Path::new(&change.path)) {
                    Ok(entry) if entry.filemode() == i32::from(FileMode::BlobExecutable) => FileMode::BlobExecutable,
                    _ => FileMode::Blob,
                };
                update.upsert(change.path.as_str(), blob, mode);
            }
            None => {
                update.remove(change.path.as_str());
            }
        }
    }
    update.create_updated(repo, &tree).context(|| format!("building the tree on {base}"))
}

/// Commit `tree` on top of `parent` without moving any reference.
pub fn commit(
    repo: &Repository,
    parent: Oid,
    tree: Oid,
    message: &str,
    signature: &git2::Signature<'_>,
) -> Result<Oid, GitError> {
    let parent = repo.find_commit(parent).context(|| format!("reading commit {parent}"))?;
    let tree = repo.find_tree(tree).context(|| format!("reading tree {tree}"))?;
    repo.commit(None, signature, signature, message, &tree, &[&parent]).context(|| "writing the commit".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_with_replaces_adds_and_keeps_modes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let mut builder = repo.treebuilder(None).unwrap();
        let script = repo.blob(b"#!/bin/sh\n").unwrap();
        let module = repo.blob(b"x = 1\n").unwrap();
        builder.insert("run.sh", script, i32::from(FileMode::BlobExecutable)).unwrap();
        builder.insert("mod.py", module, i32::from(FileMode::Blob)).unwrap();
        let tree = repo.find_tree(builder.write().unwrap()).unwrap();
        let base = repo.commit(None, &sig, &sig, "base", &tree, &[]).unwrap();
        let changes = vec![
            FileChange { path: "run.sh".into(), old: None, new: Some("#!/bin/sh\necho\n".into()) },
            FileChange { path: "pkg/_async_bridge.py".into(), old: None, new: Some("y = 2\n".into()) },
        ];
        let new = repo.find_tree(tree_with(&repo, base, &changes).unwrap()).unwrap();
        let run = new.get_path(std::path::Path::new("run.sh")).unwrap();
        assert_eq!(run.filemode(), i32::from(FileMode::BlobExecutable));
        assert!(new.get_path(std::path::Path::new("pkg/_async_bridge.py")).is_ok());
        assert!(new.get_path(std::path::Path::new("mod.py")).is_ok());
        let c = commit(&repo, base, new.id(), "msg", &sig).unwrap();
        assert_eq!(repo.find_commit(c).unwrap().parent_id(0).unwrap(), base);
        assert!(repo.references().unwrap().count() == 0, "no reference moved");
    }
}
