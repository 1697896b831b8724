//! Building one patch from hunks of several candidates, recording where each came from, and
//! applying a patch to a worktree.
//!
//! Rules of [`combine`]:
//! - A pick names a candidate, a file and a hunk header (`@@ -12,4 +12,6 @@`; counts optional,
//!   git's function context ignored), or `*` for every hunk of that file from that candidate.
//! - Hunks of one file from different candidates must not overlap on the old side (context lines
//!   included, since `git apply` needs them intact): overlapping picks are refused, naming both.
//! - A file one candidate creates, deletes or renames cannot be mixed with another candidate's
//!   hunks of the same file.
//! - In a file mixing candidates, the new-side line numbers are recomputed and git's `index`
//!   line (blob ids that no longer hold) is dropped. The old side of each hunk is unchanged, so a
//!   hunk of the combined patch can be matched to its [`HunkSource`] by its `-a,b` range.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::hunks::{FilePatch, Hunk, parse_patch};
use crate::protocol::HunkSource;
use crate::workspace::{self, WorkspaceError};

/// One patch made of picked hunks, with each hunk's origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combined {
    /// The combined unified diff.
    pub patch: String,
    /// Every hunk in it, in patch order, with the candidate and the header it had there (`*` for
    /// a file change without hunks, such as a rename).
    pub hunks: Vec<HunkSource>,
}

/// Why hunks could not be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CombineError {
    /// No patch was given for the candidate.
    #[error("no patch of candidate `{0}` was given")]
    UnknownCandidate(String),
    /// The candidate's patch does not change the file.
    #[error("candidate `{candidate}` does not change `{file}`")]
    UnknownFile {
        /// The candidate.
        candidate: String,
        /// The file.
        file: String,
    },
    /// The candidate's change of the file has no such hunk.
    #[error("candidate `{candidate}` has no hunk `{hunk}` in `{file}`")]
    UnknownHunk {
        /// The candidate.
        candidate: String,
        /// The file.
        file: String,
        /// The header asked for.
        hunk: String,
    },
    /// A binary file's change has no hunks to pick.
    #[error("`{file}` of candidate `{candidate}` is binary: its change cannot be picked")]
    Binary {
        /// The candidate.
        candidate: String,
        /// The file.
        file: String,
    },
    /// Two candidates' hunks overlap.
    #[error(
        "hunks of `{file}` overlap: {first_candidate} `{first_hunk}` and {second_candidate} `{second_hunk}`; pick one of them"
    )]
    Overlap {
        /// The file.
        file: String,
        /// The candidate of the earlier hunk.
        first_candidate: String,
        /// Its header.
        first_hunk: String,
        /// The candidate of the later hunk.
        second_candidate: String,
        /// Its header.
        second_hunk: String,
    },
    /// A file created, deleted or renamed by one candidate and changed by another.
    #[error("`{file}` is created, deleted or renamed by {structural} and cannot be mixed with {other}'s hunks")]
    Structural {
        /// The file.
        file: String,
        /// The candidate whose change is structural.
        structural: String,
        /// The other candidate.
        other: String,
    },
    /// Nothing was picked.
    #[error("no hunks were picked")]
    Empty,
}

/// One file's picked hunks from one candidate.
struct Pick<'a> {
    candidate: &'a str,
    file: &'a FilePatch,
    hunks: Vec<&'a Hunk>,
}

/// Builds one patch from `picks` over the candidates' patches `sources` (`(candidate, patch)`).
pub fn combine(sources: &[(String, String)], picks: &[HunkSource]) -> Result<Combined, CombineError> {
    let parsed: HashMap<&str, Vec<FilePatch>> = sources.iter().map(|(c, p)| (c.as_str(), parse_patch(p))).collect();
    // File → its picks, one per candidate, in the order first picked.
    let mut by_file: BTreeMap<String, Vec<Pick<'_>>> = BTreeMap::new();
    for pick in picks {
        let files = parsed
            .get(pick.candidate.as_str())
            .ok_or_else(|| CombineError::UnknownCandidate(pick.candidate.clone()))?;
        let file = files
            .iter()
            .find(|f| f.path() == pick.file || f.old_path.as_deref() == Some(pick.file.as_str()))
            .ok_or_else(|| CombineError::UnknownFile { candidate: pick.candidate.clone(), file: pick.file.clone() })?;
        if file.binary {
            return Err(CombineError::Binary { candidate: pick.candidate.clone(), file: pick.file.clone() });
        }
        let chosen: Vec<&Hunk> = if pick.hunk.trim() == "*" {
            file.hunks.iter().collect()
        } else {
            let hunk = file.hunks.iter().find(|h| h.matches(&pick.hunk)).ok_or_else(|| CombineError::UnknownHunk {
                candidate: pick.candidate.clone(),
                file: pick.file.clone(),
                hunk: pick.hunk.clone(),
            })?;
            vec![hunk]
        };
        let entries = by_file.entry(file.path().to_owned()).or_default();
        match entries.iter_mut().find(|p| p.candidate == pick.candidate) {
            Some(existing) => {
                for hunk in chosen {
                    if !existing.hunks.iter().any(|h| std::ptr::eq(*h, hunk)) {
                        existing.hunks.push(hunk);
                    }
                }
            }
            None => entries.push(Pick { candidate: &pick.candidate, file, hunks: chosen }),
        }
    }
    if by_file.is_empty() {
        return Err(CombineError::Empty);
    }
    let mut patch = String::new();
    let mut provenance = Vec::new();
    for (path, entries) in &by_file {
        combine_file(path, entries, &mut patch, &mut provenance)?;
    }
    Ok(Combined { patch, hunks: provenance })
}

fn combine_file(
    path: &str,
    entries: &[Pick<'_>],
    patch: &mut String,
    provenance: &mut Vec<HunkSource>,
) -> Result<(), CombineError> {
    let source =
        |candidate: &str, hunk: String| HunkSource { candidate: candidate.to_owned(), file: path.to_owned(), hunk };
    let [first, rest @ ..] = entries else {
        return Ok(());
    };
    if rest.is_empty() {
        // One candidate: its own text, only the picked hunks.
        let mut hunks = first.hunks.clone();
        hunks.sort_by_key(|h| h.old_start);
        // Blob ids of a partial change no longer hold.
        let partial = hunks.len() != first.file.hunks.len();
        for line in first.file.header.iter().filter(|l| !(partial && l.starts_with("index "))) {
            patch.push_str(line);
            patch.push('\n');
        }
        if hunks.is_empty() {
            provenance.push(source(first.candidate, "*".into()));
        }
        let mut offset: i64 = 0;
        for hunk in hunks {
            let mut renumbered = hunk.clone();
            renumbered.new_start = new_start(hunk, offset);
            offset += i64::from(hunk.new_lines) - i64::from(hunk.old_lines);
            patch.push_str(&renumbered.to_text());
            provenance.push(source(first.candidate, hunk.header()));
        }
        return Ok(());
    }
    for pick in entries {
        if pick.file.is_structural()
            && let Some(other) = entries.iter().find(|p| p.candidate != pick.candidate)
        {
            return Err(CombineError::Structural {
                file: path.to_owned(),
                structural: pick.candidate.to_owned(),
                other: other.candidate.to_owned(),
            });
        }
    }
    let mut hunks: Vec<(&str, &Hunk)> =
        entries.iter().flat_map(|p| p.hunks.iter().map(move |h| (p.candidate, *h))).collect();
    hunks.sort_by_key(|(_, h)| (h.old_start, h.old_lines));
    for pair in hunks.windows(2) {
        let ((a_candidate, a), (b_candidate, b)) = (pair[0], pair[1]);
        let a_end = a.old_start + a.old_lines.max(1);
        if a_candidate != b_candidate && b.old_start < a_end {
            return Err(CombineError::Overlap {
                file: path.to_owned(),
                first_candidate: a_candidate.to_owned(),
                first_hunk: a.header(),
                second_candidate: b_candidate.to_owned(),
                second_hunk: b.header(),
            });
        }
    }
    for line in first.file.header.iter().filter(|l| !l.starts_with("index ")) {
        patch.push_str(line);
        patch.push('\n');
    }
    let mut offset: i64 = 0;
    for (candidate, hunk) in hunks {
        let mut renumbered = hunk.clone();
        renumbered.new_start = new_start(hunk, offset);
        offset += i64::from(hunk.new_lines) - i64::from(hunk.old_lines);
        patch.push_str(&renumbered.to_text());
        provenance.push(source(candidate, hunk.header()));
    }
    Ok(())
}

/// Where a hunk starts on the new side when the hunks before it in the file shift lines by
/// `offset` (git's convention: an insertion-only hunk names the line after, a deletion-only hunk
/// the line before).
fn new_start(hunk: &Hunk, offset: i64) -> u32 {
    let base = i64::from(hunk.old_start) + offset;
    let start = if hunk.old_lines == 0 {
        base + 1
    } else if hunk.new_lines == 0 {
        base - 1
    } else {
        base
    };
    u32::try_from(start.max(0)).unwrap_or(0)
}

/// Applies `patch` to the working files of the git worktree at `worktree` (all of it or nothing).
pub fn apply(worktree: &Path, patch: &str) -> Result<(), WorkspaceError> {
    workspace::apply_patch(worktree, patch)
}

#[cfg(test)]
#[path = "combine_tests.rs"]
mod tests;
