//! Stage kinds: what a stage of a playbook does, as the engine understands it.
//!
//! A playbook names its stages as it likes and may re-prompt them, but every stage declares one
//! of these kinds, and the engine keys every decision (gates, retries, feedback, exploration
//! triggers, adoption, resume) off the kind, never off the name a user can edit.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::actor::{Role, Track};

/// What a stage does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// Right Hand: the planner reads the code and submits a plan. Nothing changes on disk.
    Plan,
    /// Right Hand: the implementer changes the code.
    Implement,
    /// Right Hand: the tester adds or updates focused tests.
    Test,
    /// Right Hand: the engine runs the validation commands (no model).
    Validate,
    /// Right Hand: the reviewer audits the change.
    Review,
    /// Right Hand: the PR writer drafts the pull request.
    Pr,
    /// Left Hand: the eval designer writes acceptance tests before any candidate.
    DesignTests,
    /// Left Hand: a challenger builds one competing candidate.
    Challenge,
    /// Left Hand: the failure analyst reviews each candidate for what tests miss.
    Analyze,
    /// Left Hand: the synthesis agent recommends what production adopts.
    Synthesize,
}

impl StageKind {
    /// Every kind, the Right Hand's in pipeline order first.
    pub const ALL: [StageKind; 10] = [
        StageKind::Plan,
        StageKind::Implement,
        StageKind::Test,
        StageKind::Validate,
        StageKind::Review,
        StageKind::Pr,
        StageKind::DesignTests,
        StageKind::Challenge,
        StageKind::Analyze,
        StageKind::Synthesize,
    ];

    /// The snake_case name used in playbooks and events.
    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Plan => "plan",
            StageKind::Implement => "implement",
            StageKind::Test => "test",
            StageKind::Validate => "validate",
            StageKind::Review => "review",
            StageKind::Pr => "pr",
            StageKind::DesignTests => "design_tests",
            StageKind::Challenge => "challenge",
            StageKind::Analyze => "analyze",
            StageKind::Synthesize => "synthesize",
        }
    }

    /// The track whose playbook holds stages of this kind.
    pub fn track(self) -> Track {
        match self {
            StageKind::Plan
            | StageKind::Implement
            | StageKind::Test
            | StageKind::Validate
            | StageKind::Review
            | StageKind::Pr => Track::Right,
            StageKind::DesignTests | StageKind::Challenge | StageKind::Analyze | StageKind::Synthesize => Track::Left,
        }
    }

    /// The role that runs a stage of this kind.
    pub fn role(self) -> Role {
        match self {
            StageKind::Plan => Role::Planner,
            StageKind::Implement => Role::Implementer,
            StageKind::Test => Role::Tester,
            StageKind::Validate => Role::Ci,
            StageKind::Review => Role::Reviewer,
            StageKind::Pr => Role::Pr,
            StageKind::DesignTests => Role::EvalDesigner,
            StageKind::Challenge => Role::Challenger,
            StageKind::Analyze => Role::FailureAnalyst,
            StageKind::Synthesize => Role::Synthesis,
        }
    }

    /// The call that ends a stage of this kind, or `None` when no agent runs it.
    pub fn submit(self) -> Option<&'static str> {
        match self {
            StageKind::Plan => Some("submit_plan"),
            StageKind::Implement | StageKind::Test | StageKind::Challenge => Some("finish"),
            StageKind::Validate => None,
            StageKind::Review => Some("submit_review"),
            StageKind::Pr => Some("submit_pr"),
            StageKind::DesignTests => Some("submit_tests"),
            StageKind::Analyze => Some("submit_findings"),
            StageKind::Synthesize => Some("submit_recommendation"),
        }
    }

    /// Whether a stage of this kind changes the files of its worktree.
    pub fn changes_files(self) -> bool {
        matches!(self, StageKind::Implement | StageKind::Test | StageKind::DesignTests | StageKind::Challenge)
    }

    /// The kind an event written before stages had kinds meant, from the shipped stage names.
    pub fn from_legacy_name(name: &str) -> Option<StageKind> {
        StageKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The kind of a stage event: the one it records, else the one its (shipped) name meant.
    pub fn of_event(recorded: Option<StageKind>, name: &str) -> Option<StageKind> {
        recorded.or_else(|| StageKind::from_legacy_name(name))
    }
}

impl std::str::FromStr for StageKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        StageKind::ALL.into_iter().find(|kind| kind.as_str() == text).ok_or_else(|| {
            let kinds: Vec<&str> = StageKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown stage kind `{text}` (one of {})", kinds.join(", "))
        })
    }
}

impl fmt::Display for StageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_names_its_role_track_and_call_consistently() {
        for kind in StageKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(StageKind::from_legacy_name(kind.as_str()), Some(kind));
            assert_eq!(kind.submit().is_none(), kind == StageKind::Validate, "{kind}");
        }
        assert_eq!(StageKind::Plan.role(), Role::Planner);
        assert_eq!(StageKind::Challenge.track(), Track::Left);
        assert_eq!(StageKind::from_legacy_name("code"), None);
    }
}
