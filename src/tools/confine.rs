//! Path confinement: every path an agent names must stay inside its worktree.
//!
//! Refused: absolute paths, `..` that climbs out, symlinks (anywhere on the way) that resolve
//! outside, and writes into `.git`. The check resolves the longest existing prefix of the path
//! through the filesystem, so a symlink planted inside the worktree cannot smuggle a write out.

use std::path::{Component, Path, PathBuf};

/// Why a path was refused; the text is returned to the agent as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfineError {
    /// An absolute path.
    #[error("`{0}` is absolute; use a path relative to the workspace root")]
    Absolute(String),
    /// `..` climbs above the workspace.
    #[error("`{0}` leads outside the workspace")]
    Escapes(String),
    /// A symlink on the way points outside.
    #[error("`{path}` resolves to {target}, outside the workspace (through a symlink)")]
    SymlinkOut {
        /// The path given.
        path: String,
        /// Where it resolves.
        target: String,
    },
    /// A write into git's own data.
    #[error("`{0}` is inside `.git`; git data is read-only for agents")]
    GitDir(String),
    /// An empty path.
    #[error("the path is empty")]
    Empty,
}

/// A workspace root that paths are confined to.
#[derive(Debug, Clone)]
pub struct Confined {
    root: PathBuf,
}

impl Confined {
    /// Confines to `root`, which must exist (it is canonicalized once here).
    pub fn new(root: &Path) -> std::io::Result<Confined> {
        Ok(Confined { root: root.canonicalize()? })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves `relative` for reading.
    pub fn read_path(&self, relative: &str) -> Result<PathBuf, ConfineError> {
        self.resolve(relative, false)
    }

    /// Resolves `relative` for writing (also refusing `.git`).
    pub fn write_path(&self, relative: &str) -> Result<PathBuf, ConfineError> {
        self.resolve(relative, true)
    }

    /// The path relative to the root, for messages.
    pub fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }

    fn resolve(&self, relative: &str, write: bool) -> Result<PathBuf, ConfineError> {
        let given = relative.trim();
        if given.is_empty() {
            return Err(ConfineError::Empty);
        }
        let path = Path::new(given);
        if path.is_absolute() {
            return Err(ConfineError::Absolute(given.to_owned()));
        }
        let mut lexical = PathBuf::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => lexical.push(part),
                Component::CurDir => {}
                Component::ParentDir => {
                    if !lexical.pop() {
                        return Err(ConfineError::Escapes(given.to_owned()));
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(ConfineError::Absolute(given.to_owned()));
                }
            }
        }
        if write && lexical.components().any(|c| c.as_os_str() == ".git") {
            return Err(ConfineError::GitDir(given.to_owned()));
        }
        let full = self.root.join(&lexical);
        // Resolve the longest prefix that exists; what does not exist yet cannot be a symlink.
        let mut existing = full.as_path();
        let mut rest = Vec::new();
        let resolved = loop {
            match existing.canonicalize() {
                Ok(real) => break real,
                Err(_) => match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        rest.push(name.to_owned());
                        existing = parent;
                    }
                    _ => return Err(ConfineError::Escapes(given.to_owned())),
                },
            }
        };
        if !resolved.starts_with(&self.root) {
            return Err(ConfineError::SymlinkOut { path: given.to_owned(), target: resolved.display().to_string() });
        }
        let mut target = resolved;
        for name in rest.into_iter().rev() {
            target.push(name);
        }
        if write && target.strip_prefix(&self.root).is_ok_and(|r| r.components().any(|c| c.as_os_str() == ".git")) {
            return Err(ConfineError::GitDir(given.to_owned()));
        }
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> (tempfile::TempDir, Confined) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("wt");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/lib.rs"), "").unwrap();
        std::fs::write(root.join(".git"), "gitdir: elsewhere\n").unwrap();
        let confined = Confined::new(&root).unwrap();
        (dir, confined)
    }

    #[test]
    fn ordinary_paths_resolve_inside() {
        let (_dir, c) = workspace();
        assert_eq!(c.read_path("src/lib.rs").unwrap(), c.root().join("src/lib.rs"));
        assert_eq!(c.read_path("./src/../src/lib.rs").unwrap(), c.root().join("src/lib.rs"));
        assert_eq!(c.write_path("src/new/deep.rs").unwrap(), c.root().join("src/new/deep.rs"));
    }

    #[test]
    fn escapes_and_absolute_paths_are_refused() {
        let (_dir, c) = workspace();
        assert!(matches!(c.read_path("../outside"), Err(ConfineError::Escapes(_))));
        assert!(matches!(c.read_path("src/../../x"), Err(ConfineError::Escapes(_))));
        assert!(matches!(c.read_path("/etc/passwd"), Err(ConfineError::Absolute(_))));
        assert!(matches!(c.read_path("  "), Err(ConfineError::Empty)));
    }

    #[test]
    fn symlinks_pointing_out_are_refused_for_read_and_write() {
        let (dir, c) = workspace();
        std::os::unix::fs::symlink("/etc/passwd", c.root().join("passwd")).unwrap();
        std::os::unix::fs::symlink(dir.path(), c.root().join("up")).unwrap();
        assert!(matches!(c.read_path("passwd"), Err(ConfineError::SymlinkOut { .. })));
        assert!(matches!(c.write_path("passwd"), Err(ConfineError::SymlinkOut { .. })));
        assert!(matches!(c.write_path("up/planted.txt"), Err(ConfineError::SymlinkOut { .. })));
        std::os::unix::fs::symlink(c.root().join("src"), c.root().join("inner")).unwrap();
        assert_eq!(c.read_path("inner/lib.rs").unwrap(), c.root().join("src/lib.rs"));
    }

    #[test]
    fn writes_into_git_are_refused_but_reads_are_not() {
        let (_dir, c) = workspace();
        assert!(matches!(c.write_path(".git"), Err(ConfineError::GitDir(_))));
        assert!(matches!(c.write_path("sub/.git/config"), Err(ConfineError::GitDir(_))));
        assert!(c.read_path(".git").is_ok());
    }
}
