//! Playbooks and policy: the versioned, human-edited files that govern what agents do.
//!
//! `playbooks/policy.toml` is compiled into the binary as the default; a repository may replace it
//! with its own `.ambidex/policy.toml`. Loading checks everything it can (unknown keys, bad values,
//! rule examples) and names the file and line of the first problem.

pub mod commands;
pub mod learning_rules;
pub mod left_hand;
pub mod playbook;
mod stage;

mod policy_rules;
mod shell;
mod wrappers;

use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;
use sha2::{Digest, Sha256};

pub use commands::{CommandPolicy, CommandRule, Judgement, Verdict};
pub use learning_rules::{AutonomyRules, LearningRules};
pub use playbook::MCP_ENTRY_PREFIX;
pub use policy_rules::{
    AreaRule, BroadRules, BudgetLimits, BudgetRules, Budgets, ChurnRule, ClassifyRules, DestructiveRule, GateRules,
    Hit, IntakeRules, KindRule, NoveltyRules, Phrases, RiskRules, RoutingRules, SizeRules, Text, UnsafeRule,
};

/// The default policy, as shipped.
pub const DEFAULT_POLICY: &str = include_str!("../playbooks/policy.toml");

/// The whole policy, every section present: those a repository's file leaves out are the
/// shipped policy's.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Command rules for the `run` tool.
    pub commands: CommandPolicy,
    /// When a task is vague, unsafe or too broad.
    pub intake: IntakeRules,
    /// Keywords that name a task's kind.
    pub classify: ClassifyRules,
    /// What raises a task's risk: areas, size, churn, kind.
    pub risk: RiskRules,
    /// What makes a task novel.
    pub novelty: NoveltyRules,
    /// When a task is also explored by the Left Hand.
    pub routing: RoutingRules,
    /// Budgets per risk level.
    pub budgets: BudgetRules,
    /// Which human approvals policy requires.
    pub gates: GateRules,
    /// When the Left Hand's wins become proposals, and what an evaluation replays.
    pub learning: LearningRules,
    /// When a class's gates may be relaxed, and what tightens them.
    pub autonomy: AutonomyRules,
    /// The file's text, as the registry keeps it.
    pub text: String,
    /// Where it was read (`built-in policy`, a path).
    pub origin: String,
    /// The sha256 of the file's text: the version recorded with every decision.
    pub version: String,
}

/// A policy file as written: `[commands]` is required, every other section may be left out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    commands: CommandPolicy,
    intake: Option<IntakeRules>,
    classify: Option<ClassifyRules>,
    risk: Option<RiskRules>,
    novelty: Option<NoveltyRules>,
    routing: Option<RoutingRules>,
    budgets: Option<BudgetRules>,
    gates: Option<GateRules>,
    learning: Option<LearningRules>,
    autonomy: Option<AutonomyRules>,
}

const BUILT_IN: &str = "built-in policy";

impl PolicyFile {
    fn parse(text: &str, origin: &str) -> Result<PolicyFile, PolicyError> {
        toml::from_str(text).map_err(|err| PolicyError::from_toml(text, origin, &err))
    }

    /// The shipped policy's sections, parsed once.
    fn shipped() -> Result<&'static PolicyFile, PolicyError> {
        static SHIPPED: OnceLock<Result<PolicyFile, PolicyError>> = OnceLock::new();
        SHIPPED.get_or_init(|| PolicyFile::parse(DEFAULT_POLICY, BUILT_IN)).as_ref().map_err(Clone::clone)
    }

    /// Fills every section the file leaves out with the shipped one.
    fn complete(self) -> Result<Policy, PolicyError> {
        fn section<T: Clone>(
            own: Option<T>,
            name: &str,
            shipped: impl FnOnce(&PolicyFile) -> &Option<T>,
        ) -> Result<T, PolicyError> {
            if let Some(own) = own {
                return Ok(own);
            }
            shipped(PolicyFile::shipped()?).clone().ok_or_else(|| PolicyError {
                origin: BUILT_IN.to_owned(),
                line: None,
                message: format!("the shipped policy has no [{name}] section; this build is broken, reinstall Ambidex"),
            })
        }
        Ok(Policy {
            commands: self.commands,
            intake: section(self.intake, "intake", |f| &f.intake)?,
            classify: section(self.classify, "classify", |f| &f.classify)?,
            risk: section(self.risk, "risk", |f| &f.risk)?,
            novelty: section(self.novelty, "novelty", |f| &f.novelty)?,
            routing: section(self.routing, "routing", |f| &f.routing)?,
            budgets: section(self.budgets, "budgets", |f| &f.budgets)?,
            gates: section(self.gates, "gates", |f| &f.gates)?,
            learning: section(self.learning, "learning", |f| &f.learning)?,
            autonomy: section(self.autonomy, "autonomy", |f| &f.autonomy)?,
            text: String::new(),
            origin: String::new(),
            version: String::new(),
        })
    }
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
        match crate::protocol::bounded::read_regular_text(path, crate::protocol::bounded::MAX_INPUT_FILE_BYTES) {
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
        let mut policy = PolicyFile::parse(text, origin)?.complete()?;
        let failures = policy.commands.check_examples();
        if !failures.is_empty() {
            return Err(PolicyError { origin: origin.to_owned(), line: None, message: failures.join("; ") });
        }
        policy_rules::check(&policy).map_err(|err| PolicyError {
            origin: origin.to_owned(),
            line: err.line_in(text),
            message: err.message,
        })?;
        if let Some(problem) = policy.autonomy.problem() {
            return Err(PolicyError { origin: origin.to_owned(), line: None, message: problem });
        }
        policy.version = format!("{:x}", Sha256::digest(text.as_bytes()));
        policy.text = text.to_owned();
        policy.origin = origin.to_owned();
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
    fn sections_a_file_leaves_out_are_the_shipped_ones_and_its_own_are_kept() {
        let shipped = Policy::built_in().unwrap();
        let text = "[commands]\ndefault = \"forbid\"\n\n[gates]\nplan_at_or_above = \"high\"\npr = false\n\
                    sensitive_areas = false\npromotion = false\n";
        let own = Policy::parse(text, "p.toml").unwrap();
        assert_eq!(own.commands.default, Verdict::Forbid);
        assert!(own.commands.rules.is_empty());
        assert_eq!(own.gates.plan_at_or_above, crate::protocol::Risk::High);
        assert!(!own.gates.pr && !own.gates.promotion);
        assert_ne!(own.gates, shipped.gates);
        assert_eq!(own.intake, shipped.intake);
        assert_eq!(own.budgets, shipped.budgets);
        assert_eq!(own.routing, shipped.routing);
        assert_ne!(own.version, shipped.version);
        let err = Policy::parse("", "p.toml").unwrap_err();
        assert!(err.message.contains("commands"), "{err}");
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
