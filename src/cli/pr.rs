//! `ambidex pr show`: a task's pull request.

use clap::Subcommand;

use super::{Context, Outcome};

#[derive(Debug, Subcommand)]
pub enum PrCmd {
    /// Show a task's pull request
    Show {
        /// The task (an id or any unique ending of it)
        task: String,
        /// Print the PR document (Markdown) only
        #[arg(long)]
        markdown: bool,
    },
}

pub fn run(command: PrCmd, context: &Context) -> Result<Outcome, String> {
    let PrCmd::Show { task, markdown } = command;
    let reader = context.reader()?.ok_or("there are no tasks yet")?;
    let task = reader.find_task(&task).map_err(|err| err.to_string())?;
    let Some(pr) = &task.pr else {
        let state = match &task.pr_draft {
            Some(draft) => format!("drafted (\"{}\") and waiting for the PR gate", draft.title),
            None => format!("not created yet (the task is {})", task.status),
        };
        return Err(format!("task {} has no PR: {state}", task.id.short()));
    };
    if markdown {
        print!("{}", pr.body);
        return Ok(Outcome::Done);
    }
    println!("{}", pr.title);
    println!("  task      {} ({})", task.id.short(), task.spec.title);
    println!("  branch    {} → {}", pr.branch, pr.base_branch);
    println!("  commit    {}", pr.commit);
    println!("  draft     {}", if pr.draft { "yes" } else { "no" });
    let on_forge = pr.location.starts_with("http://") || pr.location.starts_with("https://");
    println!("  {:<9} {}", if on_forge { "url" } else { "document" }, pr.location);
    let passed = task.validation.iter().filter(|run| run.result.ok).count();
    println!("  tests     {passed} of {} validation commands passed", task.validation.len());
    match &task.ci {
        Some(ci) if ci.commit == pr.commit => {
            println!("  ci        {}", ci.summary());
            for check in ci.checks.iter().filter(|check| check.state != ambidex::protocol::CiState::Passed) {
                let url = check.url.as_deref().map(|url| format!("  {url}")).unwrap_or_default();
                println!("            {} {}{url}", check.state.as_str(), check.name);
            }
        }
        Some(ci) => {
            println!("  ci        {} (of an older commit, {})", ci.summary(), &ci.commit[..ci.commit.len().min(12)])
        }
        None if on_forge => println!("  ci        not read yet (`ambidex serve --watch` reads it)"),
        None => {}
    }
    match &task.rework {
        Some(rework) => println!("  feedback  from {}: reworking it (round {})", rework.from, task.reworks),
        None if task.reworks > 0 => {
            println!("  feedback  {} round(s), each reworked and answered on the PR", task.reworks)
        }
        None => {}
    }
    Ok(Outcome::Done)
}
