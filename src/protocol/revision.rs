//! A revision of a task's spec: the fields a user gives to answer intake's questions. Every field
//! given replaces the task's current one; every field left out stays as it is. `ambidex task
//! revise` builds one from flags or a task file, `POST /v1/tasks/{id}/revise` takes one as JSON
//! (the field names are the task spec's), and both apply it to the current spec before sending
//! the engine a [`Command::ReviseTask`](super::Command::ReviseTask).

use serde::{Deserialize, Serialize};

use super::task::{Risk, TaskKind, TaskSpec};

/// The spec fields to change; `None` leaves a field as it is. Unknown fields are refused, so a
/// typo is an error naming the field, never a silently ignored key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecChanges {
    /// One line saying what to achieve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The longer description (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The repository to work on (a path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The branch the PR targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_branch: Option<String>,
    /// Observable conditions that say the task is done (replaces the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_criteria: Option<Vec<String>>,
    /// Rules the change must respect (replaces the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Vec<String>>,
    /// Areas the change must not touch (replaces the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_scope: Option<Vec<String>>,
    /// The declared risk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    /// The declared kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TaskKind>,
    /// Approvals wanted on top of policy (replaces the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_approvals: Option<Vec<String>>,
    /// Commands that validate the change (replaces the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Vec<String>>,
    /// Free-form labels (replaces the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
}

impl SpecChanges {
    /// Whether no field is given (such a revision would change nothing).
    pub fn is_empty(&self) -> bool {
        self == &SpecChanges::default()
    }

    /// Layers `later` over these changes: every field `later` gives wins.
    pub fn then(self, later: SpecChanges) -> SpecChanges {
        SpecChanges {
            title: later.title.or(self.title),
            description: later.description.or(self.description),
            repo: later.repo.or(self.repo),
            target_branch: later.target_branch.or(self.target_branch),
            acceptance_criteria: later.acceptance_criteria.or(self.acceptance_criteria),
            constraints: later.constraints.or(self.constraints),
            out_of_scope: later.out_of_scope.or(self.out_of_scope),
            risk: later.risk.or(self.risk),
            kind: later.kind.or(self.kind),
            required_approvals: later.required_approvals.or(self.required_approvals),
            validation: later.validation.or(self.validation),
            labels: later.labels.or(self.labels),
        }
    }

    /// The spec with these changes made; its source (where the task came from) is kept.
    pub fn apply_to(&self, spec: &TaskSpec) -> TaskSpec {
        let pick = |given: &Option<String>, current: &String| given.clone().unwrap_or_else(|| current.clone());
        let list =
            |given: &Option<Vec<String>>, current: &Vec<String>| given.clone().unwrap_or_else(|| current.clone());
        TaskSpec {
            title: pick(&self.title, &spec.title).trim().to_owned(),
            description: pick(&self.description, &spec.description),
            repo: self.repo.clone().or_else(|| spec.repo.clone()),
            target_branch: self.target_branch.clone().or_else(|| spec.target_branch.clone()),
            acceptance_criteria: list(&self.acceptance_criteria, &spec.acceptance_criteria),
            constraints: list(&self.constraints, &spec.constraints),
            out_of_scope: list(&self.out_of_scope, &spec.out_of_scope),
            risk: self.risk.or(spec.risk),
            kind: self.kind.or(spec.kind),
            required_approvals: list(&self.required_approvals, &spec.required_approvals),
            validation: list(&self.validation, &spec.validation),
            labels: list(&self.labels, &spec.labels),
            source: spec.source.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::TaskSource;

    fn current() -> TaskSpec {
        TaskSpec {
            description: "the old words".into(),
            acceptance_criteria: vec!["old criterion".into()],
            validation: vec!["cargo test".into()],
            risk: Some(Risk::Low),
            source: TaskSource::Issue { url: "https://example.com/1".into() },
            ..TaskSpec::titled("fix it")
        }
    }

    #[test]
    fn given_fields_replace_and_the_rest_stay() {
        let changes = SpecChanges {
            title: Some("  Fix page_count rounding  ".into()),
            acceptance_criteria: Some(vec!["page_count(11, 5) returns 3".into()]),
            kind: Some(TaskKind::BugFix),
            ..SpecChanges::default()
        };
        let revised = changes.apply_to(&current());
        assert_eq!(revised.title, "Fix page_count rounding");
        assert_eq!(revised.acceptance_criteria, ["page_count(11, 5) returns 3"]);
        assert_eq!(revised.kind, Some(TaskKind::BugFix));
        assert_eq!(revised.description, "the old words");
        assert_eq!(revised.validation, ["cargo test"]);
        assert_eq!(revised.risk, Some(Risk::Low));
        assert_eq!(revised.source, current().source, "where the task came from does not change");
    }

    #[test]
    fn an_empty_list_clears_and_later_changes_win() {
        let file = SpecChanges { validation: Some(vec![]), risk: Some(Risk::High), ..SpecChanges::default() };
        let flags = SpecChanges { risk: Some(Risk::Medium), ..SpecChanges::default() };
        let revised = file.then(flags).apply_to(&current());
        assert!(revised.validation.is_empty());
        assert_eq!(revised.risk, Some(Risk::Medium));
        assert!(SpecChanges::default().is_empty());
    }

    #[test]
    fn json_uses_the_spec_field_names_and_refuses_unknown_ones() {
        let changes: SpecChanges = serde_json::from_str(r#"{"acceptance_criteria": ["x"], "risk": "high"}"#).unwrap();
        assert_eq!(changes.acceptance_criteria, Some(vec!["x".to_owned()]));
        assert_eq!(changes.risk, Some(Risk::High));
        let err = serde_json::from_str::<SpecChanges>(r#"{"acceptance": ["x"]}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `acceptance`"), "{err}");
    }
}
