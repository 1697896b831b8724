//! `GET /metrics`: the metric families in the OpenMetrics text format, for Prometheus to scrape.
//! Every family is a gauge (the values are recomputed from the log, and windows and ratios go
//! down as well as up), labelled by task class; the playbook versions and the Left Hand's
//! strategies have families of their own. A value with nothing to divide by is left out, not
//! written as zero.

use std::fmt::Write;

use crate::protocol::{Families, MetricsReport};

/// The content type OpenMetrics text is served with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Value = fn(&Families) -> Option<f64>;

fn count(n: u64) -> Option<f64> {
    Some(n as f64)
}

/// The families reported per class (and per playbook version): name, help, value.
const PER_SET: &[(&str, &str, Value)] = &[
    ("tasks", "Tasks created.", |f| count(f.delivery.tasks)),
    ("tasks_finished", "Tasks that ended: a PR, a failure, a cancellation or a refusal.", |f| {
        count(f.delivery.finished)
    }),
    ("tasks_completed", "Tasks that reached a PR.", |f| count(f.delivery.completed)),
    ("completion_ratio", "Tasks that reached a PR over tasks that ended.", |f| f.delivery.completion_rate),
    ("intake_to_pr_seconds", "Median time from intake to the PR.", |f| f.delivery.intake_to_pr_secs),
    ("first_attempt_pass_ratio", "Validated tasks whose first attempt passed every validation command.", |f| {
        f.delivery.first_attempt_pass_rate
    }),
    ("send_backs_per_task", "Send-backs per task that met a plan, PR or promotion gate.", |f| {
        f.delivery.send_backs_per_task
    }),
    ("intervention_ratio", "Tasks a human had to step into.", |f| f.delivery.intervention_rate),
    ("escaped_defects", "Delivered changes the repository later reverted.", |f| count(f.quality.escaped_defects)),
    ("rollback_ratio", "Escaped defects over tasks that reached a PR.", |f| f.quality.rollback_rate),
    ("findings_per_change", "Failure-analyst findings per reviewed change.", |f| f.quality.findings_per_change),
    ("tested_change_ratio", "Delivered code changes that changed tests too.", |f| f.quality.tested_change_rate),
    ("explored_tasks", "Tasks the Left Hand explored.", |f| count(f.exploration.explored)),
    ("exploration_changed_outcome_ratio", "Explored tasks whose delivered change took a challenger's work.", |f| {
        f.exploration.changed_outcome_rate
    }),
    ("false_promotions", "Tasks that adopted a challenger's work and were later reverted.", |f| {
        count(f.exploration.false_promotions)
    }),
    ("exploration_cost_dollars", "What the Left Hand's model calls cost.", |f| {
        Some(f.exploration.cost_micros as f64 / 1e6)
    }),
    ("cost_per_useful_finding_dollars", "Left Hand cost per task whose outcome it changed.", |f| {
        f.exploration.cost_per_useful_finding_micros.map(|m| m as f64 / 1e6)
    }),
    ("forbidden_commands", "Commands the policy forbade.", |f| count(f.governance.forbidden_commands)),
    ("refused_commands", "Commands the policy asked about that a human refused.", |f| {
        count(f.governance.refused_commands)
    }),
    ("sandbox_denials", "Commands the sandbox stopped.", |f| count(f.governance.sandbox_denials)),
    ("budget_overruns", "Budgets that ran out.", |f| count(f.governance.budget_overruns)),
    ("breaker_trips", "Circuit breakers that tripped.", |f| count(f.governance.breaker_trips)),
    ("secrets_redacted", "Secrets redacted from what the models were shown and wrote.", |f| {
        count(f.governance.secrets_redacted)
    }),
];

/// The report as OpenMetrics text.
pub fn render(report: &MetricsReport) -> String {
    let mut out = String::new();
    for (name, help, value) in PER_SET {
        let class_samples: Vec<(String, f64)> = report
            .by_class
            .iter()
            .filter_map(|c| Some((labels(&[("class", c.class.as_str())]), value(&c.families)?)))
            .collect();
        family(&mut out, &format!("ambidex_{name}"), help, &class_samples);
        let version_samples: Vec<(String, f64)> = report
            .by_playbook
            .iter()
            .filter_map(|p| Some((labels(&[("playbook", &p.playbook), ("version", &p.version)]), value(&p.families)?)))
            .collect();
        family(&mut out, &format!("ambidex_playbook_{name}"), help, &version_samples);
    }
    let strategy = |wins: bool| -> Vec<(String, f64)> {
        report
            .strategies
            .iter()
            .map(|s| {
                let n = if wins { s.wins } else { s.runs };
                (labels(&[("class", s.class.as_str()), ("strategy", &s.strategy)]), n as f64)
            })
            .collect()
    };
    family(&mut out, "ambidex_strategy_runs", "Tasks a Left Hand strategy ran on.", &strategy(false));
    family(
        &mut out,
        "ambidex_strategy_wins",
        "Tasks whose delivered change took the strategy's work.",
        &strategy(true),
    );
    let model = |wins: bool| -> Vec<(String, f64)> {
        let count = |m: &crate::protocol::ModelRecord| if wins { m.wins } else { m.runs };
        report.models.iter().map(|m| (labels(&[("model", &m.model)]), count(m) as f64)).collect()
    };
    family(&mut out, "ambidex_model_runs", "Candidates a model or ACP agent played.", &model(false));
    family(
        &mut out,
        "ambidex_model_wins",
        "Candidates of a model or ACP agent whose work was delivered.",
        &model(true),
    );
    let governance = &report.overall.governance;
    let unreviewed = [
        (labels(&[("kind", "memory")]), governance.unreviewed_memory as f64),
        (labels(&[("kind", "museum")]), governance.unreviewed_exhibits as f64),
    ];
    family(&mut out, "ambidex_unreviewed_proposals", "Proposals waiting for a human's review.", &unreviewed);
    out.push_str("# EOF\n");
    out
}

/// Writes one gauge family (its metadata even when it has no sample, so a scraper sees it).
fn family(out: &mut String, name: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# TYPE {name} gauge");
    let _ = writeln!(out, "# HELP {name} {}", escape(help));
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {}", number(*value));
    }
}

/// `{a="x",b="y"}`.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    format!("{{{}}}", inner.join(","))
}

/// Escapes a label value or help text: backslash, double quote and line feed.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_finite() { format!("{value}") } else { "NaN".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(labels(&[("strategy", "a\"b\\c\nd")]), "{strategy=\"a\\\"b\\\\c\\nd\"}");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(3.0), "3");
    }
}
