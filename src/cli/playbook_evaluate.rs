//! `ambidex playbook evaluate`: the shadow evaluation of a proposed playbook. The museum's
//! exhibits relevant to its classes and a held-out set of past tasks are replayed in scratch
//! engines and worktrees, once with the proposal and once with the version it would replace, on
//! the configured model, under a budget printed before anything runs (see
//! `orchestrator::shadow`). The version-level evidence matrix is printed and recorded on the
//! proposal, where the promotion gate (`ambidex playbook promote`) shows it.
//!
//! Exit codes: 0 when every case was replayed, 2 when the budget (or the model provider) stopped
//! the evaluation early and what it had was recorded, 1 on an error.

use std::fmt::Write as _;

use ambidex::orchestrator::Engine;
use ambidex::orchestrator::shadow::{self, Options, Plan, Progress};
use ambidex::protocol::{Actor, money};
use serde_json::json;

use super::{Context, Outcome, Writer, playbook_show, table};

/// `ambidex playbook evaluate PROPOSAL [--against VERSION] [--budget USD] [--json]`.
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// The proposal (its hash or a unique prefix of it)
    // Its own id: `version` is the name of the global `--version` flag.
    #[arg(id = "proposal", value_name = "PROPOSAL")]
    version: String,
    /// The version to compare with [default: the proposal's parent, else the version active for
    /// its classes]
    #[arg(long, value_name = "VERSION")]
    against: Option<String>,
    /// The most the evaluation may spend, in US dollars: it stops once spent and records the
    /// cases replayed with both versions by then
    #[arg(long, value_name = "USD")]
    budget: Option<f64>,
    /// Print the recorded evaluation as JSON (progress still goes to stderr)
    #[arg(long)]
    json: bool,
}

/// Runs the evaluation and records it on the proposal.
pub fn run(args: EvaluateArgs, context: &Context) -> Result<Outcome, String> {
    let budget = args.budget.map(dollars).transpose()?;
    let engine = match context.writer()? {
        Writer::Local(engine) => engine,
        Writer::Remote(_) => {
            return Err("a running engine (the control room or `ambidex serve`) holds the store: stop it, then run \
                        the evaluation again (its replays run in this process and the result is recorded in the \
                        store)"
                .into());
        }
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|err| format!("cannot start the async runtime: {err}"));
    let result = runtime.and_then(|runtime| runtime.block_on(evaluate(&engine, &args, budget, context)));
    engine.shutdown();
    result
}

/// `usd` in micro-dollars, refused unless it is a positive amount.
fn dollars(usd: f64) -> Result<u64, String> {
    if !usd.is_finite() || usd <= 0.0 {
        return Err(format!("--budget {usd}: give a positive amount of US dollars, e.g. `--budget 5`"));
    }
    Ok((usd * 1e6).round() as u64)
}

async fn evaluate(
    engine: &Engine,
    args: &EvaluateArgs,
    budget: Option<u64>,
    context: &Context,
) -> Result<Outcome, String> {
    let plan = shadow::plan(engine, &args.version, args.against.as_deref()).map_err(|err| err.to_string())?;
    eprint!("{}", announce(&plan, budget));
    if plan.cases.is_empty() {
        return Err(format!(
            "nothing to replay: the museum has no kept, verified exhibit for this repository and no past {} task \
             reached a PR; keep an exhibit (`ambidex museum add`) or run tasks of the class first",
            classes(&plan)
        ));
    }
    let options = Options { scratch: context.state_dir.join("scratch"), budget_micros: budget };
    let total = plan.cases.len();
    let mut progress = |event: Progress<'_>| match event {
        Progress::Started { index, case, column, version } => eprintln!(
            "[{}/{total}] {} \"{}\" with the {column} {}…",
            index + 1,
            shadow::label(&case.case),
            case.case.title,
            version.short()
        ),
        Progress::Finished { outcome, .. } => eprintln!(
            "        {} {} ({}, {:.1}s, {} changed lines, {} send-backs)",
            if outcome.resolved { "✓" } else { "✗" },
            outcome.ending,
            money(outcome.cost_micros),
            outcome.millis as f64 / 1000.0,
            outcome.diff_lines,
            outcome.send_backs
        ),
    };
    let shadow = shadow::run(engine, &plan, &options, &mut progress).await.map_err(|err| err.to_string())?;
    for warning in &shadow.warnings {
        eprintln!("warning: {warning}");
    }
    if shadow.evaluation.cases.is_empty() {
        let why = shadow.stopped.as_deref().unwrap_or("no case finished");
        return Err(format!(
            "{why}; no case was replayed with both versions, so nothing is recorded (spent {}); raise --budget",
            money(shadow.spent_micros)
        ));
    }
    let recorded = shadow::record(engine, &plan.proposal, shadow.evaluation, Actor::local_human())
        .await
        .map_err(|err| err.to_string())?;
    let evaluation = recorded.evaluation.as_deref().ok_or("the recorded version carries no evaluation")?;
    if args.json {
        let shown = json!({
            "version": recorded.hash,
            "evaluation": evaluation,
            "spent_micros": shadow.spent_micros,
            "stopped": shadow.stopped,
            "skipped": plan.skipped,
        });
        println!("{}", serde_json::to_string_pretty(&shown).map_err(|err| err.to_string())?);
    } else {
        let registry = engine.registry().map_err(|err| err.to_string())?;
        print!("{}", playbook_show::matrix(evaluation, &registry));
        println!("spent {} of {}", money(shadow.spent_micros), money(evaluation.budget_micros));
        println!(
            "recorded on {} {}; `ambidex playbook promote {}` shows the promotion criteria",
            recorded.name,
            recorded.short(),
            recorded.short()
        );
    }
    match &shadow.stopped {
        Some(why) => {
            eprintln!("stopped early: {why}; the cases replayed with both versions were recorded");
            Ok(Outcome::Exit(2))
        }
        None => Ok(Outcome::Done),
    }
}

fn classes(plan: &Plan) -> String {
    plan.classes.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("/")
}

/// What will run, with what, and the budget, before anything does.
fn announce(plan: &Plan, budget: Option<u64>) -> String {
    let mut out = format!(
        "shadow evaluation of {} {} (proposal) against {} {} for {} tasks, on {}\n",
        plan.proposal.name,
        plan.proposal.short(),
        plan.baseline.name,
        plan.baseline.short(),
        classes(plan),
        plan.model
    );
    if !plan.cases.is_empty() {
        let rows: Vec<Vec<String>> = plan
            .cases
            .iter()
            .map(|case| {
                vec![
                    shadow::label(&case.case),
                    case.case.base.chars().take(10).collect(),
                    money(case.budget_micros),
                    case.case.title.chars().take(60).collect(),
                ]
            })
            .collect();
        for line in table::render(&["CASE", "BASE", "EACH", "TITLE"], &rows).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    for why in &plan.skipped {
        let _ = writeln!(out, "  left out: {why}");
    }
    let _ = write!(
        out,
        "budget: up to {} in all ({} cases × 2 versions, each replay up to its EACH)",
        money(plan.estimate_micros()),
        plan.cases.len()
    );
    match budget {
        Some(cap) => {
            let _ = writeln!(out, "; capped at {} by --budget", money(cap));
        }
        None => out.push('\n'),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_a_positive_amount_of_dollars() {
        assert_eq!(dollars(2.5).unwrap(), 2_500_000);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(dollars(bad).unwrap_err().contains("positive amount"), "{bad}");
        }
    }
}
