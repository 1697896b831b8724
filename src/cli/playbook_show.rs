//! How `ambidex playbook` prints a version: a list row, the whole story of one version, and the
//! promotion gate (the version-level evidence matrix and the promotion criteria).

use std::fmt::Write as _;

use ambidex::orchestrator::registry::Registry;
use ambidex::protocol::{
    Delivery, MetricsReport, PlaybookVersion, ReplaySource, VersionEvaluation, money, promotion_criteria,
};

use super::metrics_cmd::{duration, per, percent};
use super::table;

/// One row per version: VERSION, STATUS, KIND, NAME, CLASSES, CREATED, AUTHOR.
pub fn list_rows(versions: &[&PlaybookVersion]) -> Vec<Vec<String>> {
    versions
        .iter()
        .map(|v| {
            let classes: Vec<&str> = v.classes.iter().map(|c| c.as_str()).collect();
            let classes = if classes.len() > 3 { format!("{} classes", classes.len()) } else { classes.join(",") };
            vec![
                v.short().to_owned(),
                v.status.to_string(),
                v.artifact.to_string(),
                v.name.clone(),
                if classes.is_empty() { "-".into() } else { classes },
                v.created.strftime("%Y-%m-%d %H:%M").to_string(),
                v.author.to_string(),
            ]
        })
        .collect()
}

/// How the tasks that ran with a version and with its parent did (on the version's class when it
/// serves one), and the time to a PR saved per task since it replaced its parent.
pub fn measured(version: &PlaybookVersion, registry: &Registry, report: &MetricsReport) -> String {
    let figures = |hash: &str| report.by_playbook.iter().find(|p| p.version == hash).map(|p| &p.families.delivery);
    let line = |d: &Delivery| {
        format!(
            "{} tasks · {} completed · {} send-backs/task · median intake to PR {}",
            d.tasks,
            percent(d.completion_rate),
            per(d.send_backs_per_task),
            duration(d.intake_to_pr_secs)
        )
    };
    let mut out = String::new();
    let scope = report.filter.class.map_or_else(String::new, |class| format!(" ({class} tasks)"));
    let mine = figures(&version.hash);
    if let Some(d) = mine {
        let _ = writeln!(out, "measured  {}{scope}", line(d));
    }
    let parent = version.parent.as_deref().and_then(|p| registry.get(p));
    let theirs = parent.and_then(|p| figures(&p.hash));
    if let (Some(parent), Some(d)) = (parent, theirs) {
        let _ = writeln!(out, "parent    {} {}: {}", parent.name, parent.short(), line(d));
    }
    if let (Some(now), Some(before)) =
        (mine.and_then(|d| d.intake_to_pr_secs), theirs.and_then(|d| d.intake_to_pr_secs))
    {
        let saved = before - now;
        let word = if saved >= 0.0 { "saved" } else { "lost" };
        let _ = writeln!(out, "time      {} {word} per task to a PR against its parent", duration(Some(saved.abs())));
    }
    out
}

/// Everything about one version, then its text.
pub fn describe(version: &PlaybookVersion, registry: &Registry) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {} {} ({})", version.artifact, version.name, version.short(), version.status);
    let _ = writeln!(out, "hash      {}", version.hash);
    let classes: Vec<&str> = version.classes.iter().map(|c| c.as_str()).collect();
    if !classes.is_empty() {
        let _ = writeln!(out, "classes   {}", classes.join(", "));
    }
    let parent = version.parent.as_deref().map(|p| match registry.get(p) {
        Some(parent) => format!("{} {} ({})", parent.name, parent.short(), parent.status),
        None => p.get(..12).unwrap_or(p).to_owned(),
    });
    let _ = writeln!(out, "parent    {}", parent.unwrap_or_else(|| "none".into()));
    let _ = writeln!(out, "author    {}", version.author);
    let _ = writeln!(out, "created   {}", version.created.strftime("%Y-%m-%d %H:%M:%S UTC"));
    if !version.summary.is_empty() {
        let _ = writeln!(out, "summary   {}", version.summary);
    }
    if let Some(decision) = &version.decision {
        let _ = writeln!(out, "decision  {decision}");
    }
    for hit in &version.retirement {
        let _ = writeln!(out, "retire?   {hit}");
    }
    if version.status == ambidex::protocol::VersionStatus::Proposed || version.evaluation.is_some() {
        out.push('\n');
        out.push_str(&gate_text(version, registry));
    }
    let _ = writeln!(out, "\n--- text ---\n{}", version.text.trim_end());
    out
}

/// The promotion gate's evidence: the matrix (when evaluated) and each criterion, met or not.
pub fn gate_text(version: &PlaybookVersion, registry: &Registry) -> String {
    let mut out = String::new();
    match version.evaluation.as_deref() {
        Some(eval) => out.push_str(&matrix(eval, registry)),
        None => {
            let _ = writeln!(out, "no shadow evaluation yet: `ambidex playbook evaluate {}`", version.short());
        }
    }
    let _ = writeln!(out, "promotion criteria:");
    for criterion in promotion_criteria(version) {
        let mark = if criterion.met { "✓" } else { "✗" };
        let _ = writeln!(out, "  {mark} {}: {}", criterion.name, criterion.evidence);
    }
    out
}

/// The version-level evidence matrix: one row per case, the proposal's and the baseline's
/// outcome side by side, then the totals.
pub fn matrix(eval: &VersionEvaluation, registry: &Registry) -> String {
    let name = |hash: &str| {
        registry.get(hash).map_or_else(|| hash.get(..12).unwrap_or(hash).to_owned(), |v| v.short().to_owned())
    };
    let mut out = format!(
        "shadow evaluation on {} ({} cases, {}): proposal {} vs active {}\n",
        eval.model,
        eval.cases.len(),
        eval.at.strftime("%Y-%m-%d %H:%M"),
        name(&eval.proposal.version),
        name(&eval.baseline.version)
    );
    let cell = |o: Option<&ambidex::protocol::ReplayOutcome>| match o {
        Some(o) => format!("{} {}", if o.resolved { "✓" } else { "✗" }, o.ending),
        None => "-".into(),
    };
    let mut rows: Vec<Vec<String>> = eval
        .cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let what = match &case.source {
                ReplaySource::Exhibit { id } => format!("exhibit {}", id.short()),
                ReplaySource::Task { id } => format!("task {}", id.short()),
            };
            let (new, old) = (eval.proposal.outcomes.get(i), eval.baseline.outcomes.get(i));
            vec![what, case.title.chars().take(40).collect(), cell(new), cell(old)]
        })
        .collect();
    let total = |run: &ambidex::protocol::VersionRun| {
        format!(
            "{} resolved, {} send-backs, {}, {:.1}s, {} lines",
            run.resolved(),
            run.send_backs(),
            money(run.cost_micros()),
            run.millis() as f64 / 1000.0,
            run.diff_lines()
        )
    };
    rows.push(vec!["total".into(), String::new(), total(&eval.proposal), total(&eval.baseline)]);
    out.push_str(&table::render(&["CASE", "TITLE", "PROPOSAL", "ACTIVE"], &rows));
    let regressions = eval.regressions();
    if !regressions.is_empty() {
        let titles: Vec<&str> = regressions.iter().map(|c| c.title.as_str()).collect();
        let _ = writeln!(out, "regressions: {}", titles.join("; "));
    }
    out
}
