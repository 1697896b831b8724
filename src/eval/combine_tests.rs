use std::path::Path;

use git2::{Repository, Signature};

use super::*;
use crate::eval::hunks::parse_patch;

fn lines(edit: &[(usize, &str)]) -> String {
    (1..=30)
        .map(|i| match edit.iter().find(|(n, _)| *n == i) {
            Some((_, text)) => format!("{text}\n"),
            None => format!("line {i}\n"),
        })
        .collect()
}

/// A repository whose single commit holds `src/lib.rs` (30 lines) and `notes.txt`; returns the
/// commit id.
fn repo(dir: &Path) -> String {
    let repo = Repository::init(dir).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), lines(&[])).unwrap();
    std::fs::write(dir.join("notes.txt"), "a\nb\n").unwrap();
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = Signature::now("T", "t@example.com").unwrap();
    repo.commit(Some("HEAD"), &me, &me, "base", &tree, &[]).unwrap().to_string()
}

/// The diff of `files` written over the base, then the base restored.
fn candidate_patch(dir: &Path, base: &str, files: &[(&str, &str)]) -> String {
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
    let patch = crate::workspace::diff_against(dir, base).unwrap().patch;
    let repo = Repository::open(dir).unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force().remove_untracked(true))).unwrap();
    patch
}

fn pick(candidate: &str, file: &str, hunk: &str) -> HunkSource {
    HunkSource { candidate: candidate.into(), file: file.into(), hunk: hunk.into() }
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    sources: Vec<(String, String)>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let base = repo(&path);
    let a = candidate_patch(
        &path,
        &base,
        &[("src/lib.rs", &lines(&[(2, "A two"), (25, "A twenty-five")])), ("added_by_a.txt", "new\n")],
    );
    let b = candidate_patch(
        &path,
        &base,
        &[("src/lib.rs", &lines(&[(12, "B twelve"), (27, "B twenty-seven")])), ("notes.txt", "a\nB\n")],
    );
    Fixture { _dir: dir, path, sources: vec![("a".into(), a), ("b".into(), b)] }
}

fn header_of(sources: &[(String, String)], candidate: &str, file: &str, index: usize) -> String {
    let patch = &sources.iter().find(|(c, _)| c == candidate).unwrap().1;
    parse_patch(patch).into_iter().find(|f| f.path() == file).unwrap().hunks[index].header()
}

#[test]
fn hunks_of_two_candidates_combine_with_provenance_and_apply() {
    let fx = fixture();
    let a_first = header_of(&fx.sources, "a", "src/lib.rs", 0);
    let b_first = header_of(&fx.sources, "b", "src/lib.rs", 0);
    assert_eq!(a_first, "@@ -1,5 +1,5 @@");
    let picks = [
        pick("b", "src/lib.rs", &b_first),
        pick("a", "src/lib.rs", &a_first),
        pick("a", "added_by_a.txt", "*"),
        pick("b", "notes.txt", "*"),
    ];
    let combined = combine(&fx.sources, &picks).unwrap();
    let origins: Vec<(&str, &str, &str)> =
        combined.hunks.iter().map(|h| (h.candidate.as_str(), h.file.as_str(), h.hunk.as_str())).collect();
    assert_eq!(
        origins,
        [
            ("a", "added_by_a.txt", "@@ -0,0 +1,1 @@"),
            ("b", "notes.txt", "@@ -1,2 +1,2 @@"),
            ("a", "src/lib.rs", a_first.as_str()),
            ("b", "src/lib.rs", b_first.as_str()),
        ]
    );
    let lib_part = combined.patch.split("diff --git a/src/lib.rs").nth(1).unwrap();
    assert!(!lib_part.contains("\nindex "), "a mixed file drops blob ids:\n{lib_part}");
    assert!(combined.patch.contains("\nindex "), "a file taken whole keeps them");

    apply(&fx.path, &combined.patch).unwrap();
    let lib = std::fs::read_to_string(fx.path.join("src/lib.rs")).unwrap();
    assert_eq!(lib, lines(&[(2, "A two"), (12, "B twelve")]));
    assert_eq!(std::fs::read_to_string(fx.path.join("added_by_a.txt")).unwrap(), "new\n");
    assert_eq!(std::fs::read_to_string(fx.path.join("notes.txt")).unwrap(), "a\nB\n");
}

#[test]
fn every_hunk_of_one_candidate_reproduces_its_change() {
    let fx = fixture();
    let combined = combine(&fx.sources, &[pick("a", "src/lib.rs", "*")]).unwrap();
    assert_eq!(combined.hunks.len(), 2);
    apply(&fx.path, &combined.patch).unwrap();
    let lib = std::fs::read_to_string(fx.path.join("src/lib.rs")).unwrap();
    assert_eq!(lib, lines(&[(2, "A two"), (25, "A twenty-five")]));
}

#[test]
fn a_later_hunk_alone_is_renumbered_and_applies() {
    let fx = fixture();
    let second = header_of(&fx.sources, "a", "src/lib.rs", 1);
    let combined = combine(&fx.sources, &[pick("a", "src/lib.rs", &second)]).unwrap();
    apply(&fx.path, &combined.patch).unwrap();
    let lib = std::fs::read_to_string(fx.path.join("src/lib.rs")).unwrap();
    assert_eq!(lib, lines(&[(25, "A twenty-five")]));
}

#[test]
fn overlapping_hunks_of_different_candidates_are_refused() {
    let fx = fixture();
    let a_late = header_of(&fx.sources, "a", "src/lib.rs", 1);
    let b_late = header_of(&fx.sources, "b", "src/lib.rs", 1);
    let err = combine(&fx.sources, &[pick("a", "src/lib.rs", &a_late), pick("b", "src/lib.rs", &b_late)]).unwrap_err();
    assert_eq!(
        err,
        CombineError::Overlap {
            file: "src/lib.rs".into(),
            first_candidate: "a".into(),
            first_hunk: a_late.clone(),
            second_candidate: "b".into(),
            second_hunk: b_late.clone(),
        }
    );
    let message = err.to_string();
    assert!(message.contains("overlap") && message.contains(&a_late) && message.contains(&b_late), "{message}");
    // `*` of both candidates overlaps too.
    assert!(matches!(
        combine(&fx.sources, &[pick("a", "src/lib.rs", "*"), pick("b", "src/lib.rs", "*")]),
        Err(CombineError::Overlap { .. })
    ));
}

#[test]
fn unknown_picks_are_named() {
    let fx = fixture();
    assert_eq!(
        combine(&fx.sources, &[pick("zz", "src/lib.rs", "*")]),
        Err(CombineError::UnknownCandidate("zz".into()))
    );
    assert!(matches!(combine(&fx.sources, &[pick("a", "nope.rs", "*")]), Err(CombineError::UnknownFile { .. })));
    assert!(matches!(
        combine(&fx.sources, &[pick("a", "src/lib.rs", "@@ -99,1 +99,1 @@")]),
        Err(CombineError::UnknownHunk { .. })
    ));
    assert_eq!(combine(&fx.sources, &[]), Err(CombineError::Empty));
}

#[test]
fn a_created_file_cannot_mix_with_another_candidates_hunks() {
    let sources = vec![
        (
            "a".to_owned(),
            "diff --git a/x b/x\nnew file mode 100644\n--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+a\n".to_owned(),
        ),
        (
            "b".to_owned(),
            "diff --git a/x b/x\nnew file mode 100644\n--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+b\n".to_owned(),
        ),
    ];
    let err = combine(&sources, &[pick("a", "x", "*"), pick("b", "x", "*")]).unwrap_err();
    assert!(matches!(err, CombineError::Structural { .. }), "{err}");
}

#[test]
fn a_patch_that_does_not_apply_changes_nothing() {
    let fx = fixture();
    let b_patch = fx.sources[1].1.clone();
    std::fs::write(fx.path.join("notes.txt"), "completely\ndifferent\n").unwrap();
    let err = apply(&fx.path, &b_patch).unwrap_err();
    assert!(err.to_string().contains("apply the patch"), "{err}");
    assert_eq!(std::fs::read_to_string(fx.path.join("src/lib.rs")).unwrap(), lines(&[]), "all or nothing");
    apply(&fx.path, "").unwrap();
}
