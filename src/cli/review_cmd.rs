//! `ambidex review`: the periodic review. It first runs the engine's own reviews — each task
//! class's autonomy against its metrics, and every active playbook version against the
//! retirement criteria — which record what they find as events; then it writes a Markdown report
//! of the window to stdout or a file: the four metric families, failed and slow tasks with their
//! causes, breaker trips, environment failures, strategy wins and losses by class, proposals
//! waiting for promotion, retirement proposals, autonomy, and the memory and museum proposals
//! (and stale memory) waiting for a person.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};

use ambidex::orchestrator::autonomy::state_of;
use ambidex::orchestrator::memory::staleness;
use ambidex::orchestrator::metrics::MetricsFold;
use ambidex::protocol::{
    Decision, EventKind, ExhibitStatus, GateId, GateKind, MemoryStatus, MetricsFilter, MetricsReport, NewEvent,
    PlaybookVersion, TaskId, TaskKind, TaskStatus, VersionStatus, promotion_criteria,
};
use ambidex::store::StoreReader;

use super::metrics_cmd::{dollars, duration, parse_since, per, percent};
use super::{Context, Outcome, Writer, block_on};

/// Events read from the store at a time.
const PAGE: usize = 4096;
/// Slow tasks the report lists.
const SLOWEST: usize = 5;
/// Longest cell text, in characters.
const CELL: usize = 160;

/// What `ambidex review` takes.
#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// The window: tasks created since a span back from now (`7d`, `12h`, `2w`) or a date
    /// (`2026-11-01`)
    #[arg(long, value_name = "WHEN", default_value = "7d")]
    since: String,
    /// Write the report to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(args: ReviewArgs, context: &Context) -> Result<Outcome, String> {
    let now = Timestamp::now();
    let since = parse_since(&args.since, now)?;
    let recorded = reviews(context)?;
    let report = match context.reader()? {
        Some(reader) => render(&reader, &args.since, since, now, &recorded)?,
        None => format!(
            "# Ambidex review\n\nNo store at {} yet: add a task (`ambidex task add`) or run `ambidex demo`, then \
             review again.\n",
            context.store_path().display()
        ),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &report)
                .map_err(|err| format!("cannot write the report to {}: {err}", path.display()))?;
            eprintln!("review written to {}", path.display());
        }
        None => print!("{report}"),
    }
    Ok(Outcome::Done)
}

/// What the engine's reviews recorded, or why they did not run.
enum Recorded {
    Events(Vec<NewEvent>),
    Skipped(String),
}

/// Runs the autonomy and retirement reviews when this process can hold the store.
fn reviews(context: &Context) -> Result<Recorded, String> {
    if context.reader()?.is_none() {
        return Ok(Recorded::Events(Vec::new()));
    }
    let writer = match context.writer() {
        Ok(writer) => writer,
        Err(why) => return Ok(Recorded::Skipped(format!("the engine could not be opened here ({why})"))),
    };
    match writer {
        Writer::Local(engine) => {
            let result = block_on(async {
                let mut events = engine.review_autonomy().await?;
                events.extend(engine.review_retirement().await?);
                Ok::<_, ambidex::orchestrator::EngineError>(events)
            });
            engine.shutdown();
            Ok(Recorded::Events(result?.map_err(|err| err.to_string())?))
        }
        Writer::Remote(_) => Ok(Recorded::Skipped(
            "a running engine holds the store, so this report reads it without reviewing again (the engine \
             reviews autonomy after each task); stop it and run `ambidex review` for fresh retirement checks"
                .into(),
        )),
    }
}

/// What the report needs of one task, from its events.
#[derive(Debug, Default)]
struct TaskLine {
    title: String,
    class: Option<TaskKind>,
    created: Option<Timestamp>,
    status: Option<TaskStatus>,
    pr_at: Option<Timestamp>,
    failure: Option<String>,
    send_backs: u64,
}

/// A gate the environment opened (a command failed for a cause outside the code).
#[derive(Debug)]
struct EnvironmentGate {
    task: TaskId,
    kind: GateKind,
    at: Timestamp,
    reason: String,
    decision: Option<Decision>,
}

/// One pass over the log: tasks, breaker trips and environment gates.
#[derive(Debug, Default)]
struct Log {
    tasks: HashMap<TaskId, TaskLine>,
    breakers: Vec<(TaskId, Timestamp, String, String)>,
    gates: Vec<EnvironmentGate>,
    gate_index: HashMap<GateId, usize>,
}

impl Log {
    fn read(reader: &StoreReader) -> Result<Log, String> {
        let mut log = Log::default();
        let mut seq = 0;
        loop {
            let events = reader.events_after(seq, PAGE).map_err(|err| err.to_string())?;
            let Some(last) = events.last() else { return Ok(log) };
            seq = last.seq;
            for event in &events {
                let Some(task) = event.task else { continue };
                let line = log.tasks.entry(task).or_default();
                match &event.kind {
                    EventKind::TaskCreated { spec } => {
                        line.created = Some(event.at);
                        line.title = spec.title.clone();
                    }
                    EventKind::TaskRevised { spec } => line.title = spec.title.clone(),
                    EventKind::TaskTriaged(triage) => line.class = Some(triage.kind),
                    EventKind::StatusChanged { to, reason, .. } => {
                        line.status = Some(*to);
                        if *to == TaskStatus::PrReady && line.pr_at.is_none() {
                            line.pr_at = Some(event.at);
                        }
                        if *to == TaskStatus::Failed {
                            line.failure = Some(reason.clone());
                        }
                    }
                    EventKind::SentBack { .. } => line.send_backs += 1,
                    EventKind::BreakerTripped { breaker, evidence } => {
                        log.breakers.push((task, event.at, breaker.clone(), evidence.clone()));
                    }
                    EventKind::GateOpened {
                        gate,
                        kind: kind @ (GateKind::Environment | GateKind::Network),
                        reason,
                        ..
                    } => {
                        log.gate_index.insert(*gate, log.gates.len());
                        log.gates.push(EnvironmentGate {
                            task,
                            kind: *kind,
                            at: event.at,
                            reason: reason.clone(),
                            decision: None,
                        });
                    }
                    EventKind::GateDecided { gate, decision, .. } => {
                        if let Some(&index) = log.gate_index.get(gate) {
                            log.gates[index].decision = Some(*decision);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn title(&self, task: TaskId) -> String {
        self.tasks.get(&task).map_or_else(String::new, |line| cell(&line.title))
    }
}

/// The report as Markdown.
fn render(
    reader: &StoreReader,
    window: &str,
    since: Timestamp,
    now: Timestamp,
    recorded: &Recorded,
) -> Result<String, String> {
    let err = |err: ambidex::store::StoreError| err.to_string();
    let mut fold = MetricsFold::default();
    fold.catch_up(reader).map_err(err)?;
    let metrics = fold.report(&MetricsFilter { since: Some(since), class: None });
    let log = Log::read(reader)?;
    let versions = reader.playbooks().map_err(err)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Ambidex review\n\nThe window: tasks created since {} (`--since {window}`); written {}.\n",
        since.strftime("%Y-%m-%d %H:%M UTC"),
        now.strftime("%Y-%m-%d %H:%M UTC")
    );
    figures(&mut out, &metrics);
    failed_and_slow(&mut out, &log, since);
    breakers_and_environment(&mut out, &log, since);
    strategies(&mut out, &metrics);
    promotions(&mut out, &versions);
    retirements(&mut out, &versions);
    let autonomy = reader.autonomy().map_err(err)?;
    out.push_str("## Autonomy\n\n| Class | Level | Proposed | Why |\n|---|---|---|---|\n");
    for &class in TaskKind::ALL {
        let state = state_of(&autonomy, class);
        let proposed = state.proposed.map_or_else(|| "-".into(), |level| format!("**{level}**"));
        let _ = writeln!(out, "| {class} | {} | {proposed} | {} |", state.level, cell(&state.reason));
    }
    if autonomy.iter().any(|s| s.proposed.is_some()) {
        out.push_str("\nGrant a proposal with `ambidex autonomy grant CLASS`, or `ambidex autonomy decline CLASS`.\n");
    }
    out.push('\n');
    waiting(&mut out, reader, now)?;
    out.push_str("## Recorded by this review\n\n");
    match recorded {
        Recorded::Skipped(why) => {
            let _ = writeln!(out, "Nothing: {why}.");
        }
        Recorded::Events(events) if events.is_empty() => out.push_str("Nothing changed.\n"),
        Recorded::Events(events) => {
            for event in events {
                match &event.kind {
                    EventKind::AutonomyChanged { state, .. } => {
                        let _ = writeln!(out, "- autonomy of {}: {}", state.class, cell(&state.reason));
                    }
                    EventKind::PlaybookChanged { version, .. } if version.retirement.is_empty() => {
                        let _ =
                            writeln!(out, "- {} {}: retirement criteria clear again", version.name, version.short());
                    }
                    EventKind::PlaybookChanged { version, .. } => {
                        let _ = writeln!(
                            out,
                            "- {} {}: proposed for retirement ({} criteria)",
                            version.name,
                            version.short(),
                            version.retirement.len()
                        );
                    }
                    other => {
                        let _ = writeln!(out, "- {}", other.name());
                    }
                }
            }
        }
    }
    Ok(out)
}

fn figures(out: &mut String, metrics: &MetricsReport) {
    let o = &metrics.overall;
    let (d, q, e, g) = (&o.delivery, &o.quality, &o.exploration, &o.governance);
    out.push_str("## Figures\n\n");
    let _ = writeln!(
        out,
        "- **Delivery**: {} tasks, {} finished, {} reached a PR (completion {}); intake to PR {} (median); first \
         attempt passed {}; {} send-backs per reviewed task; a human stepped in on {}",
        d.tasks,
        d.finished,
        d.completed,
        percent(d.completion_rate),
        duration(d.intake_to_pr_secs),
        percent(d.first_attempt_pass_rate),
        per(d.send_backs_per_task),
        percent(d.intervention_rate)
    );
    let _ = writeln!(
        out,
        "- **Quality**: {} escaped defects (rollback rate {}); code changes with tests {}; {} findings per \
         reviewed change",
        q.escaped_defects,
        percent(q.rollback_rate),
        percent(q.tested_change_rate),
        per(q.findings_per_change)
    );
    let _ = writeln!(
        out,
        "- **Exploration**: {} explored, {} changed the outcome ({}); {} false promotions; cost {} ({} per useful \
         finding)",
        e.explored,
        e.changed_outcome,
        percent(e.changed_outcome_rate),
        e.false_promotions,
        dollars(e.cost_micros),
        e.cost_per_useful_finding_micros.map_or_else(|| "-".into(), dollars)
    );
    let _ = writeln!(
        out,
        "- **Governance**: {} forbidden and {} refused commands; {} sandbox denials; {} budget overruns; {} breaker \
         trips; {} secrets redacted\n",
        g.forbidden_commands,
        g.refused_commands,
        g.sandbox_denials,
        g.budget_overruns,
        g.breaker_trips,
        g.secrets_redacted
    );
}

fn failed_and_slow(out: &mut String, log: &Log, since: Timestamp) {
    let in_window = |line: &&TaskLine| line.created.is_some_and(|created| created >= since);
    let mut failed: Vec<(&TaskId, &TaskLine)> =
        log.tasks.iter().filter(|(_, line)| in_window(line) && line.status == Some(TaskStatus::Failed)).collect();
    failed.sort_by_key(|(id, line)| (line.created, **id));
    out.push_str("## Failed tasks\n\n");
    if failed.is_empty() {
        out.push_str("None.\n\n");
    } else {
        out.push_str("| Task | Title | Class | Cause |\n|---|---|---|---|\n");
        for (id, line) in &failed {
            let cause = line.failure.as_deref().map_or_else(|| "-".into(), cell);
            let _ = writeln!(out, "| {} | {} | {} | {cause} |", id.short(), cell(&line.title), class(line.class));
        }
        out.push_str("\n`ambidex task show ID` has the whole story; `ambidex task resume ID` runs one again.\n\n");
    }
    let mut slow: Vec<(&TaskId, &TaskLine, SignedDuration)> = log
        .tasks
        .iter()
        .filter(|(_, line)| in_window(line))
        .filter_map(|(id, line)| Some((id, line, line.pr_at?.duration_since(line.created?))))
        .collect();
    slow.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    out.push_str("## Slowest tasks (intake to PR)\n\n");
    if slow.is_empty() {
        out.push_str("No task reached a PR.\n\n");
        return;
    }
    out.push_str("| Task | Title | Class | Intake to PR | Send-backs |\n|---|---|---|---|---|\n");
    for (id, line, took) in slow.iter().take(SLOWEST) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            id.short(),
            cell(&line.title),
            class(line.class),
            duration(Some(took.as_secs_f64())),
            line.send_backs
        );
    }
    out.push('\n');
}

fn breakers_and_environment(out: &mut String, log: &Log, since: Timestamp) {
    out.push_str("## Breaker trips\n\n");
    let trips: Vec<_> = log.breakers.iter().filter(|(_, at, _, _)| *at >= since).collect();
    if trips.is_empty() {
        out.push_str("None.\n\n");
    } else {
        out.push_str("| Task | Title | Breaker | Evidence | When |\n|---|---|---|---|---|\n");
        for (task, at, breaker, evidence) in trips {
            let _ = writeln!(
                out,
                "| {} | {} | {breaker} | {} | {} |",
                task.short(),
                log.title(*task),
                cell(evidence),
                at.strftime("%Y-%m-%d %H:%M")
            );
        }
        out.push('\n');
    }
    out.push_str("## Environment failures\n\n");
    let gates: Vec<_> = log.gates.iter().filter(|gate| gate.at >= since).collect();
    if gates.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    out.push_str("| Task | Title | Gate | Cause | Decision |\n|---|---|---|---|---|\n");
    for gate in gates {
        let decision = gate.decision.map_or_else(|| "**waiting**".into(), |d| d.to_string());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {decision} |",
            gate.task.short(),
            log.title(gate.task),
            gate.kind,
            cell(&gate.reason)
        );
    }
    out.push_str(
        "\nA cause in the environment (a registry out of reach, a missing toolchain, a full disk) is fixed \
                  there, not in the code: `ambidex doctor` checks the usual ones.\n\n",
    );
}

fn strategies(out: &mut String, metrics: &MetricsReport) {
    out.push_str("## Strategy wins and losses by class\n\n");
    if metrics.strategies.is_empty() {
        out.push_str("The Left Hand explored no task.\n\n");
        return;
    }
    let mut by_class: BTreeMap<TaskKind, Vec<_>> = BTreeMap::new();
    for record in &metrics.strategies {
        by_class.entry(record.class).or_default().push(record);
    }
    out.push_str("| Class | Strategy | Wins | Losses | Runs |\n|---|---|---|---|---|\n");
    for (class, records) in by_class {
        for r in records {
            let _ = writeln!(out, "| {class} | {} | {} | {} | {} |", r.strategy, r.wins, r.runs - r.wins, r.runs);
        }
    }
    out.push('\n');
}

fn promotions(out: &mut String, versions: &[PlaybookVersion]) {
    out.push_str("## Pending promotions\n\n");
    let proposed: Vec<_> = versions.iter().filter(|v| v.status == VersionStatus::Proposed).collect();
    if proposed.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    for version in proposed {
        let _ = write!(out, "- **{} {}** by {}", version.name, version.short(), cell(&version.author.to_string()));
        match &version.evaluation {
            None => {
                let _ =
                    writeln!(out, ": no shadow evaluation yet; run `ambidex playbook evaluate {}`", version.short());
            }
            Some(evaluation) => {
                let criteria = promotion_criteria(version);
                let unmet: Vec<&str> = criteria.iter().filter(|c| !c.met).map(|c| c.name.as_str()).collect();
                let _ = write!(
                    out,
                    ": evaluated {} on {} cases, resolved {} vs {} for the active version; ",
                    evaluation.at.strftime("%Y-%m-%d"),
                    evaluation.cases.len(),
                    evaluation.proposal.resolved(),
                    evaluation.baseline.resolved()
                );
                if unmet.is_empty() {
                    let _ = writeln!(out, "every criterion met: `ambidex playbook promote {}`", version.short());
                } else {
                    let _ = writeln!(out, "not met: {}", unmet.join("; "));
                }
            }
        }
    }
    out.push('\n');
}

fn retirements(out: &mut String, versions: &[PlaybookVersion]) {
    out.push_str("## Retirement proposals\n\n");
    let flagged: Vec<_> =
        versions.iter().filter(|v| v.status == VersionStatus::Active && !v.retirement.is_empty()).collect();
    if flagged.is_empty() {
        out.push_str("None: no active version hits a retirement criterion.\n\n");
        return;
    }
    for version in flagged {
        let _ = writeln!(out, "- **{} {}** (serves {}):", version.name, version.short(), classes(&version.classes));
        for hit in &version.retirement {
            let _ = writeln!(out, "  - {}", cell(hit));
        }
    }
    out.push_str(
        "\nRetire one with `ambidex playbook retire VERSION --reason \"…\"` (its parent of the same name comes back), \
         or keep it: only a person decides.\n\n",
    );
}

/// Memory and museum proposals waiting for a person, and memory gone stale.
fn waiting(out: &mut String, reader: &StoreReader, now: Timestamp) -> Result<(), String> {
    let memory = reader.memory().map_err(|err| err.to_string())?;
    let museum = reader.museum().map_err(|err| err.to_string())?;
    out.push_str("## Waiting for review\n\n");
    let pending: Vec<_> = memory.iter().filter(|e| e.status == MemoryStatus::Pending).collect();
    let _ = writeln!(out, "**Memory proposals**: {}", pending.len());
    for entry in &pending {
        let _ = writeln!(out, "- {} ({}): {}", entry.id.short(), entry.kind, first_line(&entry.text));
    }
    if !pending.is_empty() {
        out.push_str("\n`ambidex memory accept ID` or `ambidex memory reject ID`.\n");
    }
    let mut tracked: HashMap<&str, Vec<String>> = HashMap::new();
    let stale: Vec<_> = memory
        .iter()
        .filter_map(|entry| {
            let files = tracked.entry(&entry.repo).or_insert_with(|| {
                let dir = Path::new(&entry.repo);
                if dir.is_dir() { ambidex::workspace::tracked_files(dir, 1_000_000) } else { Vec::new() }
            });
            staleness(entry, files, now).map(|why| (entry, why))
        })
        .collect();
    let _ = writeln!(out, "\n**Stale memory to prune**: {}", stale.len());
    for (entry, why) in &stale {
        let _ = writeln!(out, "- {} ({why}): {}", entry.id.short(), first_line(&entry.text));
    }
    if !stale.is_empty() {
        out.push_str("\n`ambidex memory prune --apply` removes them, or `ambidex memory rm ID` one.\n");
    }
    let exhibits: Vec<_> = museum.iter().filter(|e| e.status == ExhibitStatus::Pending).collect();
    let _ = writeln!(out, "\n**Museum proposals**: {}", exhibits.len());
    for exhibit in &exhibits {
        let _ = writeln!(out, "- {}: {}", exhibit.id.short(), cell(&exhibit.title));
    }
    if !exhibits.is_empty() {
        out.push_str("\n`ambidex museum accept ID` keeps one, `ambidex museum reject ID` declines it.\n");
    }
    out.push('\n');
    Ok(())
}

/// `text` fit for a table cell or a list item: one line, no `|`, at most [`CELL`] characters.
fn cell(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|");
    match flat.char_indices().nth(CELL) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

fn first_line(text: &str) -> String {
    cell(text.lines().next().unwrap_or_default())
}

fn class(class: Option<TaskKind>) -> String {
    class.map_or_else(|| "-".into(), |c| c.to_string())
}

fn classes(classes: &[TaskKind]) -> String {
    classes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_one_line_without_pipes_and_bounded() {
        assert_eq!(cell("a | b\n  c"), "a \\| b c");
        let long = "x".repeat(CELL + 10);
        assert_eq!(cell(&long).chars().count(), CELL + 1);
        assert!(cell(&long).ends_with('…'));
    }
}
