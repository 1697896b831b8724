//! `ambidex search`: gitignore-aware regex search with line numbers and bounded output, the same
//! search agents get as their `search` tool.

use std::io::Write;

use clap::Args;

use super::{Context, Outcome};
use ambidex::context::{SearchQuery, search};

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The regular expression to look for (Rust regex syntax, as ripgrep)
    pattern: String,
    /// Search only files matching this glob, or skip them with a leading `!` (repeatable)
    #[arg(long, short = 'g', value_name = "GLOB")]
    glob: Vec<String>,
    /// Lines of context before and after each match
    #[arg(long, short = 'C', value_name = "N", default_value_t = 0)]
    context: usize,
    /// The most matching lines to print; the rest are counted
    #[arg(long, value_name = "N", default_value_t = 200)]
    max: usize,
    /// Cut lines longer than this many characters
    #[arg(long, value_name = "N", default_value_t = 300)]
    max_line_len: usize,
    /// Match regardless of case
    #[arg(long, short = 'i')]
    ignore_case: bool,
    /// Take the pattern as a literal string
    #[arg(long, short = 'F')]
    fixed_strings: bool,
    /// Print JSON instead of `path:line:text` lines
    #[arg(long)]
    json: bool,
}

/// Exit code when nothing matched, as grep and ripgrep do.
const NO_MATCH: u8 = 1;

pub fn run(args: SearchArgs, context: &Context) -> Result<Outcome, String> {
    let query = SearchQuery {
        globs: args.glob,
        context_lines: args.context,
        max_matches: args.max,
        max_line_len: args.max_line_len,
        case_insensitive: args.ignore_case,
        fixed_strings: args.fixed_strings,
        ..SearchQuery::new(args.pattern)
    };
    let results = search(&context.repo_dir, &query).map_err(|err| err.to_string())?;
    let text = if args.json {
        serde_json::to_string_pretty(&results).map_err(|err| err.to_string())? + "\n"
    } else {
        results.render()
    };
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if results.total_matches == 0 {
        return Ok(Outcome::Exit(NO_MATCH));
    }
    Ok(Outcome::Done)
}
