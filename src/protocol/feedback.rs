//! What people and CI say about a delivered PR on the forge: reviews with their line comments,
//! and failing checks. The watcher turns new feedback into a `pr_feedback` event that sends the
//! task back to its implementation, with the feedback as the note the agents work from.

use serde::{Deserialize, Serialize};

use super::work::{CiCheck, CiState};

/// What Ambidex writes into its own comments on a PR, so it never takes them for a review.
pub const ANSWER_MARKER: &str = "<!-- ambidex:answer -->";

/// A comment on one line of the PR's diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineComment {
    /// The file, relative to the repository.
    pub path: String,
    /// The line of the new version it is on, when the forge says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// What it says.
    pub body: String,
}

/// A review of a PR by someone allowed to push to the project (a GitHub review with its line
/// comments, or a GitLab merge request note).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgeReview {
    /// The forge's id, unique within the PR (`review-123`, `note-456`): a review is acted on once.
    pub id: String,
    /// The reviewer's user name.
    pub author: String,
    /// Whether the reviewer asked for changes (GitHub's "Request changes"), not only commented.
    #[serde(default)]
    pub requests_changes: bool,
    /// The review's text (may be empty when it is all line comments).
    #[serde(default)]
    pub body: String,
    /// Its comments on lines of the diff.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<LineComment>,
    /// Its page on the forge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The note the agents get for a round of feedback: each review with its line comments, then
/// each failed check with its link.
pub fn feedback_note(reviews: &[ForgeReview], failed_checks: &[CiCheck]) -> String {
    let mut out = String::new();
    for review in reviews {
        let asks = if review.requests_changes { "requested changes" } else { "commented" };
        out.push_str(&format!("@{} {asks} on the PR", review.author));
        let body = review.body.trim();
        if body.is_empty() {
            out.push_str(".\n");
        } else {
            out.push_str(&format!(":\n{body}\n"));
        }
        for comment in &review.comments {
            let at = comment.line.map(|line| format!(":{line}")).unwrap_or_default();
            out.push_str(&format!("- on {}{at}: {}\n", comment.path, comment.body.trim()));
        }
    }
    let failed: Vec<&CiCheck> = failed_checks.iter().filter(|check| check.state == CiState::Failed).collect();
    if !failed.is_empty() {
        out.push_str("CI failed on the PR's head commit:\n");
        for check in failed {
            let link = check.url.as_deref().map(|url| format!(" ({url})")).unwrap_or_default();
            out.push_str(&format!("- {}{link}\n", check.name));
        }
    }
    out.trim_end().to_owned()
}

/// The reviewers of a round of feedback, `@`-prefixed and comma-separated (`CI` when only
/// checks failed).
pub fn feedback_from(reviews: &[ForgeReview]) -> String {
    let mut names: Vec<String> = Vec::new();
    for review in reviews {
        let name = format!("@{}", review.author);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() { "CI".to_owned() } else { names.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(author: &str, requests_changes: bool, body: &str) -> ForgeReview {
        ForgeReview {
            id: format!("review-{author}"),
            author: author.into(),
            requests_changes,
            body: body.into(),
            comments: Vec::new(),
            url: None,
        }
    }

    #[test]
    fn the_note_lists_each_review_its_line_comments_and_failed_checks() {
        let mut alice = review("alice", true, "Please also cover zero.\n");
        alice.comments.push(LineComment {
            path: "src/lib.rs".into(),
            line: Some(4),
            body: "div_ceil panics on 0".into(),
        });
        let bob = review("bob", false, "");
        let checks = [
            CiCheck { name: "lint".into(), state: CiState::Passed, url: None },
            CiCheck { name: "test".into(), state: CiState::Failed, url: Some("https://ci/1".into()) },
        ];
        assert_eq!(
            feedback_note(&[alice.clone(), bob.clone()], &checks),
            "@alice requested changes on the PR:\nPlease also cover zero.\n- on src/lib.rs:4: div_ceil panics on 0\n\
             @bob commented on the PR.\nCI failed on the PR's head commit:\n- test (https://ci/1)"
        );
        assert_eq!(feedback_from(&[alice.clone(), bob, alice]), "@alice, @bob");
        assert_eq!(feedback_from(&[]), "CI");
    }
}
