//! Playbooks and policy: the versioned, human-edited files that govern what agents do.
//!
//! `playbooks/policy.toml` is compiled into the binary as the default; a repository may replace it
//! with its own `.ambidex/policy.toml`. Loading checks everything it can (unknown keys, bad values,
//! rule examples) and names the file and line of the first problem.

pub mod left_hand;
pub mod playbook;
mod stage;

mod policy_rules;

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::tools::policy::CommandPolicy;

pub use policy_rules::{
    AreaRule, BroadRules, BudgetRules, Budgets, ChurnRule, ClassifyRules, DestructiveRule, GateRules, Hit, IntakeRules,
    KindRule, NoveltyRules, Phrases, RiskRules, RoutingRules, SizeRules, Text, UnsafeRule,
};

/// The default policy, as shipped.
pub const DEFAULT_POLICY: &str = include_str!("../playbooks/policy.toml");

/// The whole policy file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Command rules for the `run` tool.
    pub commands: CommandPolicy,
    /// When a task is vague, unsafe or too broad. (Each section a file omits is the shipped one.)
    #[serde(default)]
    pub intake: IntakeRules,
    /// Keywords that name a task's kind.
    #[serde(default)]
    pub classify: ClassifyRules,
    /// What raises a task's risk: areas, size, churn, kind.
    #[serde(default)]
    pub risk: RiskRules,
    /// What makes a task novel.
    #[serde(default)]
    pub novelty: NoveltyRules,
    /// When a task is also explored by the Left Hand.
    #[serde(default)]
    pub routing: RoutingRules,
    /// Budgets per risk level.
    #[serde(default)]
    pub budgets: BudgetRules,
    /// Which human approvals policy requires.
    #[serde(default)]
    pub gates: GateRules,
    /// The sha256 of the file's text: the version recorded with every decision.
    #[serde(skip)]
    pub version: String,
}

/// A policy file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyError {
    /// The file (or `built-in policy`).
    pub origin: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl PolicyError {
    /// Reads a policy or playbook file: its text and its name for messages.
    pub(crate) fn read(path: &Path) -> Result<(String, String), PolicyError> {
        let origin = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((text, origin)),
            Err(err) => Err(PolicyError { origin, line: None, message: format!("cannot read: {err}") }),
        }
    }

    /// A TOML error in `text`, at its line.
    pub(crate) fn from_toml(text: &str, origin: &str, err: &toml::de::Error) -> PolicyError {
        PolicyError {
            origin: origin.to_owned(),
            line: err.span().map(|span| line_at(text, span.start)),
            message: err.message().trim_end().to_owned(),
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    1 + text[..offset.min(text.len())].matches('\n').count()
}

impl Policy {
    /// The shipped default.
    pub fn built_in() -> Result<Policy, PolicyError> {
        Policy::parse(DEFAULT_POLICY, "built-in policy")
    }

    /// Loads a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let (text, origin) = PolicyError::read(path)?;
        Policy::parse(&text, &origin)
    }

    /// Parses and checks policy text.
    pub fn parse(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let mut policy: Policy = toml::from_str(text).map_err(|err| PolicyError::from_toml(text, origin, &err))?;
        let failures = policy.commands.check_examples();
        if !failures.is_empty() {
            return Err(PolicyError { origin: origin.to_owned(), line: None, message: failures.join("; ") });
        }
        policy_rules::check(&policy).map_err(|err| PolicyError {
            origin: origin.to_owned(),
            line: err.line_in(text),
            message: err.message,
        })?;
        policy.version = format!("{:x}", Sha256::digest(text.as_bytes()));
        Ok(policy)
    }

    /// The repository's own policy when it has one, else the built-in one.
    pub fn for_repo(repo_root: &Path) -> Result<Policy, PolicyError> {
        let path = repo_root.join(".ambidex/policy.toml");
        if path.exists() { Policy::load(&path) } else { Policy::built_in() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_loads_and_its_examples_hold() {
        let policy = Policy::built_in().unwrap();
        assert!(policy.commands.rules.len() > 20);
        assert_eq!(policy.version.len(), 64);
    }

    #[test]
    fn a_rule_whose_example_fails_is_a_load_error() {
        let text = "[commands]\n[[commands.rule]]\nprefix = [\"git\", \"push\"]\ndecision = \"forbid\"\n\
                    justification = \"x\"\nmatch = [\"git pull\"]\n";
        let err = Policy::parse(text, "p.toml").unwrap_err();
        assert_eq!(err.to_string(), "p.toml: rule `git push` should match `git pull` but does not");
    }

    #[test]
    fn unknown_keys_and_bad_decisions_name_the_line() {
        let err = Policy::parse("[commands]\ndefault = \"maybe\"\n", "p.toml").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        let err = Policy::parse(
            "[commands]\n[[commands.rule]]\nprefix = [\"ls\"]\ndecision = \"allow\"\njustification = \"x\"\nwhy = 1\n",
            "p.toml",
        )
        .unwrap_err();
        assert!(err.message.contains("unknown field `why`"), "{err}");
    }
}
