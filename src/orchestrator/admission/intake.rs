//! Intake: the deterministic check every task passes before triage.
//!
//! [`assess`] applies the `[intake]` rules of the policy in a fixed order: an unsafe task is
//! rejected (naming the rule and its justification), a too-broad one escalated with a suggested
//! split, a vague one sent back with the questions to answer; anything else is accepted. Text is
//! matched in normalized form (see [`crate::playbooks::Text`]) over the title, description,
//! acceptance criteria, constraints and labels, so case and punctuation do not matter.
//!
//! A destructive request a human may really want ("remove the CI") is accepted with a note: triage
//! raises its risk and requires the plan gate (`[[risk.destructive]]`). A bug report without
//! acceptance criteria that states the expected value ("returns 2 instead of 3") is not sent back:
//! the criterion is proposed in the reasons (`proposed acceptance criterion: …`) and the agents
//! read it marked as proposed.
//!
//! Task text never changes the process. A phrase that tries to waive review, tests or gates is
//! either an unsafe rule (rejected) or an ignored directive (reported, never obeyed): gates,
//! validation and review come from the policy alone. A model may add to an assessment
//! ([`Assessment::with_model`]) but never overrule a stricter verdict.

use std::collections::BTreeMap;

use crate::playbooks::{DestructiveRule, Policy, Text};
use crate::protocol::{EventKind, IntakeVerdict, ProposedCriterion, TaskSpec};

use super::signals::{Signals, mentioned_identifiers, mentioned_paths};
use super::triage::estimate_size;

/// Intake's verdict on a task, with everything the user needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The outcome.
    pub verdict: IntakeVerdict,
    /// Why, one reason per line, naming the rule that matched.
    pub reasons: Vec<String>,
    /// What the user should answer before resubmitting.
    pub questions: Vec<String>,
    /// Smaller tasks to submit instead (for an escalated task).
    pub suggested_split: Vec<String>,
    /// The content hash of the policy that decided.
    pub policy_version: String,
}

impl Assessment {
    /// The event that records it.
    pub fn to_event(&self) -> EventKind {
        EventKind::IntakeAssessed {
            verdict: self.verdict,
            reasons: self.reasons.clone(),
            questions: self.questions.clone(),
            suggested_split: self.suggested_split.clone(),
        }
    }

    /// Whether the task goes on to triage.
    pub fn is_accepted(&self) -> bool {
        self.verdict == IntakeVerdict::Accepted
    }

    /// Adds a model's assessment to this one: the stricter verdict wins (rejected > escalated >
    /// needs clarification > accepted), so a model can add concerns but never overrule a rule.
    /// Its reasons, questions and split are appended, marked as the model's.
    pub fn with_model(mut self, model: Assessment) -> Assessment {
        if strictness(model.verdict) > strictness(self.verdict) {
            self.verdict = model.verdict;
        }
        let mark = |items: Vec<String>| items.into_iter().map(|item| format!("model: {item}"));
        self.reasons.extend(mark(model.reasons));
        self.questions.extend(mark(model.questions));
        if self.suggested_split.is_empty() {
            self.suggested_split = model.suggested_split;
        }
        self
    }
}

fn strictness(verdict: IntakeVerdict) -> u8 {
    match verdict {
        IntakeVerdict::Accepted => 0,
        IntakeVerdict::NeedsClarification => 1,
        IntakeVerdict::Escalated => 2,
        IntakeVerdict::Rejected => 3,
    }
}

/// How checkable a task's acceptance criteria are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Criteria {
    /// There are none.
    Missing,
    /// These (1-based index, text) cannot be checked: too short or generic.
    Weak(Vec<(usize, String)>),
    /// Every criterion can be checked.
    Present,
}

impl Criteria {
    /// Judges `spec`'s acceptance criteria by `policy`.
    pub fn of(spec: &TaskSpec, policy: &Policy) -> Criteria {
        let given: Vec<&String> = spec.acceptance_criteria.iter().filter(|c| !c.trim().is_empty()).collect();
        if given.is_empty() {
            return Criteria::Missing;
        }
        let weak: Vec<(usize, String)> = spec
            .acceptance_criteria
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.trim().is_empty())
            .filter(|(_, c)| policy.intake.is_weak_criterion(&Text::new(c)))
            .map(|(i, c)| (i + 1, c.trim().to_owned()))
            .collect();
        if weak.is_empty() { Criteria::Present } else { Criteria::Weak(weak) }
    }
}

/// A named part of a task's text, normalized.
pub(crate) struct Field {
    /// `title`, `description`, `acceptance criterion 2`, `constraint 1`, `label`.
    pub name: String,
    pub text: Text,
}

/// The fields intake reads: everything but `out_of_scope` (which says what not to do).
pub(crate) fn fields(spec: &TaskSpec) -> Vec<Field> {
    let mut fields = vec![
        Field { name: "title".into(), text: Text::new(&spec.title) },
        Field { name: "description".into(), text: Text::new(&spec.description) },
    ];
    let numbered = |what: &str, items: &[String]| -> Vec<Field> {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| Field { name: format!("{what} {}", i + 1), text: Text::new(item) })
            .collect()
    };
    fields.extend(numbered("acceptance criterion", &spec.acceptance_criteria));
    fields.extend(numbered("constraint", &spec.constraints));
    fields.extend(spec.labels.iter().map(|label| Field { name: "label".into(), text: Text::new(label) }));
    fields.retain(|field| !field.text.is_empty());
    fields
}

/// A destructive rule that matched a task: where, and on which words.
pub(crate) struct DestructiveMatch<'a> {
    /// The rule.
    pub rule: &'a DestructiveRule,
    /// The field it matched in.
    pub field: String,
    /// The normalized words it matched.
    pub matched: String,
}

impl DestructiveMatch<'_> {
    /// `rule `remove_ci` (risk.destructive) matched "remove the ci" in the title`.
    pub fn describe(&self) -> String {
        format!("rule `{}` (risk.destructive) matched \"{}\" in the {}", self.rule.name, self.matched, self.field)
    }
}

/// The `[[risk.destructive]]` rules the task's text matches, each at its first match that no
/// negation cancels ("do not delete the tests" is no request to delete them).
pub(crate) fn destructive<'a>(spec: &TaskSpec, policy: &'a Policy) -> Vec<DestructiveMatch<'a>> {
    let fields = fields(spec);
    let rules = &policy.intake;
    policy
        .risk
        .destructive
        .iter()
        .filter_map(|rule| {
            fields.iter().find_map(|field| {
                rule.phrases()
                    .find(&field.text)
                    .into_iter()
                    .find(|hit| !rules.negated(&field.text, hit))
                    .map(|hit| DestructiveMatch { rule, field: field.name.clone(), matched: hit.matched })
            })
        })
        .collect()
}

/// The reason that records a proposed acceptance criterion.
fn proposal_reason(proposal: &ProposedCriterion) -> String {
    format!(
        "proposed acceptance criterion: {} (from \"{}\" in the {}: the report states the expected \
         value; the agents read it as proposed, add criteria of your own to replace it)",
        proposal.text, proposal.quote, proposal.field
    )
}

/// Checks a task against the policy's `[intake]` rules.
pub fn assess(spec: &TaskSpec, policy: &Policy) -> Assessment {
    let fields = fields(spec);
    let rules = &policy.intake;
    let ignored = ignored_directives(&fields, policy);
    let short = &policy.version[..policy.version.len().min(12)];
    let mut assessment = Assessment {
        verdict: IntakeVerdict::Accepted,
        reasons: Vec::new(),
        questions: Vec::new(),
        suggested_split: Vec::new(),
        policy_version: policy.version.clone(),
    };

    // 1. Unsafe: one reason per rule, at its first match that no negation cancels.
    for rule in &rules.unsafe_rules {
        let found = fields.iter().find_map(|field| {
            rule.phrases()
                .find(&field.text)
                .into_iter()
                .find(|hit| !rules.negated(&field.text, hit))
                .map(|hit| (field, hit))
        });
        if let Some((field, hit)) = found {
            assessment.reasons.push(format!(
                "unsafe: rule `{}` (intake.unsafe) matched \"{}\" in the {}: {}",
                rule.name, hit.matched, field.name, rule.justification
            ));
        }
    }
    if !assessment.reasons.is_empty() {
        assessment.verdict = IntakeVerdict::Rejected;
        assessment.reasons.extend(ignored);
        return assessment;
    }

    // 2. Too broad.
    let paths = mentioned_paths(spec);
    let broad = broad_reasons(spec, policy, &fields, &paths);
    // 3. Vague (asked even when the task is also too broad: the split needs the answers). A report
    // that states the expected value proposes its own criterion instead of going back.
    let proposals = spec.proposed_criteria();
    let (vague, questions) = vague_reasons(spec, policy, &paths, !proposals.is_empty());
    let proposed = proposals.iter().map(proposal_reason);

    if !broad.is_empty() {
        assessment.verdict = IntakeVerdict::Escalated;
        assessment.reasons = broad;
        assessment.reasons.extend(vague);
        assessment.reasons.extend(proposed);
        assessment.questions = questions;
        assessment.suggested_split = suggest_split(spec, policy, &paths);
    } else if !vague.is_empty() {
        assessment.verdict = IntakeVerdict::NeedsClarification;
        assessment.reasons = vague;
        assessment.reasons.extend(proposed);
        assessment.questions = questions;
    } else {
        let words = Text::new(&format!("{}\n{}", spec.title, spec.description)).words().len();
        let criteria = match (spec.acceptance_criteria.len(), proposals.len()) {
            (0, n @ 1..) => format!("no acceptance criteria but {n} proposed from the report"),
            (given, _) => format!("{given} acceptance criteria"),
        };
        assessment.reasons.push(format!(
            "accepted: objective of {words} words, {criteria}; no unsafe, broad or vague rule \
             matched (policy {short})"
        ));
        assessment.reasons.extend(proposed);
        for found in destructive(spec, policy) {
            assessment.reasons.push(format!(
                "note: destructive intent: {}; triage raises the risk to at least {} and the plan \
                 needs a human's approval ({})",
                found.describe(),
                found.rule.floor,
                found.rule.justification
            ));
        }
        if let Criteria::Weak(weak) = Criteria::of(spec, policy) {
            for (index, text) in weak {
                assessment.reasons.push(format!(
                    "note: acceptance criterion {index} \"{text}\" cannot be checked \
                     (intake.generic_criteria, min_criterion_words); triage treats the criteria \
                     as unstable"
                ));
            }
        }
    }
    assessment.reasons.extend(ignored);
    assessment
}

/// Reasons for the process directives found in the text, which are ignored.
fn ignored_directives(fields: &[Field], policy: &Policy) -> Vec<String> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for field in fields {
        for hit in policy.intake.ignored().find(&field.text) {
            seen.entry(hit.matched).or_insert_with(|| field.name.clone());
        }
    }
    seen.into_iter()
        .map(|(phrase, field)| {
            format!(
                "ignored: \"{phrase}\" in the {field} (intake.ignored_directives): task text \
                 cannot change gates, validation or review; they come from the policy"
            )
        })
        .collect()
}

fn broad_reasons(spec: &TaskSpec, policy: &Policy, fields: &[Field], paths: &[String]) -> Vec<String> {
    let rules = &policy.intake;
    let broad = &rules.broad;
    let mut reasons = Vec::new();
    let found = fields.iter().find_map(|field| {
        broad
            .phrases()
            .find(&field.text)
            .into_iter()
            .find(|hit| !rules.negated(&field.text, hit))
            .map(|hit| (field, hit))
    });
    if let Some((field, hit)) = found {
        reasons
            .push(format!("too broad: \"{}\" in the {} (intake.broad keywords and regexes)", hit.matched, field.name));
    }
    if paths.len() > broad.max_listed_paths {
        reasons.push(format!(
            "too broad: the task names {} paths, more than intake.broad.max_listed_paths = {}",
            paths.len(),
            broad.max_listed_paths
        ));
    }
    let criteria = spec.acceptance_criteria.len();
    if criteria > broad.max_acceptance_criteria {
        reasons.push(format!(
            "too broad: {criteria} acceptance criteria, more than \
             intake.broad.max_acceptance_criteria = {}",
            broad.max_acceptance_criteria
        ));
    }
    let estimate = estimate_size(spec, policy, &Signals::default());
    if estimate.diff_lines > broad.max_estimated_diff_lines {
        reasons.push(format!(
            "too broad: an estimated {} diff lines ({} files, {criteria} criteria; risk.size) is \
             over intake.broad.max_estimated_diff_lines = {}",
            estimate.diff_lines, estimate.files, broad.max_estimated_diff_lines
        ));
    }
    reasons
}

fn vague_reasons(
    spec: &TaskSpec,
    policy: &Policy,
    paths: &[String],
    criterion_proposed: bool,
) -> (Vec<String>, Vec<String>) {
    let rules = &policy.intake;
    let mut reasons = Vec::new();
    let mut questions = Vec::new();
    let objective = Text::new(&format!("{}\n{}", spec.title, spec.description));
    let words = objective.words().len();
    let chars = spec.title.trim().chars().count() + spec.description.trim().chars().count();
    let mut unclear = false;
    if words < rules.min_objective_words || chars < rules.min_objective_chars {
        unclear = true;
        reasons.push(format!(
            "vague: the objective has {words} words and {chars} characters; intake asks for at \
             least {} words and {} characters (intake.min_objective_words, min_objective_chars)",
            rules.min_objective_words, rules.min_objective_chars
        ));
    } else if rules.is_generic_objective(&objective)
        || (rules.is_generic_objective(&Text::new(&spec.title))
            && (Text::new(&spec.description).words().len() < rules.min_objective_words
                || rules.is_generic_objective(&Text::new(&spec.description))))
    {
        unclear = true;
        reasons.push(format!(
            "vague: \"{}\" is a generic objective (intake.generic_objectives) and the description \
             adds nothing specific",
            spec.title.trim()
        ));
    }
    if unclear {
        questions.push(format!(
            "What exactly should change, and why? Describe the current behaviour and the wanted \
             one in at least {} words.",
            rules.min_objective_words.max(8)
        ));
        if paths.is_empty() && mentioned_identifiers(spec).is_empty() {
            questions.push(
                "Which module, file or function is involved? Name paths (e.g. `src/parser.rs`) \
                 or symbols (e.g. `parse_config`)."
                    .to_owned(),
            );
        }
    }
    match Criteria::of(spec, policy) {
        Criteria::Missing if rules.require_acceptance_criteria && !criterion_proposed => {
            reasons.push("vague: no acceptance criteria (intake.require_acceptance_criteria)".to_owned());
            questions.push(
                "What observable result shows the task is done? Add acceptance criteria, e.g. a \
                 test that must pass or a command's expected output."
                    .to_owned(),
            );
        }
        Criteria::Weak(weak) if weak.len() == spec.acceptance_criteria.len() => {
            let quoted: Vec<String> = weak.iter().map(|(_, c)| format!("\"{c}\"")).collect();
            reasons.push(format!(
                "vague: no acceptance criterion can be checked: {} (intake.generic_criteria, \
                 min_criterion_words)",
                quoted.join(", ")
            ));
            for (_, criterion) in weak {
                questions.push(format!(
                    "Acceptance criterion \"{criterion}\" cannot be checked: what command, test \
                     or observable behaviour shows it holds?"
                ));
            }
        }
        _ => {}
    }
    (reasons, questions)
}

/// The module a path belongs to: its directory, at most two levels deep (`src/auth`), or
/// `(root)`.
fn module_of(path: &str) -> String {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if path.ends_with('/') {
        return parts.iter().take(2).copied().collect::<Vec<_>>().join("/");
    }
    let dirs = &parts[..parts.len().saturating_sub(1)];
    if dirs.is_empty() { "(root)".to_owned() } else { dirs.iter().take(2).copied().collect::<Vec<_>>().join("/") }
}

/// Smaller tasks to submit instead: one per module the task names, else one per acceptance
/// criterion, else a staged plan. At most `intake.broad.max_split` entries.
pub fn suggest_split(spec: &TaskSpec, policy: &Policy, paths: &[String]) -> Vec<String> {
    let max = policy.intake.broad.max_split.max(2);
    let title = spec.title.trim();
    let mut parts: Vec<String> = Vec::new();
    let mut modules: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for path in paths {
        modules.entry(module_of(path)).or_default().push(path);
    }
    if modules.len() >= 2 {
        for (module, files) in &modules {
            let files: Vec<String> = files.iter().map(|f| format!("`{f}`")).collect();
            parts.push(format!("{title}: only in `{module}` ({})", files.join(", ")));
        }
    } else if paths.len() >= 2 {
        for path in paths {
            parts.push(format!("{title}: only `{path}`"));
        }
    } else if spec.acceptance_criteria.len() >= 2 {
        for (i, criterion) in spec.acceptance_criteria.iter().enumerate() {
            parts.push(format!("{title}, part {}: {}", i + 1, criterion.trim()));
        }
    } else {
        parts = vec![
            format!(
                "{title}, step 1: write characterization tests that pin down the current \
                 behaviour of the code to change"
            ),
            format!(
                "{title}, step 2: change one module at a time, each as its own task with its own \
                 acceptance criteria"
            ),
            format!("{title}, step 3: remove the old code path once every module has moved"),
        ];
    }
    if parts.len() > max {
        let rest = parts.len() - (max - 1);
        parts.truncate(max - 1);
        parts.push(format!("… and {rest} more parts like these, each its own task"));
    }
    parts
}

#[cfg(test)]
#[path = "intake_tests.rs"]
mod tests;
