//! Triage: what kind of task this is, how risky and how novel, which hands work on it, within
//! which budgets, behind which gates, and every reason for each.
//!
//! [`triage`] is pure and deterministic: the policy's `[classify]`, `[risk]`, `[novelty]`,
//! `[routing]`, `[budgets]` and `[gates]` sections applied to the task and to the [`Signals`]
//! gathered from the repository and the store. Declared values are respected upward only: the
//! declared kind wins, the declared risk is a floor, requested approvals add gates. Nothing in the
//! task's text removes a gate. Destructive intent (`[[risk.destructive]]`: "remove the CI",
//! "disable the linter") raises the risk to the rule's floor and requires the plan gate, naming
//! the rule.

use std::collections::BTreeSet;

use crate::playbooks::{AreaRule, Budgets, Policy, Text};
use crate::protocol::{GatePlan, Risk, Route, TaskKind, TaskSpec, Triage, TriageBudgets};

use super::intake::{Criteria, DestructiveMatch, destructive, fields};
pub use super::signals::{SignalOptions, Signals};
use super::signals::{mentioned_identifiers, mentioned_paths};

/// The estimated size of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeEstimate {
    /// Files changed.
    pub files: usize,
    /// Diff lines, added plus removed.
    pub diff_lines: u64,
}

impl SizeEstimate {
    /// `3 files and 140 diff lines`.
    pub fn describe(&self) -> String {
        let files = if self.files == 1 { "file" } else { "files" };
        format!("{} {files} and {} diff lines", self.files, self.diff_lines)
    }
}

/// Estimates a task's size with `[risk.size]`: files = the files the task names (as found in the
/// repository, at least as many as it names) plus one per identifier it names that a search
/// found (a widely used identifier is not a wide change), at least one; diff lines = files ×
/// `lines_per_file` + acceptance criteria × `lines_per_criterion`.
pub fn estimate_size(spec: &TaskSpec, policy: &Policy, signals: &Signals) -> SizeEstimate {
    let size = &policy.risk.size;
    let named = signals.named_files.min(signals.likely_files.len());
    let searched = signals.likely_files.len() - named;
    let identifiers = mentioned_identifiers(spec).len();
    let files = (named.max(mentioned_paths(spec).len()) + searched.min(identifiers)).max(1);
    let criteria = spec.acceptance_criteria.len() as u64;
    SizeEstimate { files, diff_lines: files as u64 * size.lines_per_file + criteria * size.lines_per_criterion }
}

/// The budgets of a risk level as triage records them.
pub fn recorded_budgets(budgets: &Budgets) -> TriageBudgets {
    TriageBudgets {
        wall_time_secs: budgets.wall_time_secs,
        max_tokens: budgets.max_tokens,
        max_cost_micros: budgets.max_cost_micros(),
        tool_calls: budgets.tool_calls,
        agent_tool_calls: budgets.agent_tool_calls,
        retries: budgets.retries,
        files_changed: budgets.files_changed,
        diff_lines: budgets.diff_lines,
    }
}

/// The budgets of `risk` in words, with the policy section they come from.
pub fn budget_summary(risk: Risk, budgets: &Budgets) -> String {
    format!("budgets ({risk} risk, budgets.{risk}): {}", budgets.summary())
}

/// An area the task falls in, and what put it there.
struct AreaMatch<'a> {
    rule: &'a AreaRule,
    evidence: String,
}

/// Classifies, scores and routes a task.
pub fn triage(spec: &TaskSpec, policy: &Policy, signals: &Signals) -> Triage {
    let mut reasons = Vec::new();
    let kind = classify(spec, policy, &mut reasons);
    let areas = match_areas(spec, policy, signals);
    for area in &areas {
        let role = match (area.rule.sensitive, area.rule.explores()) {
            (true, _) => ", sensitive",
            (false, true) => ", explore",
            (false, false) => "",
        };
        reasons
            .push(format!("area `{}` (risk.area, floor {}{role}): {}", area.rule.name, area.rule.floor, area.evidence));
    }
    let estimate = estimate_size(spec, policy, signals);
    let mut risk = score_risk(spec, policy, signals, kind, &areas, estimate, &mut reasons);
    let destructive = destructive(spec, policy);
    for found in &destructive {
        reasons.push(format!("destructive intent: {}: {}", found.describe(), found.rule.justification));
        raise(&mut risk, found.rule.floor, format!("risk.destructive `{}`", found.rule.name), &mut reasons);
    }
    let criteria = Criteria::of(spec, policy);
    let novelty = score_novelty(policy, signals, &criteria, &mut reasons);
    let route = route(policy, signals, kind, risk, novelty, &criteria, &areas, &mut reasons);

    let budgets = *policy.budgets.for_risk(risk);
    if estimate.diff_lines > budgets.diff_lines || estimate.files as u64 > budgets.files_changed {
        reasons.push(format!(
            "note: the estimate ({}) is over the {risk} budgets ({} files, {} diff lines): the \
             task will pause at a budget gate if it gets there",
            estimate.describe(),
            budgets.files_changed,
            budgets.diff_lines
        ));
    }
    let gates = plan_gates(spec, policy, risk, route, &areas, &destructive, &mut reasons);
    reasons.push(budget_summary(risk, &budgets));
    let mut triage = Triage {
        kind,
        risk,
        novelty,
        route,
        reasons,
        budgets: Some(recorded_budgets(&budgets)),
        gates,
        areas: areas.iter().map(|a| a.rule.name.clone()).collect(),
        policy_version: policy.version.clone(),
        autonomy: Default::default(),
    };
    triage.reasons.push(triage.gate_summary());
    triage.reasons.push(format!("policy version {}", policy.version));
    triage
}

/// The task's kind alone (the declared one, else by `[classify]` keywords), e.g. to look up its
/// playbook before triage: [`triage`] decides the same kind.
pub fn classify_kind(spec: &TaskSpec, policy: &Policy) -> TaskKind {
    classify(spec, policy, &mut Vec::new())
}

fn classify(spec: &TaskSpec, policy: &Policy, reasons: &mut Vec<String>) -> TaskKind {
    if let Some(kind) = spec.kind {
        reasons.push(format!("kind {kind}: declared by the task"));
        return kind;
    }
    let weight = policy.classify.title_weight.max(1);
    let fields = fields(spec);
    let mut scores: Vec<(u32, TaskKind, Vec<String>)> = Vec::new();
    for rule in &policy.classify.kinds {
        let mut score = 0;
        let mut matched: Vec<String> = Vec::new();
        for field in &fields {
            if field.name.starts_with("constraint") {
                continue;
            }
            let strong = field.name == "title" || field.name == "label";
            let distinct: BTreeSet<String> =
                rule.phrases().find(&field.text).into_iter().map(|hit| hit.matched).collect();
            score += distinct.len() as u32 * if strong { weight } else { 1 };
            for word in distinct {
                if !matched.contains(&word) {
                    matched.push(word);
                }
            }
        }
        scores.push((score, rule.kind, matched));
    }
    // Highest score; ties go to the rule listed first.
    let best = scores.iter().enumerate().max_by(|(i, a), (j, b)| a.0.cmp(&b.0).then(j.cmp(i)));
    match best {
        Some((i, (score, kind, matched))) if *score > 0 => {
            let runner_up = scores
                .iter()
                .enumerate()
                .filter(|(j, s)| *j != i && s.0 > 0)
                .max_by(|(i, a), (j, b)| a.0.cmp(&b.0).then(j.cmp(i)))
                .map(|(_, s)| format!("; next {} ({})", s.1, s.0))
                .unwrap_or_default();
            let words: Vec<String> = matched.iter().map(|w| format!("\"{w}\"")).collect();
            reasons.push(format!(
                "kind {kind}: classify keywords {} (score {score}, title and labels count \
                 {weight}×{runner_up})",
                words.join(", ")
            ));
            *kind
        }
        _ => {
            reasons.push("kind feature: no classify keyword matched (the default kind)".to_owned());
            TaskKind::Feature
        }
    }
}

fn match_areas<'a>(spec: &TaskSpec, policy: &'a Policy, signals: &Signals) -> Vec<AreaMatch<'a>> {
    let mut paths: Vec<String> = signals.likely_files.clone();
    for path in mentioned_paths(spec) {
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    let fields: Vec<_> = fields(spec).into_iter().filter(|f| !f.name.starts_with("constraint")).collect();
    let mut found = Vec::new();
    for rule in &policy.risk.areas {
        let by_path =
            paths.iter().find_map(|path| rule.matching_glob(path).map(|glob| format!("`{path}` matches `{glob}`")));
        let evidence = by_path.or_else(|| {
            fields.iter().find_map(|field| {
                rule.phrases().find(&field.text).first().map(|hit| format!("\"{}\" in the {}", hit.matched, field.name))
            })
        });
        if let Some(evidence) = evidence {
            found.push(AreaMatch { rule, evidence });
        }
    }
    found
}

fn raise(risk: &mut Risk, floor: Risk, why: String, reasons: &mut Vec<String>) {
    if floor > *risk {
        reasons.push(format!("risk {} → {floor}: {why}", *risk));
        *risk = floor;
    }
}

fn size_risk(policy: &Policy, estimate: SizeEstimate, repo_files: usize) -> Option<(Risk, String)> {
    let size = &policy.risk.size;
    let what = format!("estimated {}", estimate.describe());
    if estimate.files >= size.high_files || estimate.diff_lines >= size.high_diff_lines {
        return Some((
            Risk::High,
            format!("{what} (risk.size.high_files = {}, high_diff_lines = {})", size.high_files, size.high_diff_lines),
        ));
    }
    if repo_files >= 20 && estimate.files as u64 * 100 >= size.high_share_percent as u64 * repo_files as u64 {
        return Some((
            Risk::High,
            format!(
                "{} of the repository's {repo_files} files is at least \
                 risk.size.high_share_percent = {}%",
                estimate.files, size.high_share_percent
            ),
        ));
    }
    if estimate.files >= size.medium_files || estimate.diff_lines >= size.medium_diff_lines {
        return Some((
            Risk::Medium,
            format!(
                "{what} (risk.size.medium_files = {}, medium_diff_lines = {})",
                size.medium_files, size.medium_diff_lines
            ),
        ));
    }
    None
}

fn score_risk(
    spec: &TaskSpec,
    policy: &Policy,
    signals: &Signals,
    kind: TaskKind,
    areas: &[AreaMatch<'_>],
    estimate: SizeEstimate,
    reasons: &mut Vec<String>,
) -> Risk {
    let mut risk = match spec.risk {
        Some(declared) => {
            reasons.push(format!("risk {declared}: declared by the task (triage may raise it, never lower it)"));
            declared
        }
        None => {
            reasons.push("risk low: none declared, the rules below may raise it".to_owned());
            Risk::Low
        }
    };
    for area in areas {
        raise(&mut risk, area.rule.floor, format!("risk.area `{}`", area.rule.name), reasons);
    }
    if let Some(floor) = policy.risk.kinds.get(&kind) {
        raise(&mut risk, *floor, format!("risk.kinds.{kind}"), reasons);
    }
    reasons.push(format!(
        "size: estimated {} (risk.size: named files and identifiers × lines_per_file + criteria \
         × lines_per_criterion)",
        estimate.describe()
    ));
    if let Some((floor, why)) = size_risk(policy, estimate, signals.repo_files) {
        raise(&mut risk, floor, why, reasons);
    }
    let churn = &policy.risk.churn;
    if let Some((path, commits)) = signals.hottest()
        && churn.commits > 0
        && commits >= churn.commits
    {
        raise(
            &mut risk,
            churn.floor,
            format!("`{path}` changed in {commits} recent commits (risk.churn.commits = {})", churn.commits),
            reasons,
        );
    }
    risk
}

fn score_novelty(policy: &Policy, signals: &Signals, criteria: &Criteria, reasons: &mut Vec<String>) -> u8 {
    let rules = &policy.novelty;
    let mut novelty: u32 = 0;
    let mut add = |points: u32, why: String, reasons: &mut Vec<String>| {
        if points > 0 {
            novelty += points;
            reasons.push(format!("novelty +{points}: {why}"));
        }
    };
    if !signals.playbook_exists {
        add(rules.no_playbook, "no playbook for this kind (novelty.no_playbook)".into(), reasons);
    }
    if signals.similar_tasks == 0 {
        add(rules.no_similar_tasks, "no similar past task (novelty.no_similar_tasks)".into(), reasons);
    }
    if signals.similar_failures > 0 {
        let points = rules.per_similar_failure.saturating_mul(signals.similar_failures).min(rules.max_for_failures);
        add(
            points,
            format!(
                "{} similar past tasks failed (novelty.per_similar_failure, max_for_failures)",
                signals.similar_failures
            ),
            reasons,
        );
    }
    match criteria {
        Criteria::Missing => {
            add(rules.missing_criteria, "no acceptance criteria (novelty.missing_criteria)".into(), reasons)
        }
        Criteria::Weak(weak) => add(
            rules.weak_criteria,
            format!("{} acceptance criteria cannot be checked (novelty.weak_criteria)", weak.len()),
            reasons,
        ),
        Criteria::Present => {}
    }
    if signals.likely_files.is_empty() {
        add(
            rules.no_likely_files,
            "no file in the repository matches what the task names (novelty.no_likely_files)".into(),
            reasons,
        );
    } else if !signals.churn.is_empty() && signals.hottest().is_none() {
        add(
            rules.unfamiliar_files,
            "no recent commit touched the likely files (novelty.unfamiliar_files)".into(),
            reasons,
        );
    }
    let novelty = novelty.min(100) as u8;
    if novelty == 0 {
        reasons.push("novelty 0: a known kind of task in familiar files".to_owned());
    }
    novelty
}

#[allow(clippy::too_many_arguments)]
fn route(
    policy: &Policy,
    signals: &Signals,
    kind: TaskKind,
    risk: Risk,
    novelty: u8,
    criteria: &Criteria,
    areas: &[AreaMatch<'_>],
    reasons: &mut Vec<String>,
) -> Route {
    let rules = &policy.routing;
    let mut triggers: Vec<String> = Vec::new();
    if novelty >= rules.novelty_at_or_above {
        triggers.push(format!("novelty {novelty} ≥ routing.novelty_at_or_above = {}", rules.novelty_at_or_above));
    }
    if let Some((path, commits)) = signals.hottest()
        && rules.churn_at_or_above > 0
        && commits >= rules.churn_at_or_above
    {
        triggers.push(format!(
            "high churn: `{path}` changed in {commits} recent commits (routing.churn_at_or_above \
             = {})",
            rules.churn_at_or_above
        ));
    }
    if let Some(at) = rules.risk_at_or_above
        && risk >= at
    {
        triggers.push(format!("risk {risk} ≥ routing.risk_at_or_above = {at}"));
    }
    if rules.failures_at_or_above > 0 && signals.similar_failures >= rules.failures_at_or_above {
        triggers.push(format!(
            "{} similar past failures (routing.failures_at_or_above = {})",
            signals.similar_failures, rules.failures_at_or_above
        ));
    }
    if rules.missing_criteria {
        match criteria {
            Criteria::Missing => triggers.push("missing acceptance criteria (routing.missing_criteria)".into()),
            Criteria::Weak(_) => triggers.push("unstable acceptance criteria (routing.missing_criteria)".into()),
            Criteria::Present => {}
        }
    }
    for area in areas {
        let rule = area.rule;
        if rule.sensitive && rule.explores() && rules.sensitive_areas {
            triggers.push(format!("sensitive area `{}` (routing.sensitive_areas)", rule.name));
        } else if !rule.sensitive && rule.explores() {
            triggers.push(format!("area `{}` calls for exploration (risk.area.explore)", rule.name));
        }
    }
    if rules.explore_kinds.contains(&kind) {
        triggers.push(format!("kind {kind} always explores (routing.explore_kinds)"));
    }
    if triggers.is_empty() {
        reasons.push("route right_only: no exploration trigger fired (routing)".to_owned());
        Route::RightOnly
    } else {
        reasons.push(format!("route right_and_left: {}", triggers.join("; ")));
        Route::RightAndLeft
    }
}

fn plan_gates(
    spec: &TaskSpec,
    policy: &Policy,
    risk: Risk,
    route: Route,
    areas: &[AreaMatch<'_>],
    destructive: &[DestructiveMatch<'_>],
    reasons: &mut Vec<String>,
) -> Vec<GatePlan> {
    let rules = &policy.gates;
    let mut gates: BTreeSet<GatePlan> = BTreeSet::new();
    if risk >= rules.plan_at_or_above {
        gates.insert(GatePlan::Plan);
        reasons.push(format!("gate plan: risk {risk} ≥ gates.plan_at_or_above = {}", rules.plan_at_or_above));
    }
    for found in destructive {
        gates.insert(GatePlan::Plan);
        reasons.push(format!(
            "gate plan: destructive intent (risk.destructive `{}`): a human approves the plan whatever the risk",
            found.rule.name
        ));
    }
    if rules.sensitive_areas {
        for area in areas.iter().filter(|a| a.rule.sensitive) {
            gates.insert(GatePlan::Sensitive { area: area.rule.name.clone() });
            reasons.push(format!(
                "gate sensitive({}): the task touches a sensitive area (gates.sensitive_areas)",
                area.rule.name
            ));
        }
    }
    if rules.promotion && route == Route::RightAndLeft {
        gates.insert(GatePlan::Promotion);
        reasons.push("gate promotion: exploratory results are adopted only with approval (gates.promotion)".to_owned());
    }
    if rules.pr {
        gates.insert(GatePlan::PullRequest);
        reasons.push("gate pull_request: creating the PR needs approval (gates.pr)".to_owned());
    }
    // Requested approvals only ever add gates.
    for requested in &spec.required_approvals {
        let name = Text::new(requested).as_str().replace(' ', "_");
        let gate = match name.as_str() {
            "plan" | "plan_approval" => GatePlan::Plan,
            "pr" | "pull_request" | "merge_request" | "mr" => GatePlan::PullRequest,
            "promotion" => GatePlan::Promotion,
            _ => {
                reasons.push(format!(
                    "gate pull_request: the requested approval \"{}\" has no gate of its own and \
                     is asked for at the pull request gate",
                    requested.trim()
                ));
                GatePlan::PullRequest
            }
        };
        if gates.insert(gate.clone()) {
            reasons.push(format!("gate {gate}: requested by the task (required_approvals)"));
        }
    }
    gates.into_iter().collect()
}

#[cfg(test)]
#[path = "triage_tests.rs"]
mod tests;
