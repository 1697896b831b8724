//! What an adoption does with the production change it replaces: production's own tests stay
//! unless the adopted change has its own version of them (adopting a challenger must not silently
//! drop production's regression test), and every other file production had changed is listed as
//! replaced or dropped, with why, for the PR to say.

use std::path::Path;

use crate::orchestrator::breakers::is_test_path;
use crate::protocol::{FileFate, HunkSource, ProductionFile};
use crate::workspace::FileStat;

/// Production's change as it was before the adoption reset its worktree: the files it touched,
/// and the contents of the test files among them.
pub(super) struct ProductionChange {
    files: Vec<FileStat>,
    tests: Vec<(String, Vec<u8>)>,
}

impl ProductionChange {
    /// Reads production's changed `files` from its worktree at `path`.
    pub(super) fn read(path: &Path, files: Vec<FileStat>) -> std::io::Result<ProductionChange> {
        let mut tests = Vec::new();
        for file in files.iter().filter(|f| f.status != "deleted" && is_test_path(&f.path)) {
            match std::fs::read(path.join(&file.path)) {
                Ok(text) => tests.push((file.path.clone(), text)),
                // Listed by the diff but gone since: nothing to keep.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        Ok(ProductionChange { files, tests })
    }

    /// After the change of `adopted` (touching `adopted_files`) is in place at `to`: writes back
    /// production's tests it does not touch, and says what became of each production file.
    /// `shared` are the acceptance-test files, which every candidate has.
    pub(super) fn settle(
        &self,
        to: &Path,
        adopted: &str,
        adopted_files: &[String],
        shared: &[String],
    ) -> std::io::Result<(Vec<ProductionFile>, Vec<HunkSource>)> {
        let mut fates = Vec::new();
        let mut hunks = Vec::new();
        for file in self.files.iter().filter(|f| !shared.contains(&f.path)) {
            let touched = adopted_files.contains(&file.path);
            let kept = self.tests.iter().find(|(path, _)| *path == file.path).filter(|_| !touched);
            let (fate, why) = match kept {
                Some((path, text)) => {
                    let target = to.join(path);
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::write(target, text)?;
                    hunks.push(HunkSource { candidate: "production".into(), file: path.clone(), hunk: "*".into() });
                    (FileFate::Kept, format!("production's test; {adopted} does not change it"))
                }
                None if touched => (FileFate::Replaced, format!("{adopted} has its own version")),
                None => (FileFate::Dropped, format!("{adopted} leaves it as on the base commit")),
            };
            fates.push(ProductionFile { path: file.path.clone(), fate, why });
        }
        Ok((fates, hunks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(path: &str, status: &str) -> FileStat {
        FileStat { path: path.into(), status: status.into(), added: 1, removed: 0, binary: false }
    }

    #[test]
    fn production_tests_the_adoption_does_not_touch_stay_and_every_other_file_is_accounted_for() {
        let production = tempfile::tempdir().unwrap();
        let adopted = tempfile::tempdir().unwrap();
        for (path, text) in [("tests/regression.rs", "prod regression"), ("tests/shared.rs", "prod version")] {
            std::fs::create_dir_all(production.path().join("tests")).unwrap();
            std::fs::write(production.path().join(path), text).unwrap();
        }
        let files = vec![
            stat("src/lib.rs", "modified"),
            stat("src/old.rs", "modified"),
            stat("tests/regression.rs", "added"),
            stat("tests/shared.rs", "added"),
            stat("tests/acceptance.rs", "added"),
        ];
        let change = ProductionChange::read(production.path(), files).unwrap();
        let touched = ["src/lib.rs".to_owned(), "tests/shared.rs".to_owned()];
        let (fates, hunks) =
            change.settle(adopted.path(), "c1", &touched, &["tests/acceptance.rs".to_owned()]).unwrap();
        let fate = |path: &str| fates.iter().find(|f| f.path == path).map(|f| f.fate);
        assert_eq!(fate("tests/regression.rs"), Some(FileFate::Kept));
        assert_eq!(fate("tests/shared.rs"), Some(FileFate::Replaced));
        assert_eq!(fate("src/lib.rs"), Some(FileFate::Replaced));
        assert_eq!(fate("src/old.rs"), Some(FileFate::Dropped));
        assert_eq!(fate("tests/acceptance.rs"), None, "the shared acceptance tests are every candidate's");
        let kept = std::fs::read_to_string(adopted.path().join("tests/regression.rs")).unwrap();
        assert_eq!(kept, "prod regression");
        assert!(!adopted.path().join("tests/shared.rs").exists(), "the adopted version is not overwritten");
        assert_eq!(hunks.len(), 1);
        assert_eq!(hunks[0].candidate, "production");
    }
}
