//! An issue as a task: title, body, labels and comments become a [`TaskSpec`]; acceptance criteria
//! come from checklists (`- [ ] …`) and from "Acceptance criteria"-style sections; constraints and
//! out-of-scope items from their own sections; the task keeps the issue's address as its source.

use super::IssueRef;
use crate::protocol::{TaskKind, TaskSource, TaskSpec};

/// The most comments copied into a task's description (the latest ones).
const MAX_COMMENTS: usize = 20;
/// The longest comment copied whole.
const MAX_COMMENT_CHARS: usize = 2000;

/// An issue as read from a forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Which issue.
    pub reference: IssueRef,
    /// Its web address.
    pub url: String,
    /// Its title.
    pub title: String,
    /// Its body (Markdown; may be empty).
    pub body: String,
    /// Its labels.
    pub labels: Vec<String>,
    /// Its comments, oldest first (system notes left out).
    pub comments: Vec<Comment>,
}

/// One comment on an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Who wrote it (login or username).
    pub author: String,
    /// What it says (Markdown).
    pub body: String,
}

/// Section headings whose list items are acceptance criteria.
const CRITERIA_HEADINGS: &[&str] = &[
    "acceptance criteria",
    "acceptance criterion",
    "acceptance tests",
    "definition of done",
    "done when",
    "success criteria",
    "expected behavior",
    "expected behaviour",
];
/// Section headings whose list items are constraints.
const CONSTRAINT_HEADINGS: &[&str] = &["constraints", "requirements and constraints", "must not break"];
/// Section headings whose list items are out of scope.
const OUT_OF_SCOPE_HEADINGS: &[&str] = &["out of scope", "non-goals", "non goals", "not in scope"];

/// Builds the task an issue asks for. The repository is left unset: the caller decides it.
pub fn spec_from_issue(issue: &Issue) -> TaskSpec {
    let body = strip_html_comments(&issue.body);
    let mut criteria = Vec::new();
    let mut texts: Vec<&str> = vec![&body];
    texts.extend(issue.comments.iter().map(|c| c.body.as_str()));
    for text in &texts {
        criteria.extend(section_items(text, CRITERIA_HEADINGS));
    }
    criteria.extend(checklist(&body));
    let mut description = body.trim().to_owned();
    let shown: Vec<&Comment> = issue.comments.iter().rev().take(MAX_COMMENTS).rev().collect();
    if !shown.is_empty() {
        description.push_str("\n\n## Comments\n");
        if shown.len() < issue.comments.len() {
            description.push_str(&format!("(the latest {} of {})\n", shown.len(), issue.comments.len()));
        }
        for comment in shown {
            let mut text: String = comment.body.trim().chars().take(MAX_COMMENT_CHARS).collect();
            if text.len() < comment.body.trim().len() {
                text.push_str(" …");
            }
            description.push_str(&format!("\n**@{}**: {text}\n", comment.author));
        }
    }
    description.push_str(&format!("\n\nImported from {} ({}).\n", issue.url, issue.reference));
    TaskSpec {
        description,
        acceptance_criteria: dedup(criteria),
        constraints: dedup(section_items(&body, CONSTRAINT_HEADINGS)),
        out_of_scope: dedup(section_items(&body, OUT_OF_SCOPE_HEADINGS)),
        kind: kind_from_labels(&issue.labels),
        labels: issue.labels.clone(),
        source: TaskSource::Issue { url: issue.url.clone() },
        ..TaskSpec::titled(issue.title.trim())
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.into_iter().filter(|item| seen.insert(item.to_lowercase())).collect()
}

/// Removes `<!-- … -->` (issue templates are full of them).
pub fn strip_html_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start..].find("-->") {
            Some(end) => rest = &rest[start + end + 3..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Lines outside code fences.
fn prose_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    text.lines().filter(move |line| {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// The text of a list item (`- x`, `* x`, `+ x`, `1. x`, `1) x`, with or without a checkbox), and
/// whether it had a checkbox.
fn list_item(line: &str) -> Option<(String, bool)> {
    let trimmed = line.trim();
    let rest = if let Some(rest) = trimmed.strip_prefix(['-', '*', '+']) {
        rest.strip_prefix(' ')?
    } else {
        let digits = trimmed.len() - trimmed.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return None;
        }
        trimmed[digits..].strip_prefix(['.', ')'])?.strip_prefix(' ')?
    };
    let rest = rest.trim_start();
    let (text, checkbox) = match rest.get(..3).map(str::to_ascii_lowercase).as_deref() {
        Some("[ ]") | Some("[x]") => (rest[3..].trim(), true),
        _ => (rest.trim(), false),
    };
    (!text.is_empty()).then(|| (text.to_owned(), checkbox))
}

/// The heading a line is, if it is one: `## Title`, `**Title**`, `__Title__`, or a short
/// `Title:` line on its own. Lowercased, without markup or the trailing colon.
fn heading(line: &str) -> Option<String> {
    let trimmed = line.trim();
    if trimmed.is_empty() || list_item(trimmed).is_some() {
        return None;
    }
    let text = if trimmed.starts_with('#') {
        trimmed.trim_start_matches('#')
    } else if (trimmed.starts_with("**") && trimmed.ends_with("**") && trimmed.len() > 4)
        || (trimmed.starts_with("__") && trimmed.ends_with("__") && trimmed.len() > 4)
    {
        &trimmed[2..trimmed.len() - 2]
    } else if trimmed.ends_with(':') && trimmed.len() <= 60 {
        trimmed
    } else if trimmed.starts_with("**") && trimmed.ends_with(":**") {
        &trimmed[2..trimmed.len() - 2]
    } else {
        return None;
    };
    let text = text.trim().trim_matches(|c: char| c == '*' || c == '_').trim().trim_end_matches(':').trim();
    Some(text.to_lowercase())
}

/// The list items under every heading named in `names` (up to the next heading).
pub fn section_items(text: &str, names: &[&str]) -> Vec<String> {
    let mut items = Vec::new();
    let mut inside = false;
    for line in prose_lines(text) {
        if let Some(title) = heading(line) {
            inside = names.contains(&title.as_str());
            continue;
        }
        if inside && let Some((item, _)) = list_item(line) {
            items.push(item);
        }
    }
    items
}

/// Every checklist item (`- [ ] …`, `- [x] …`) outside code fences.
pub fn checklist(text: &str) -> Vec<String> {
    prose_lines(text).filter_map(list_item).filter(|(_, checkbox)| *checkbox).map(|(item, _)| item).collect()
}

/// The task kind the labels declare, when they agree (a security label always wins).
pub fn kind_from_labels(labels: &[String]) -> Option<TaskKind> {
    let mut kinds: Vec<TaskKind> = labels
        .iter()
        .filter_map(|label| {
            let lower = label.trim().to_lowercase();
            let name = lower.rsplit([':', '/']).next().unwrap_or_default().trim();
            Some(match name {
                "bug" | "defect" | "regression" | "bugfix" | "bug fix" => TaskKind::BugFix,
                "documentation" | "docs" | "doc" => TaskKind::Documentation,
                "enhancement" | "feature" | "feature request" => TaskKind::Feature,
                "refactor" | "refactoring" | "tech debt" | "tech-debt" | "cleanup" => TaskKind::Refactor,
                "test" | "tests" | "testing" => TaskKind::TestWork,
                "ci" | "build" | "ci/cd" => TaskKind::CiRepair,
                "dependencies" | "dependency" | "deps" => TaskKind::DependencyUpdate,
                "security" | "vulnerability" => TaskKind::SecurityChange,
                "migration" | "database migration" => TaskKind::Migration,
                _ => return None,
            })
        })
        .collect();
    if kinds.contains(&TaskKind::SecurityChange) {
        return Some(TaskKind::SecurityChange);
    }
    kinds.sort();
    kinds.dedup();
    (kinds.len() == 1).then(|| kinds[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::ForgeKind;

    fn issue(body: &str, labels: &[&str], comments: &[(&str, &str)]) -> Issue {
        Issue {
            reference: IssueRef { kind: ForgeKind::Github, project: "acme/widgets".into(), number: 7 },
            url: "https://github.com/acme/widgets/issues/7".into(),
            title: "  Fix page_count rounding ".into(),
            body: body.into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            comments: comments.iter().map(|(a, b)| Comment { author: a.to_string(), body: b.to_string() }).collect(),
        }
    }

    #[test]
    fn criteria_come_from_sections_and_checklists() {
        let body = "<!-- template: describe the bug -->\npage_count loses the last page.\n\n\
                    ## Acceptance criteria\n- page_count(11, 5) returns 3\n1. existing tests pass\n\nSome prose.\n\n\
                    ## Steps\n- run it\n- [ ] add a regression test\n- [x] Existing tests pass\n\n\
                    ```\n- [ ] not a criterion (in a code block)\n```\n\
                    **Out of scope:**\n- the UI\n\nConstraints:\n* no new dependencies\n";
        let spec = spec_from_issue(&issue(body, &["bug", "good first issue"], &[]));
        assert_eq!(spec.title, "Fix page_count rounding");
        assert_eq!(
            spec.acceptance_criteria,
            vec!["page_count(11, 5) returns 3", "existing tests pass", "add a regression test"]
        );
        assert_eq!(spec.out_of_scope, vec!["the UI"]);
        assert_eq!(spec.constraints, vec!["no new dependencies"]);
        assert_eq!(spec.kind, Some(TaskKind::BugFix));
        assert_eq!(spec.labels, vec!["bug", "good first issue"]);
        assert_eq!(spec.source, TaskSource::Issue { url: "https://github.com/acme/widgets/issues/7".into() });
        assert!(!spec.description.contains("template"), "{}", spec.description);
        assert!(spec.description.contains("Imported from https://github.com/acme/widgets/issues/7"));
    }

    #[test]
    fn comments_join_the_description_and_may_add_criteria() {
        let spec = spec_from_issue(&issue(
            "Broken.",
            &[],
            &[("alice", "Same here."), ("pm", "**Acceptance Criteria**\n- works for 0 items\n")],
        ));
        assert_eq!(spec.acceptance_criteria, vec!["works for 0 items"]);
        assert!(spec.description.contains("**@alice**: Same here."), "{}", spec.description);
        assert_eq!(spec.kind, None);
    }

    #[test]
    fn headings_end_sections() {
        let text = "### Definition of Done\n- a\n### Notes\n- b\nDone when:\n- c\n";
        assert_eq!(section_items(text, CRITERIA_HEADINGS), vec!["a", "c"]);
        assert_eq!(checklist("* [X] upper\n- [] not\n-[ ] not\n+ [ ] plus"), vec!["upper", "plus"]);
    }

    #[test]
    fn labels_declare_a_kind_only_when_they_agree() {
        let labels = |ls: &[&str]| ls.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        assert_eq!(kind_from_labels(&labels(&["type: Bug"])), Some(TaskKind::BugFix));
        assert_eq!(kind_from_labels(&labels(&["kind/documentation", "docs"])), Some(TaskKind::Documentation));
        assert_eq!(kind_from_labels(&labels(&["bug", "enhancement"])), None);
        assert_eq!(kind_from_labels(&labels(&["bug", "security"])), Some(TaskKind::SecurityChange));
        assert_eq!(kind_from_labels(&labels(&["help wanted"])), None);
    }

    #[test]
    fn unterminated_html_comments_drop_the_rest() {
        assert_eq!(strip_html_comments("a<!-- b -->c<!-- d"), "ac");
    }
}
