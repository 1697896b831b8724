//! `ambidex task import REF`: read an issue from GitHub or GitLab and submit it as a task, with
//! acceptance criteria from its checklists and "Acceptance criteria" sections and a link back.

use std::sync::Arc;

use clap::Args;

use super::task::{resolve_repo, submit};
use super::{Context, Outcome};
use ambidex::forge::{self, IssueRef, RetryObserver, spec_from_issue, token};
use ambidex::protocol::{Risk, TaskKind};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The issue: `github:OWNER/REPO#N`, `gitlab:GROUP/PROJECT#N`, or its URL
    #[arg(value_name = "REF")]
    reference: String,
    /// The branch the PR should target (default: the repository's current branch)
    #[arg(long, value_name = "BRANCH")]
    target_branch: Option<String>,
    /// The declared risk: low, medium, high or critical
    #[arg(long)]
    risk: Option<Risk>,
    /// The declared kind (default: from the issue's labels, else triage decides)
    #[arg(long)]
    kind: Option<TaskKind>,
    /// A command that validates the change, e.g. "cargo test" (repeatable)
    #[arg(long = "validate", value_name = "COMMAND")]
    validation: Vec<String>,
    /// Print the stored task as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(args: ImportArgs, context: &Context) -> Result<Outcome, String> {
    let forges = &context.effective.config.forges;
    let issue = IssueRef::parse(&args.reference, forges).map_err(|err| err.to_string())?;
    let token = token::resolve(issue.kind, forges).map_err(|err| err.to_string())?;
    let observer: RetryObserver = Arc::new(|notice| {
        eprintln!(
            "{}: {}; retrying in {:.1} s (attempt {})",
            notice.forge.display_name(),
            notice.reason,
            notice.delay.as_secs_f64(),
            notice.attempt + 1
        );
    });
    let client = forge::client(issue.kind, forges, token, Some(observer)).map_err(|err| err.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the async runtime: {err}"))?;
    let fetched = runtime.block_on(client.fetch_issue(&issue)).map_err(|err| err.to_string())?;
    let mut spec = spec_from_issue(&fetched);
    spec.repo = Some(resolve_repo(None, &context.repo_dir));
    spec.target_branch = args.target_branch;
    spec.risk = args.risk;
    spec.kind = args.kind.or(spec.kind);
    spec.validation = args.validation;
    let task = submit(spec, context)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&task).map_err(|err| err.to_string())?);
        return Ok(Outcome::Done);
    }
    println!("imported {issue} as task {} ({}): {}", task.id.short(), task.id, task.spec.title);
    println!("  issue     {}", fetched.url);
    println!("  criteria  {}", task.spec.acceptance_criteria.len());
    if !task.spec.labels.is_empty() {
        println!("  labels    {}", task.spec.labels.join(", "));
    }
    println!("  status    {}", task.status);
    if task.spec.acceptance_criteria.is_empty() {
        println!(
            "  the issue has no checklist or \"Acceptance criteria\" section; intake may ask for criteria \
             (`ambidex task show {}`)",
            task.id.short()
        );
    }
    println!("run it with `ambidex run --task {}`", task.id.short());
    super::task::report_readiness(&task, context);
    Ok(Outcome::Done)
}
