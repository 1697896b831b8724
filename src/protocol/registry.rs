//! The playbook registry: every version of every playbook (the production track's, per task
//! class), of the exploration playbook and of the policy, with its content hash, parent, author,
//! date and status; the shadow evaluation that compares a proposal with the version it would
//! replace; and the promotion criteria a human reads at the promotion gate.
//!
//! A version is named by the sha256 of its text, so the same text is one version wherever it came
//! from. Each change is an event carrying the version's whole new state, like the museum's.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ids::{ExhibitId, TaskId};
use super::task::TaskKind;

/// What a version governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Artifact {
    /// A production playbook: the Right Hand's stages, prompts and tools for some task classes.
    Playbook,
    /// The exploration playbook: the Left Hand's strategies and agents.
    Exploration,
    /// The policy: routing, gates, budgets, command rules.
    Policy,
}

impl std::fmt::Display for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Artifact::Playbook => "playbook",
            Artifact::Exploration => "exploration",
            Artifact::Policy => "policy",
        })
    }
}

/// Where a version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    /// Waiting for evaluation and a human's promotion.
    Proposed,
    /// In use: new tasks of its classes run with it.
    Active,
    /// Was active, replaced or retired; a rollback may restore it.
    Retired,
    /// A proposal a human declined.
    Rejected,
}

impl std::fmt::Display for VersionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VersionStatus::Proposed => "proposed",
            VersionStatus::Active => "active",
            VersionStatus::Retired => "retired",
            VersionStatus::Rejected => "rejected",
        })
    }
}

/// Who made a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Author {
    /// A file the engine loaded: the repository's `.ambidex/` or the binary's built-in one.
    File {
        /// Where it was read (`built-in playbooks/right_hand.toml`, `.ambidex/policy.toml`).
        path: String,
    },
    /// A person, through `ambidex playbook propose`.
    Person {
        /// Their name as the actor recorded it.
        name: String,
    },
    /// The Left Hand: a challenger strategy that won the promotion gate on several tasks of a class.
    Strategy {
        /// The strategy's name.
        strategy: String,
        /// The class it won on.
        class: TaskKind,
        /// The tasks it won.
        tasks: Vec<TaskId>,
    },
}

impl std::fmt::Display for Author {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Author::File { path } => write!(f, "file {path}"),
            Author::Person { name } => f.write_str(name),
            Author::Strategy { strategy, class, tasks } => {
                let ids: Vec<String> = tasks.iter().map(|t| t.short()).collect();
                write!(f, "Left Hand strategy {strategy}, winner of {class} tasks {}", ids.join(", "))
            }
        }
    }
}

/// One version of a playbook or policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookVersion {
    /// The sha256 of its text (hex): its identity.
    pub hash: String,
    /// What it governs.
    pub artifact: Artifact,
    /// Its name (a playbook's `name`; `left_hand`, `policy`).
    pub name: String,
    /// The task classes it serves (a production playbook's `kinds`; empty for the others).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<TaskKind>,
    /// The version it was derived from or replaced, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Who made it.
    pub author: Author,
    /// Why it exists, in the author's words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// When it was recorded.
    pub created: Timestamp,
    /// Where it stands.
    pub status: VersionStatus,
    /// Who last changed its status and why (`promoted by ana: …`, `retired: slower than …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The latest shadow evaluation against the version it would replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Box<VersionEvaluation>>,
    /// Retirement criteria it hits, waiting for a human to retire it or keep it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retirement: Vec<String>,
    /// Its text, as the file spells it.
    pub text: String,
}

impl PlaybookVersion {
    /// The first 12 characters of its hash, as lists show it.
    pub fn short(&self) -> &str {
        self.hash.get(..12).unwrap_or(&self.hash)
    }

    /// Whether it serves tasks of `class`.
    pub fn serves(&self, class: TaskKind) -> bool {
        self.artifact == Artifact::Playbook && self.classes.contains(&class)
    }
}

/// What happened to a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaybookChange {
    /// The engine loaded a version it had not seen: it is active.
    Recorded,
    /// A person or the Left Hand proposed it.
    Proposed,
    /// Its shadow evaluation finished.
    Evaluated,
    /// A human promoted it at the promotion gate.
    Promoted,
    /// A human declined the proposal.
    Rejected,
    /// A newer version of its name became active, or a human retired it.
    Retired,
    /// A rollback made it active again.
    Restored,
    /// A review found retirement criteria it hits (or found it clear again).
    RetirementProposed,
}

/// A change to the registry a client asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum RegistryEdit {
    /// Propose a production playbook's text as a new version for its classes.
    Propose {
        /// The playbook file's text.
        text: String,
        /// Why, in the proposer's words.
        #[serde(default)]
        summary: String,
    },
    /// Record a finished shadow evaluation.
    Evaluated {
        /// The proposal (a hash or a unique prefix).
        version: String,
        /// The result.
        evaluation: Box<VersionEvaluation>,
    },
    /// Promote a proposal: it becomes active for its classes (a human only).
    Promote {
        /// The proposal.
        version: String,
        /// Why the evidence is enough.
        #[serde(default)]
        note: String,
    },
    /// Decline a proposal.
    Reject {
        /// The proposal.
        version: String,
        /// Why.
        reason: String,
    },
    /// Retire an active version (a human only); the version it replaced comes back when it has
    /// the same name.
    Retire {
        /// The version.
        version: String,
        /// Why.
        reason: String,
    },
    /// Restore the version that was active for a class before the current one (a human only).
    Rollback {
        /// The class.
        class: TaskKind,
    },
}

/// What a shadow evaluation replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplaySource {
    /// A kept bug museum exhibit: resolved when its reproducer's tests pass on the result.
    Exhibit {
        /// The exhibit.
        id: ExhibitId,
    },
    /// A past task held out from the proposal's evidence: resolved when the replay reaches a PR
    /// with its validation passing.
    Task {
        /// The task.
        id: TaskId,
    },
}

/// One case a shadow evaluation replays with each version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayCase {
    /// Where it comes from.
    pub source: ReplaySource,
    /// Its title.
    pub title: String,
    /// The commit it replays from.
    pub base: String,
}

/// How one version did on one case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayOutcome {
    /// Whether the case was resolved (see [`ReplaySource`]).
    pub resolved: bool,
    /// How the replay ended, in a few words (`pr`, `failed: …`, `exhibit broken: t1`).
    pub ending: String,
    /// Review rounds that asked for changes: send-backs a reviewer would have needed.
    pub send_backs: u32,
    /// What the model calls cost, in micro-dollars.
    pub cost_micros: u64,
    /// Wall time, in milliseconds.
    pub millis: u64,
    /// Lines added and removed by the change.
    pub diff_lines: u64,
}

/// One version's column of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRun {
    /// The version's hash.
    pub version: String,
    /// One outcome per case, in the cases' order.
    pub outcomes: Vec<ReplayOutcome>,
}

impl VersionRun {
    /// Cases resolved.
    pub fn resolved(&self) -> usize {
        self.outcomes.iter().filter(|o| o.resolved).count()
    }

    /// Send-backs over every case.
    pub fn send_backs(&self) -> u32 {
        self.outcomes.iter().map(|o| o.send_backs).sum()
    }

    /// Cost over every case, in micro-dollars.
    pub fn cost_micros(&self) -> u64 {
        self.outcomes.iter().map(|o| o.cost_micros).sum()
    }

    /// Wall time over every case, in milliseconds.
    pub fn millis(&self) -> u64 {
        self.outcomes.iter().map(|o| o.millis).sum()
    }

    /// Changed lines over every case.
    pub fn diff_lines(&self) -> u64 {
        self.outcomes.iter().map(|o| o.diff_lines).sum()
    }
}

/// A version-level evidence matrix: the same cases replayed with a proposal and with the active
/// version it would replace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionEvaluation {
    /// When it finished.
    pub at: Timestamp,
    /// The model it ran on (`provider/model`).
    pub model: String,
    /// The budget it was given, in micro-dollars (0: none).
    pub budget_micros: u64,
    /// The cases, in order.
    pub cases: Vec<ReplayCase>,
    /// The proposal's column.
    pub proposal: VersionRun,
    /// The active version's column.
    pub baseline: VersionRun,
}

impl VersionEvaluation {
    /// Cases the baseline resolved and the proposal did not.
    pub fn regressions(&self) -> Vec<&ReplayCase> {
        self.cases
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                let was = self.baseline.outcomes.get(*i).is_some_and(|o| o.resolved);
                let now = self.proposal.outcomes.get(*i).is_some_and(|o| o.resolved);
                was && !now
            })
            .map(|(_, case)| case)
            .collect()
    }

    /// Exhibits the proposal left broken.
    pub fn failed_exhibits(&self) -> Vec<&ReplayCase> {
        self.cases
            .iter()
            .zip(&self.proposal.outcomes)
            .filter(|(case, outcome)| matches!(case.source, ReplaySource::Exhibit { .. }) && !outcome.resolved)
            .map(|(case, _)| case)
            .collect()
    }
}

/// One promotion criterion of the reference architecture, judged on the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    /// The criterion, as the architecture words it.
    pub name: String,
    /// Whether the evidence meets it.
    pub met: bool,
    /// The evidence, in a sentence.
    pub evidence: String,
}

/// The promotion criteria for `version`, judged on its evaluation (none: most are not met) and
/// the class tasks its author won.
pub fn promotion_criteria(version: &PlaybookVersion) -> Vec<Criterion> {
    let criterion = |name: &str, met: bool, evidence: String| Criterion { name: name.to_owned(), met, evidence };
    let Some(eval) = version.evaluation.as_deref() else {
        let none = || "no shadow evaluation yet: run `ambidex playbook evaluate`".to_owned();
        return vec![
            criterion("passes the relevant evals", false, none()),
            criterion("improves correctness, speed, test quality, review quality or risk detection", false, none()),
            criterion("works across several tasks of the class", false, none()),
            criterion("does not increase defects or review burden", false, none()),
            rollback_path(version),
            ownership(version),
        ];
    };
    let (new, old) = (&eval.proposal, &eval.baseline);
    let failed = eval.failed_exhibits();
    let exhibits = eval.cases.iter().filter(|c| matches!(c.source, ReplaySource::Exhibit { .. })).count();
    let tasks = eval.cases.len() - exhibits;
    let regressions = eval.regressions();
    let better = new.resolved() > old.resolved()
        || (new.resolved() == old.resolved()
            && (new.send_backs() < old.send_backs()
                || new.millis() < old.millis()
                || new.cost_micros() < old.cost_micros()));
    let strategy_wins = match &version.author {
        Author::Strategy { tasks, .. } => tasks.len(),
        _ => 0,
    };
    vec![
        criterion(
            "passes the relevant evals",
            failed.is_empty() && regressions.is_empty(),
            format!(
                "{} of {exhibits} museum exhibits held, {} regression(s) against the active version",
                exhibits - failed.len(),
                regressions.len()
            ),
        ),
        criterion(
            "improves correctness, speed, test quality, review quality or risk detection",
            better,
            format!(
                "resolved {} vs {}, send-backs {} vs {}, {:.1}s vs {:.1}s",
                new.resolved(),
                old.resolved(),
                new.send_backs(),
                old.send_backs(),
                new.millis() as f64 / 1000.0,
                old.millis() as f64 / 1000.0
            ),
        ),
        criterion(
            "works across several tasks of the class",
            new.outcomes.iter().skip(exhibits).filter(|o| o.resolved).count() >= 2.min(tasks.max(1))
                || strategy_wins >= 3,
            format!(
                "{} of {tasks} held-out tasks resolved{}",
                new.outcomes
                    .iter()
                    .zip(&eval.cases)
                    .filter(|(o, c)| o.resolved && matches!(c.source, ReplaySource::Task { .. }))
                    .count(),
                if strategy_wins > 0 { format!("; won {strategy_wins} tasks in exploration") } else { String::new() }
            ),
        ),
        criterion(
            "does not increase defects or review burden",
            regressions.is_empty() && new.send_backs() <= old.send_backs(),
            format!("{} regression(s); send-backs {} vs {}", regressions.len(), new.send_backs(), old.send_backs()),
        ),
        rollback_path(version),
        ownership(version),
    ]
}

fn rollback_path(version: &PlaybookVersion) -> Criterion {
    Criterion {
        name: "has a rollback path".into(),
        met: version.parent.is_some(),
        evidence: match &version.parent {
            Some(parent) => format!("`ambidex playbook rollback` restores {}", parent.get(..12).unwrap_or(parent)),
            None => "no parent version to go back to".into(),
        },
    }
}

fn ownership(version: &PlaybookVersion) -> Criterion {
    Criterion {
        name: "is versioned with clear ownership".into(),
        met: true,
        evidence: format!("{} by {}", version.short(), version.author),
    }
}

/// How much a class may do without a human's approval, one step at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutonomyLevel {
    /// The policy's gates, as written.
    #[default]
    Supervised,
    /// The plan gate is skipped for the class's tasks below high risk (a sensitive area or a
    /// destructive plan still opens it).
    TrustedPlan,
    /// The plan gate and the pull-request gate are skipped for the class's tasks below high
    /// risk; the PR is still a draft a human merges.
    TrustedPr,
}

impl AutonomyLevel {
    /// Whether it is the policy as written.
    pub fn is_supervised(&self) -> bool {
        *self == AutonomyLevel::Supervised
    }

    /// The next level up, if any.
    pub fn next(self) -> Option<AutonomyLevel> {
        match self {
            AutonomyLevel::Supervised => Some(AutonomyLevel::TrustedPlan),
            AutonomyLevel::TrustedPlan => Some(AutonomyLevel::TrustedPr),
            AutonomyLevel::TrustedPr => None,
        }
    }

    /// What it lets the class skip, in words.
    pub fn describe(self) -> &'static str {
        match self {
            AutonomyLevel::Supervised => "every gate policy requires",
            AutonomyLevel::TrustedPlan => "no plan gate below high risk",
            AutonomyLevel::TrustedPr => "no plan or pull-request gate below high risk",
        }
    }
}

impl std::fmt::Display for AutonomyLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AutonomyLevel::Supervised => "supervised",
            AutonomyLevel::TrustedPlan => "trusted_plan",
            AutonomyLevel::TrustedPr => "trusted_pr",
        })
    }
}

/// The numbers an autonomy decision stood on: the class's metrics over the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutonomyEvidence {
    /// The window's length, in days.
    pub window_days: u32,
    /// Tasks of the class that finished in the window.
    pub finished: u64,
    /// Their completion rate.
    pub completion_rate: Option<f64>,
    /// Escaped defects among them.
    pub escaped_defects: u64,
    /// Send-backs per reviewed task.
    pub send_backs_per_task: Option<f64>,
}

/// What happened to a class's autonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutonomyChange {
    /// The class's metrics passed the thresholds: a human may grant the next level.
    Proposed,
    /// A human granted the proposed level.
    Granted,
    /// A human declined the proposal.
    Declined,
    /// A regression put the class back under every gate.
    Tightened,
}

/// A class's autonomy as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutonomyState {
    /// The class.
    pub class: TaskKind,
    /// Its level now.
    pub level: AutonomyLevel,
    /// A level proposed and waiting for a human, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed: Option<AutonomyLevel>,
    /// The evidence of the last change.
    pub evidence: AutonomyEvidence,
    /// Why it last changed.
    pub reason: String,
    /// When it last changed.
    pub at: Timestamp,
    /// When its level took effect: the tasks since then ran at it.
    pub since: Timestamp,
}

/// A change to a class's autonomy a client asks for (a human only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum AutonomyEdit {
    /// Grant the level proposed for the class.
    Grant {
        /// The class.
        class: TaskKind,
    },
    /// Decline the proposal.
    Decline {
        /// The class.
        class: TaskKind,
        /// Why.
        #[serde(default)]
        reason: String,
    },
    /// Put the class back under every gate.
    Tighten {
        /// The class.
        class: TaskKind,
        /// Why.
        reason: String,
    },
}
