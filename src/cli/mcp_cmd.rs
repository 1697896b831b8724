//! `ambidex mcp list|check`: the MCP servers `[mcp.servers]` configures, each connected once,
//! with its tools and what the policy says about each (allow, prompt, forbid); `check` says why a
//! server could not be reached and exits 1 then.

use clap::Subcommand;

use super::{Context, Outcome};
use ambidex::config::McpVerdict;
use ambidex::mcp::{McpCheck, McpHub};

#[derive(Debug, Subcommand)]
pub enum McpCmd {
    /// List each server's tools, the names models see and what the policy says about each
    List {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Connect to each server and say whether it answers, how fast and with how many tools;
    /// exit 1 when one does not
    Check {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: McpCmd, context: &Context) -> Result<Outcome, String> {
    let (listing, json) = match command {
        McpCmd::List { json } => (true, json),
        McpCmd::Check { json } => (false, json),
    };
    let config = &context.effective.config.mcp;
    if config.servers.is_empty() {
        if json {
            println!("[]");
        } else {
            println!(
                "no MCP server is configured; add one to your user config, e.g.\n\n  [mcp.servers.docs]\n  command = \
                 \"docs-mcp-server\"\n  allow = [\"search\"]\n\nand offer its tools in a playbook stage: tools = [..., \
                 \"mcp:docs\"]"
            );
        }
        return Ok(Outcome::Done);
    }
    let root = ambidex::workspace::repo_root(&context.repo_dir).unwrap_or_else(|| context.repo_dir.clone());
    let hub = McpHub::new(config, &root).map_err(|err| err.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|err| format!("cannot start the async runtime: {err}"))?;
    let checks = runtime.block_on(async {
        let checks = hub.check().await;
        hub.shutdown().await;
        checks
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&checks).map_err(|err| err.to_string())?);
    } else {
        for check in &checks {
            print!("{}", if listing { describe_tools(check) } else { describe_health(check) });
        }
    }
    let failed = checks.iter().any(|check| check.error.is_some());
    Ok(if failed && !listing { Outcome::Exit(1) } else { Outcome::Done })
}

fn describe_health(check: &McpCheck) -> String {
    match &check.error {
        None => {
            format!("{}: ok ({}, {} tools, {} ms)\n", check.server, check.transport, check.tools.len(), check.millis)
        }
        Some(error) => format!("{}: FAILED ({}): {error}\n", check.server, check.transport),
    }
}

fn describe_tools(check: &McpCheck) -> String {
    let mut text = format!("{} ({})\n", check.server, check.transport);
    if let Some(error) = &check.error {
        text.push_str(&format!("  could not list its tools: {error}\n"));
        return text;
    }
    for tool in &check.tools {
        let verdict = match tool.verdict {
            McpVerdict::Allow => "allow ",
            McpVerdict::Prompt => "prompt",
            McpVerdict::Forbid => "forbid",
        };
        let summary = tool.description.lines().next().unwrap_or_default();
        text.push_str(&format!("  {verdict}  {:<32} {summary}\n", tool.exposed));
    }
    text
}
