//! `ambidex config`: the effective configuration and where each key came from.

use clap::Subcommand;
use serde_json::json;

use super::{Context, Outcome};

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print every key with its value and the layer that set it
    Show {
        /// Print JSON instead of TOML-like text
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: ConfigCmd, context: &Context) -> Result<Outcome, String> {
    let ConfigCmd::Show { json } = command;
    let entries = context.effective.entries();
    if json {
        let rows: Vec<_> = entries
            .iter()
            .map(|(key, value, source)| json!({ "key": key, "value": value, "source": source.to_string() }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows).map_err(|err| err.to_string())?);
        return Ok(Outcome::Done);
    }
    let shown: Vec<(String, String)> =
        entries.iter().map(|(key, value, _)| (key.clone(), format!("{key} = {value}"))).collect();
    let width = shown.iter().map(|(_, line)| line.chars().count()).max().unwrap_or(0);
    for ((_, line), (_, _, source)) in shown.iter().zip(&entries) {
        let pad = width - line.chars().count();
        println!("{line}{}  # {source}", " ".repeat(pad));
    }
    println!("# state dir: {}", context.state_dir.display());
    Ok(Outcome::Done)
}
