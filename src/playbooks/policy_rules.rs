//! The intake, classification, risk, novelty, routing, budget and gate sections of
//! `playbooks/policy.toml`: their types, the text and path matchers they compile to, and the checks
//! made when the policy loads.
//!
//! Text rules match a normalized copy of the task's text ([`Text`]): lowercase words of letters and
//! digits, apostrophes dropped, every other character a word break. Keywords match whole words (a
//! word ending in `*` matches by prefix); regexes see the normalized text, words joined by single
//! spaces. Globs are matched against repository-relative paths, `/`-separated, case-insensitively.
//!
//! A section a policy file omits takes the shipped policy's section, so older files still load.

mod matching;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::protocol::{Risk, TaskKind};

use matching::{Compiled, Globs};
pub use matching::{Hit, Phrases, Text};

// --- [intake] ---------------------------------------------------------------------------------------

/// `[intake]`: when a task is vague, unsafe or too broad.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeRules {
    /// The fewest words the objective (title plus description) may have.
    pub min_objective_words: usize,
    /// The fewest characters the objective may have.
    pub min_objective_chars: usize,
    /// Whether a task without acceptance criteria needs clarification.
    pub require_acceptance_criteria: bool,
    /// A criterion with fewer words cannot be checked.
    pub min_criterion_words: usize,
    /// Words dropped before comparing with the generic phrases.
    #[serde(default)]
    pub filler_words: Vec<String>,
    /// Objectives that say nothing specific ("fix it", "make it better").
    #[serde(default)]
    pub generic_objectives: Vec<String>,
    /// Acceptance criteria that cannot be checked ("works", "looks good").
    #[serde(default)]
    pub generic_criteria: Vec<String>,
    /// Words that, shortly before a text rule's match, cancel it ("do not push to main").
    #[serde(default)]
    pub negations: Vec<String>,
    /// How many words before a match a negation counts.
    pub negation_window: usize,
    /// Phrases that try to change the process; they are reported and ignored, never obeyed.
    #[serde(default)]
    pub ignored_directives: Vec<String>,
    /// Rules that reject a task outright.
    #[serde(default, rename = "unsafe")]
    pub unsafe_rules: Vec<UnsafeRule>,
    /// When a task is too broad.
    pub broad: BroadRules,
    #[serde(skip)]
    compiled: Compiled<IntakeCompiled>,
}

#[derive(Debug, Clone)]
struct IntakeCompiled {
    fillers: BTreeSet<String>,
    generic_objectives: BTreeSet<String>,
    generic_criteria: BTreeSet<String>,
    negations: Vec<String>,
    ignored: Phrases,
}

impl IntakeRules {
    fn build(&self) -> Result<IntakeCompiled, String> {
        let fillers: BTreeSet<String> = self.filler_words.iter().flat_map(|w| Text::new(w).words).collect();
        let generic = |list: &[String]| list.iter().map(|p| Text::new(p).without(&fillers)).collect::<BTreeSet<_>>();
        Ok(IntakeCompiled {
            generic_objectives: generic(&self.generic_objectives),
            generic_criteria: generic(&self.generic_criteria),
            negations: self.negations.iter().flat_map(|w| Text::new(w).words).collect(),
            ignored: Phrases::compile(&self.ignored_directives, &[])
                .map_err(|err| format!("intake.ignored_directives: {err}"))?,
            fillers,
        })
    }

    fn compiled(&self) -> &IntakeCompiled {
        self.compiled.get_or(|| {
            self.build().unwrap_or_else(|_| IntakeCompiled {
                fillers: BTreeSet::new(),
                generic_objectives: BTreeSet::new(),
                generic_criteria: BTreeSet::new(),
                negations: Vec::new(),
                ignored: Phrases::lenient(&self.ignored_directives, &[]),
            })
        })
    }

    /// Whether `text`, without filler words, is one of the generic objectives (or empty).
    pub fn is_generic_objective(&self, text: &Text) -> bool {
        let compiled = self.compiled();
        let core = text.without(&compiled.fillers);
        core.is_empty() || compiled.generic_objectives.contains(&core)
    }

    /// Whether the criterion `text` cannot be checked: too short or generic.
    pub fn is_weak_criterion(&self, text: &Text) -> bool {
        let compiled = self.compiled();
        let core = text.without(&compiled.fillers);
        text.words().len() < self.min_criterion_words || core.is_empty() || compiled.generic_criteria.contains(&core)
    }

    /// Whether a negation shortly before `hit` cancels it.
    pub fn negated(&self, text: &Text, hit: &Hit) -> bool {
        text.negated(hit.word, &self.compiled().negations, self.negation_window)
    }

    /// The compiled `ignored_directives`.
    pub fn ignored(&self) -> &Phrases {
        &self.compiled().ignored
    }
}

/// `[[intake.unsafe]]`: a rule that rejects a task.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsafeRule {
    /// Its name, quoted in the rejection.
    pub name: String,
    /// Why such tasks are refused.
    pub justification: String,
    /// Keywords (whole words, `*` for a prefix).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Regexes over the normalized text.
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(skip)]
    compiled: Compiled<Phrases>,
}

impl UnsafeRule {
    /// The compiled keywords and regexes.
    pub fn phrases(&self) -> &Phrases {
        self.compiled.get_or(|| Phrases::lenient(&self.keywords, &self.regexes))
    }
}

/// `[intake.broad]`: when a task should be split.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BroadRules {
    /// Keywords that mean "too much at once".
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Regexes over the normalized text.
    #[serde(default)]
    pub regexes: Vec<String>,
    /// The most distinct paths a task may name.
    pub max_listed_paths: usize,
    /// The most acceptance criteria a task may have.
    pub max_acceptance_criteria: usize,
    /// The largest estimated diff (see [`SizeRules`]).
    pub max_estimated_diff_lines: u64,
    /// The most sub-tasks a suggested split lists.
    pub max_split: usize,
    #[serde(skip)]
    compiled: Compiled<Phrases>,
}

impl BroadRules {
    /// The compiled keywords and regexes.
    pub fn phrases(&self) -> &Phrases {
        self.compiled.get_or(|| Phrases::lenient(&self.keywords, &self.regexes))
    }
}

// --- [classify] -------------------------------------------------------------------------------------

/// `[classify]`: keywords that name a task's kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyRules {
    /// How many times a keyword in the title counts (elsewhere: once).
    pub title_weight: u32,
    /// The kinds, in order of precedence (ties go to the first).
    #[serde(default, rename = "kind")]
    pub kinds: Vec<KindRule>,
}

/// `[[classify.kind]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindRule {
    /// The kind.
    pub kind: TaskKind,
    /// Keywords that point to it.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Regexes that point to it.
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(skip)]
    compiled: Compiled<Phrases>,
}

impl KindRule {
    /// The compiled keywords and regexes.
    pub fn phrases(&self) -> &Phrases {
        self.compiled.get_or(|| Phrases::lenient(&self.keywords, &self.regexes))
    }
}

// --- [risk] -----------------------------------------------------------------------------------------

/// `[risk]`: what raises a task's risk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskRules {
    /// Size thresholds and the size estimate.
    pub size: SizeRules,
    /// Churn of the likely files.
    pub churn: ChurnRule,
    /// The lowest risk per kind.
    #[serde(default)]
    pub kinds: BTreeMap<TaskKind, Risk>,
    /// Sensitive and risky areas.
    #[serde(default, rename = "area")]
    pub areas: Vec<AreaRule>,
    /// Destructive intent in the task's text: each match raises the risk and requires the plan
    /// gate.
    #[serde(default, rename = "destructive")]
    pub destructive: Vec<DestructiveRule>,
}

/// `[[risk.destructive]]`: a destructive request a human may really want ("remove the CI",
/// "disable the linter"). It is accepted, but at a higher risk and behind the plan gate, with the
/// rule named in the reasons. (What no human should ask an agent for is `[[intake.unsafe]]`.)
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestructiveRule {
    /// Its name, quoted in the reasons.
    pub name: String,
    /// Why such a task needs a human's eye on its plan.
    pub justification: String,
    /// The lowest risk of a task that matches (default: high).
    #[serde(default = "high")]
    pub floor: Risk,
    /// Keywords (whole words, `*` for a prefix).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Regexes over the normalized text.
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(skip)]
    compiled: Compiled<Phrases>,
}

fn high() -> Risk {
    Risk::High
}

impl DestructiveRule {
    /// The compiled keywords and regexes.
    pub fn phrases(&self) -> &Phrases {
        self.compiled.get_or(|| Phrases::lenient(&self.keywords, &self.regexes))
    }
}

/// `[risk.size]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeRules {
    /// Estimated diff lines per likely file.
    pub lines_per_file: u64,
    /// Estimated diff lines per acceptance criterion.
    pub lines_per_criterion: u64,
    /// This many files or more is at least medium risk.
    pub medium_files: usize,
    /// This many files or more is at least high risk.
    pub high_files: usize,
    /// This many estimated diff lines or more is at least medium risk.
    pub medium_diff_lines: u64,
    /// This many estimated diff lines or more is at least high risk.
    pub high_diff_lines: u64,
    /// Touching this share (percent) of a repository of 20+ files is at least high risk.
    pub high_share_percent: u32,
}

/// `[risk.churn]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChurnRule {
    /// A likely file touched by this many recent commits or more (0: never)…
    pub commits: u32,
    /// …raises risk to at least this.
    pub floor: Risk,
}

/// `[[risk.area]]`: a risky part of a codebase, found by path globs and text rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaRule {
    /// Its name (`migrations`, `auth`, …), also the name of its gate.
    pub name: String,
    /// The lowest risk of a task in this area.
    pub floor: Risk,
    /// Whether a change here needs a human's approval (and exploration).
    pub sensitive: bool,
    /// Whether a task here is routed to exploration (default: `sensitive`).
    #[serde(default)]
    pub explore: Option<bool>,
    /// Path globs.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Keywords.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Regexes over the normalized text.
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(skip)]
    compiled: Compiled<AreaMatcher>,
}

#[derive(Debug, Clone)]
struct AreaMatcher {
    globs: Globs,
    phrases: Phrases,
}

impl AreaRule {
    fn build(&self) -> Result<AreaMatcher, String> {
        Ok(AreaMatcher {
            globs: Globs::compile(&self.paths)?,
            phrases: Phrases::compile(&self.keywords, &self.regexes)?,
        })
    }

    fn matcher(&self) -> &AreaMatcher {
        self.compiled.get_or(|| AreaMatcher {
            globs: Globs::lenient(&self.paths),
            phrases: Phrases::lenient(&self.keywords, &self.regexes),
        })
    }

    /// Whether a task in this area is routed to exploration.
    pub fn explores(&self) -> bool {
        self.explore.unwrap_or(self.sensitive)
    }

    /// The first glob that `path` (repository-relative) matches.
    pub fn matching_glob(&self, path: &str) -> Option<&str> {
        self.matcher().globs.first_match(path.trim_start_matches("./"))
    }

    /// The compiled keywords and regexes.
    pub fn phrases(&self) -> &Phrases {
        &self.matcher().phrases
    }
}

// --- [novelty] and [routing] ------------------------------------------------------------------------

/// `[novelty]`: points (the sum is capped at 100) for what makes a task unfamiliar.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoveltyRules {
    /// No playbook for the task's kind.
    pub no_playbook: u32,
    /// No similar past task.
    pub no_similar_tasks: u32,
    /// Each similar past task that failed…
    pub per_similar_failure: u32,
    /// …up to this many points in all.
    pub max_for_failures: u32,
    /// No acceptance criteria.
    pub missing_criteria: u32,
    /// Some acceptance criteria cannot be checked.
    pub weak_criteria: u32,
    /// Nothing in the repository matches what the task names.
    pub no_likely_files: u32,
    /// No recent commit touched the likely files.
    pub unfamiliar_files: u32,
}

/// `[routing]`: the exploration triggers. Any one routes a task to both hands.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRules {
    /// Novelty at or above this explores.
    pub novelty_at_or_above: u8,
    /// A likely file with this many recent commits or more explores (0: never).
    pub churn_at_or_above: u32,
    /// Risk at or above this explores (absent: risk alone never does).
    #[serde(default)]
    pub risk_at_or_above: Option<Risk>,
    /// This many similar past failures or more explores (0: never).
    pub failures_at_or_above: u32,
    /// Missing or uncheckable acceptance criteria explore.
    pub missing_criteria: bool,
    /// A sensitive area explores.
    pub sensitive_areas: bool,
    /// Kinds that always explore.
    #[serde(default)]
    pub explore_kinds: Vec<TaskKind>,
}

// --- [budgets] --------------------------------------------------------------------------------------

/// The limits a budget counts against (tool calls, files, diff lines, time); `None` means
/// unlimited. [`BudgetRules`] makes them from the policy; `tools::budget` counts usage against them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetLimits {
    /// Tool calls.
    pub tool_calls: Option<u64>,
    /// Distinct files changed.
    pub files_changed: Option<u64>,
    /// Lines added plus removed against the base.
    pub diff_lines: Option<u64>,
    /// Seconds since the budget started.
    pub wall_time_secs: Option<u64>,
}

/// `[budgets]`: one set of budgets per risk level.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetRules {
    /// For low-risk tasks.
    pub low: Budgets,
    /// For medium-risk tasks.
    pub medium: Budgets,
    /// For high-risk tasks.
    pub high: Budgets,
    /// For critical tasks.
    pub critical: Budgets,
}

impl BudgetRules {
    /// The budgets of a risk level.
    pub fn for_risk(&self, risk: Risk) -> &Budgets {
        match risk {
            Risk::Low => &self.low,
            Risk::Medium => &self.medium,
            Risk::High => &self.high,
            Risk::Critical => &self.critical,
        }
    }
}

/// The budgets of one task (and, for tool calls, of each of its agents).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    /// Seconds of wall time.
    pub wall_time_secs: u64,
    /// Model tokens, input plus output.
    pub max_tokens: u64,
    /// Model cost in US dollars.
    pub max_cost_usd: f64,
    /// Tool calls by all agents together.
    pub tool_calls: u64,
    /// Retries of a failed stage.
    pub retries: u32,
    /// Distinct files changed.
    pub files_changed: u64,
    /// Diff lines (added plus removed).
    pub diff_lines: u64,
    /// Tool calls by one agent.
    pub agent_tool_calls: u64,
}

// The cost is checked to be a finite number when the policy loads, so equality is reflexive.
impl Eq for Budgets {}

impl Budgets {
    /// The limits for the task as a whole.
    pub fn task_limits(&self) -> BudgetLimits {
        BudgetLimits {
            tool_calls: Some(self.tool_calls),
            files_changed: Some(self.files_changed),
            diff_lines: Some(self.diff_lines),
            wall_time_secs: Some(self.wall_time_secs),
        }
    }

    /// The limits for one agent: its own tool calls, within the task's files, diff and time.
    pub fn agent_limits(&self) -> BudgetLimits {
        BudgetLimits { tool_calls: Some(self.agent_tool_calls.min(self.tool_calls)), ..self.task_limits() }
    }

    /// The cost limit in micro-dollars, as usage events count it.
    pub fn max_cost_micros(&self) -> u64 {
        (self.max_cost_usd.max(0.0) * 1e6).round() as u64
    }

    /// The budgets in words.
    pub fn summary(&self) -> String {
        let minutes = self.wall_time_secs / 60;
        let time = if minutes >= 60 && minutes.is_multiple_of(60) {
            format!("{} h", minutes / 60)
        } else if self.wall_time_secs.is_multiple_of(60) {
            format!("{minutes} min")
        } else {
            format!("{} s", self.wall_time_secs)
        };
        format!(
            "wall time {time}, {} tokens, ${:.2}, {} tool calls ({} per agent), {} retries, \
             {} files changed, {} diff lines",
            self.max_tokens,
            self.max_cost_usd,
            self.tool_calls,
            self.agent_tool_calls,
            self.retries,
            self.files_changed,
            self.diff_lines
        )
    }
}

// --- [gates] ----------------------------------------------------------------------------------------

/// `[gates]`: which human approvals policy requires. Merging and deploying are never done at all.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateRules {
    /// Plans of tasks at or above this risk need approval.
    pub plan_at_or_above: Risk,
    /// Creating the pull request needs approval.
    pub pr: bool,
    /// A change in a sensitive area needs approval.
    pub sensitive_areas: bool,
    /// Promoting an exploratory result needs approval.
    pub promotion: bool,
    /// Automatic approval (`--approve`, approve-for-task) never grows a task's budgets beyond this
    /// multiple of its risk level's; a budget gate past it waits for a human.
    #[serde(default = "default_auto_budget_multiple")]
    pub auto_budget_multiple: u64,
    /// Automatic approval approves at most this many escalations per task; the next one waits for
    /// a human.
    #[serde(default = "default_auto_escalations")]
    pub auto_escalations: u32,
}

fn default_auto_budget_multiple() -> u64 {
    4
}

fn default_auto_escalations() -> u32 {
    2
}

// --- checks at load -----------------------------------------------------------------------------------

/// A rule that cannot be used, and where to look for it in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RuleError {
    pub message: String,
    /// The line that starts the rule, without whitespace, in its accepted spellings
    /// (`name="auth"`, `name='auth'`, `[budgets.low]`).
    anchor: Vec<String>,
    /// Text to find at or after the anchor (a glob, a regex).
    needle: Option<String>,
}

impl RuleError {
    fn new(message: String) -> RuleError {
        RuleError { message, anchor: Vec::new(), needle: None }
    }

    fn at(mut self, key: &str, value: &str) -> RuleError {
        self.anchor = vec![format!("{key}=\"{value}\""), format!("{key}='{value}'")];
        self
    }

    fn in_table(mut self, table: &str) -> RuleError {
        self.anchor = vec![format!("[{table}]")];
        self
    }

    fn near(mut self, needle: &str) -> RuleError {
        self.needle = Some(needle.to_owned());
        self
    }

    /// The 1-based line in `text` where the problem is, when it can be found.
    pub fn line_in(&self, text: &str) -> Option<usize> {
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.iter().position(|line| {
            let squeezed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            self.anchor.contains(&squeezed)
        });
        let found = match &self.needle {
            Some(needle) => lines
                .iter()
                .enumerate()
                .skip(start.unwrap_or(0))
                .find(|(_, line)| line.contains(needle.as_str()))
                .map(|(i, _)| i)
                .or(start),
            None => start,
        };
        found.map(|i| i + 1)
    }
}

fn bad_pattern(message: String, section: &str, name: &str) -> RuleError {
    // The message quotes the pattern between backticks: point at its line.
    let needle = message.split('`').nth(1).unwrap_or_default().to_owned();
    let error = RuleError::new(format!("{section} `{name}`: {message}")).at("name", name);
    if needle.is_empty() { error } else { error.near(&needle) }
}

/// A named rule of phrases with a justification (`[[intake.unsafe]]`, `[[risk.destructive]]`), as
/// its checks see it.
struct NamedPhrases<'a> {
    section: &'static str,
    name: &'a str,
    justification: &'a str,
}

impl<'a> NamedPhrases<'a> {
    /// Checks the rule (its name unique in `names`, a justification, something to match) and
    /// compiles its keywords and regexes.
    fn compile(
        &self,
        names: &mut BTreeSet<&'a str>,
        keywords: &[String],
        regexes: &[String],
    ) -> Result<Phrases, RuleError> {
        let (section, name) = (self.section, self.name);
        if !names.insert(name) {
            return Err(RuleError::new(format!("{section} `{name}` is defined twice")).at("name", name));
        }
        if self.justification.trim().is_empty() || (keywords.is_empty() && regexes.is_empty()) {
            return Err(RuleError::new(format!(
                "{section} `{name}` needs a justification and at least one keyword or regex"
            ))
            .at("name", name));
        }
        Phrases::compile(keywords, regexes).map_err(|err| bad_pattern(err, section, name))
    }
}

/// Compiles every matcher (so matching never compiles again) and checks the values; the first
/// problem names its rule.
pub(super) fn check(policy: &super::Policy) -> Result<(), RuleError> {
    let intake = &policy.intake;
    intake.compiled.set(intake.build().map_err(RuleError::new)?);
    if intake.negation_window > 10 {
        return Err(RuleError::new(format!(
            "intake.negation_window is {}; at most 10 words make sense",
            intake.negation_window
        )));
    }
    let mut names = BTreeSet::new();
    for rule in &intake.unsafe_rules {
        let named = NamedPhrases { section: "intake.unsafe", name: &rule.name, justification: &rule.justification };
        rule.compiled.set(named.compile(&mut names, &rule.keywords, &rule.regexes)?);
    }
    let broad = &intake.broad;
    let phrases = Phrases::compile(&broad.keywords, &broad.regexes).map_err(|err| {
        let needle = err.split('`').nth(1).unwrap_or_default().to_owned();
        RuleError::new(format!("intake.broad: {err}")).near(&needle)
    })?;
    broad.compiled.set(phrases);

    let mut kinds = BTreeSet::new();
    for rule in &policy.classify.kinds {
        if !kinds.insert(rule.kind) {
            return Err(RuleError::new(format!("classify.kind `{}` is defined twice", rule.kind))
                .at("kind", rule.kind.as_str()));
        }
        let phrases = Phrases::compile(&rule.keywords, &rule.regexes).map_err(|err| {
            let needle = err.split('`').nth(1).unwrap_or_default().to_owned();
            RuleError::new(format!("classify.kind `{}`: {err}", rule.kind)).at("kind", rule.kind.as_str()).near(&needle)
        })?;
        rule.compiled.set(phrases);
    }

    let mut areas = BTreeSet::new();
    for area in &policy.risk.areas {
        if !areas.insert(area.name.as_str()) {
            return Err(RuleError::new(format!("risk.area `{}` is defined twice", area.name)).at("name", &area.name));
        }
        if area.paths.is_empty() && area.keywords.is_empty() && area.regexes.is_empty() {
            return Err(RuleError::new(format!(
                "risk.area `{}` needs at least one path glob, keyword or regex",
                area.name
            ))
            .at("name", &area.name));
        }
        let matcher = area.build().map_err(|err| bad_pattern(err, "risk.area", &area.name))?;
        area.compiled.set(matcher);
    }

    let mut destructive = BTreeSet::new();
    for rule in &policy.risk.destructive {
        let named = NamedPhrases { section: "risk.destructive", name: &rule.name, justification: &rule.justification };
        rule.compiled.set(named.compile(&mut destructive, &rule.keywords, &rule.regexes)?);
    }

    for (level, budgets) in [
        ("low", &policy.budgets.low),
        ("medium", &policy.budgets.medium),
        ("high", &policy.budgets.high),
        ("critical", &policy.budgets.critical),
    ] {
        if !budgets.max_cost_usd.is_finite() || budgets.max_cost_usd < 0.0 {
            return Err(RuleError::new(format!("budgets.{level}.max_cost_usd must be a number of dollars, 0 or more"))
                .in_table(&format!("budgets.{level}"))
                .near("max_cost_usd"));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "policy_rules_tests.rs"]
mod tests;
