//! `ambidex metrics`: the four metric families folded from the store's log, for every task or a
//! window and a class, as text or JSON.

use ambidex::orchestrator::metrics::MetricsFold;
use ambidex::protocol::{Families, MetricsFilter, MetricsReport, TaskKind};
use jiff::Timestamp;

use super::{Context, Outcome};

/// What `ambidex metrics` takes.
#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// Only tasks created since: a span back from now (`7d`, `12h`, `2w`) or a date (`2026-11-01`)
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Only tasks of this class (bug_fix, feature, refactor, …)
    #[arg(long, value_name = "KIND")]
    class: Option<TaskKind>,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

pub fn run(args: MetricsArgs, context: &Context) -> Result<Outcome, String> {
    let since = args.since.as_deref().map(|text| parse_since(text, Timestamp::now())).transpose()?;
    let filter = MetricsFilter { since, class: args.class };
    let mut fold = MetricsFold::default();
    if let Some(reader) = context.reader()? {
        fold.catch_up(&reader).map_err(|err| err.to_string())?;
    }
    let report = fold.report(&filter);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|err| err.to_string())?);
    } else {
        print!("{}", describe(&report));
    }
    Ok(Outcome::Done)
}

/// `7d`, `12h`, `2w`, `30m` back from `now`, or a date (midnight UTC) or a timestamp.
pub fn parse_since(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    let text = text.trim();
    let unit_secs = |unit: char| match unit {
        'm' => Some(60),
        'h' => Some(3_600),
        'd' => Some(86_400),
        'w' => Some(7 * 86_400),
        _ => None,
    };
    if let Some(unit) = text.chars().last().and_then(unit_secs)
        && let Ok(count) = text[..text.len() - 1].parse::<i64>()
    {
        return now
            .checked_sub(jiff::SignedDuration::from_secs(count.saturating_mul(unit)))
            .map_err(|err| format!("`--since {text}` reaches too far back: {err}"));
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|zoned| zoned.timestamp())
            .map_err(|err| format!("`--since {text}`: {err}"));
    }
    text.parse::<Timestamp>().map_err(|_| {
        format!("`--since {text}`: expected a span back from now (`7d`, `12h`, `2w`) or a date (`2026-11-01`)")
    })
}

/// A share as a whole percentage, `-` when there is none.
pub(super) fn percent(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{:.0}%", v * 100.0))
}

/// A rate with two decimals, `-` when there is none.
pub(super) fn per(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.2}"))
}

/// Micro-dollars as dollars and cents.
pub(super) fn dollars(micros: u64) -> String {
    format!("${:.2}", micros as f64 / 1e6)
}

/// Seconds in the largest unit that keeps them readable, `-` when there are none.
pub(super) fn duration(secs: Option<f64>) -> String {
    match secs {
        None => "-".into(),
        Some(s) if s < 90.0 => format!("{s:.0}s"),
        Some(s) if s < 5_400.0 => format!("{:.0}m", s / 60.0),
        Some(s) if s < 172_800.0 => format!("{:.1}h", s / 3_600.0),
        Some(s) => format!("{:.1}d", s / 86_400.0),
    }
}

/// One line for a set of tasks: its size and the figures people look at first.
fn summary_line(families: &Families) -> String {
    let d = &families.delivery;
    format!(
        "{:>4} tasks  completed {:>4}  to PR {:>6}  first try {:>4}  send-backs {:>5}  escaped {}",
        d.tasks,
        percent(d.completion_rate),
        duration(d.intake_to_pr_secs),
        percent(d.first_attempt_pass_rate),
        per(d.send_backs_per_task),
        families.quality.escaped_defects
    )
}

/// The report as text.
pub fn describe(report: &MetricsReport) -> String {
    let (d, q, e, g) =
        (&report.overall.delivery, &report.overall.quality, &report.overall.exploration, &report.overall.governance);
    let mut scope = String::new();
    if let Some(since) = report.filter.since {
        scope.push_str(&format!(" created since {}", since.strftime("%Y-%m-%d %H:%M UTC")));
    }
    if let Some(class) = report.filter.class {
        scope.push_str(&format!(" of class {class}"));
    }
    let mut out = format!("Metrics of {} tasks{scope}\n\n", d.tasks);
    out.push_str(&format!(
        "Delivery     completed {} of {} finished ({}) · intake to PR {} (median) · first attempt passed {} · send-backs {} per reviewed task · a human stepped in on {}\n",
        d.completed,
        d.finished,
        percent(d.completion_rate),
        duration(d.intake_to_pr_secs),
        percent(d.first_attempt_pass_rate),
        per(d.send_backs_per_task),
        percent(d.intervention_rate)
    ));
    out.push_str(&format!(
        "Quality      escaped defects {} (rollback rate {}) · code changes with tests {} · findings per reviewed change {}\n",
        q.escaped_defects,
        percent(q.rollback_rate),
        percent(q.tested_change_rate),
        per(q.findings_per_change)
    ));
    out.push_str(&format!(
        "Exploration  explored {} · changed the outcome {} ({}) · false promotions {} · cost {} ({} per useful finding)\n",
        e.explored,
        e.changed_outcome,
        percent(e.changed_outcome_rate),
        e.false_promotions,
        dollars(e.cost_micros),
        e.cost_per_useful_finding_micros.map_or("-".into(), dollars)
    ));
    out.push_str(&format!(
        "Governance   forbidden commands {} · refused {} · sandbox denials {} · budget overruns {} · breaker trips {} · secrets redacted {} · waiting for review: {} memory, {} museum\n",
        g.forbidden_commands,
        g.refused_commands,
        g.sandbox_denials,
        g.budget_overruns,
        g.breaker_trips,
        g.secrets_redacted,
        g.unreviewed_memory,
        g.unreviewed_exhibits
    ));
    if !report.by_class.is_empty() {
        out.push_str("\nBy class\n");
        for class in &report.by_class {
            out.push_str(&format!("  {:<18} {}\n", class.class.as_str(), summary_line(&class.families)));
        }
    }
    if !report.by_playbook.is_empty() {
        out.push_str("\nBy playbook version\n");
        for version in &report.by_playbook {
            let name = format!("{}@{}", version.playbook, &version.version[..version.version.len().min(10)]);
            out.push_str(&format!("  {name:<18} {}\n", summary_line(&version.families)));
        }
    }
    if !report.strategies.is_empty() {
        out.push_str("\nLeft Hand strategies (wins / runs)\n");
        for s in &report.strategies {
            out.push_str(&format!("  {:<18} {:<28} {} / {}\n", s.class.as_str(), s.strategy, s.wins, s.runs));
        }
    }
    if !report.models.is_empty() {
        out.push_str("\nCandidates by model or agent (wins / runs)\n");
        for m in &report.models {
            out.push_str(&format!("  {:<47} {} / {}\n", m.model, m.wins, m.runs));
        }
    }
    if !report.trend.is_empty() {
        out.push_str("\nWeek by week (tasks, completed, send-backs, cost)\n");
        for week in &report.trend {
            out.push_str(&format!(
                "  {}  {:>4}  {:>4}  {:>4}  {}\n",
                week.week,
                week.tasks,
                week.completed,
                week.send_backs,
                dollars(week.cost_micros)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_spans_dates_and_timestamps_and_names_what_it_expects() {
        let now: Timestamp = "2026-12-04T12:00:00Z".parse().unwrap();
        assert_eq!(parse_since("7d", now).unwrap().to_string(), "2026-11-27T12:00:00Z");
        assert_eq!(parse_since("2w", now).unwrap().to_string(), "2026-11-20T12:00:00Z");
        assert_eq!(parse_since("12h", now).unwrap().to_string(), "2026-12-04T00:00:00Z");
        assert_eq!(parse_since("2026-11-01", now).unwrap().to_string(), "2026-11-01T00:00:00Z");
        assert_eq!(parse_since("2026-11-01T08:00:00Z", now).unwrap().to_string(), "2026-11-01T08:00:00Z");
        let err = parse_since("last tuesday", now).unwrap_err();
        assert!(err.contains("`7d`") && err.contains("2026-11-01"), "{err}");
    }
}
