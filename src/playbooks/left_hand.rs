//! The exploration playbook (`playbooks/left_hand.toml`): the challengers' strategies and the
//! stages of the Left Hand's agents — eval designer, challenger, failure analyst, synthesis.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use toml::Spanned;

use super::stage::{Stage, StageText, parse_text};
use super::{PolicyError, line_at};
use crate::protocol::{StageKind, TaskKind};

/// The exploration playbook shipped in the binary.
pub const LEFT_HAND: &str = include_str!("../../playbooks/left_hand.toml");

/// A way of solving a task that a challenger follows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    /// Its name (`test_first`, `alternative_design`, …).
    pub name: String,
    /// What it asks of the challenger, put into its prompt.
    pub brief: String,
}

/// The exploration playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftHand {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Strategies, most generally useful first.
    pub strategies: Vec<Strategy>,
    /// Writes the acceptance tests.
    pub eval_designer: Stage,
    /// Builds one candidate.
    pub challenger: Stage,
    /// Reviews each candidate for what tests miss.
    pub failure_analyst: Stage,
    /// Recommends what the production track adopts.
    pub synthesis: Stage,
    /// The sha256 of its text.
    pub version: String,
    /// Its text, as the registry keeps it.
    pub text: String,
    /// Where it was read (`built-in playbooks/right_hand.toml`, a path).
    pub origin: String,
}

/// The file as it is spelled.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeftHandText {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(rename = "strategy")]
    strategies: Vec<Strategy>,
    eval_designer: Spanned<StageText>,
    challenger: Spanned<StageText>,
    failure_analyst: Spanned<StageText>,
    synthesis: Spanned<StageText>,
}

impl LeftHand {
    /// Parses and checks the file: each slot holds a stage of its own kind.
    pub fn parse(text: &str, origin: &str) -> Result<LeftHand, PolicyError> {
        let error = |line: Option<usize>, message: String| PolicyError { origin: origin.to_owned(), line, message };
        let parsed: LeftHandText = parse_text(text, origin)?;
        if parsed.strategies.is_empty() {
            return Err(error(None, "the exploration playbook needs at least one [[strategy]]".into()));
        }
        let slot = |spanned: Spanned<StageText>, slot: &str, kind: StageKind| {
            let line = line_at(text, spanned.span().start);
            let stage = spanned.into_inner().check().map_err(|message| error(Some(line), message))?;
            if stage.kind != kind {
                return Err(error(
                    Some(line),
                    format!("[{slot}] must be a stage of kind `{kind}`, not `{}`", stage.kind),
                ));
            }
            Ok(stage)
        };
        Ok(LeftHand {
            eval_designer: slot(parsed.eval_designer, "eval_designer", StageKind::DesignTests)?,
            challenger: slot(parsed.challenger, "challenger", StageKind::Challenge)?,
            failure_analyst: slot(parsed.failure_analyst, "failure_analyst", StageKind::Analyze)?,
            synthesis: slot(parsed.synthesis, "synthesis", StageKind::Synthesize)?,
            name: parsed.name,
            description: parsed.description,
            strategies: parsed.strategies,
            version: format!("{:x}", Sha256::digest(text.as_bytes())),
            text: text.to_owned(),
            origin: origin.to_owned(),
        })
    }

    /// The strategies for `count` challengers on a task: the playbook's order, with the strategy
    /// the task's nature calls for moved first.
    pub fn pick(&self, count: usize, kind: Option<TaskKind>, trigger: &str, text: &str) -> Vec<&Strategy> {
        let text = text.to_lowercase();
        let favoured = if kind == Some(TaskKind::SecurityChange) || trigger == "sensitive_files" {
            Some("security_first")
        } else if ["performance", "faster", "slow", "latency", "speed up"].iter().any(|w| text.contains(w)) {
            Some("performance")
        } else {
            None
        };
        let mut ordered: Vec<&Strategy> = self.strategies.iter().collect();
        if let Some(index) = favoured.and_then(|f| ordered.iter().position(|s| s.name == f)) {
            let strategy = ordered.remove(index);
            ordered.insert(0, strategy);
        }
        ordered.truncate(count.max(1));
        ordered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_exploration_playbook_loads_and_picks_strategies_for_the_task() {
        let left = LeftHand::parse(LEFT_HAND, "left_hand.toml").unwrap();
        assert!(left.strategies.len() >= 6);
        let names = |picked: Vec<&Strategy>| picked.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(left.pick(2, Some(TaskKind::BugFix), "route", "fix rounding")),
            ["test_first", "alternative_design"]
        );
        assert_eq!(names(left.pick(2, Some(TaskKind::SecurityChange), "route", "")), ["security_first", "test_first"]);
        assert_eq!(names(left.pick(1, None, "route", "Make the parser faster")), ["performance"]);
        assert_eq!(left.pick(0, None, "route", "").len(), 1, "at least one challenger");
    }

    #[test]
    fn a_stage_with_the_wrong_role_or_call_is_refused() {
        let broken = LEFT_HAND.replacen("kind = \"design_tests\"", "kind = \"design_tests\"\nsubmit = \"finish\"", 1);
        let err = LeftHand::parse(&broken, "left_hand.toml").unwrap_err();
        assert!(err.message.contains("ends with `submit_tests`, not `finish`"), "{err}");
        let swapped = LEFT_HAND.replacen("kind = \"design_tests\"", "kind = \"challenge\"", 1);
        let err = LeftHand::parse(&swapped, "left_hand.toml").unwrap_err();
        assert!(err.message.contains("[eval_designer] must be a stage of kind `design_tests`"), "{err}");
        assert!(err.line.is_some(), "{err}");
    }
}
