//! `ambidex context`: the repository summary an agent starts from (languages, manifests, build
//! and test commands, CI jobs, conventions, history) and the ranked symbol map, fitted to a
//! token budget; as text or JSON.

use std::io::Write;
use std::path::Path;

use clap::Args;

use super::{Context, Outcome};
use ambidex::context::{ContextOptions, RepoContext};
use ambidex::workspace::repo_root;

#[derive(Debug, Args)]
pub struct ContextArgs {
    /// A file, directory or symbol the work is about (repeatable); it steers the ranking
    #[arg(long, value_name = "FILE|SYMBOL")]
    focus: Vec<String>,
    /// The most tokens to print (estimated as characters / 4)
    #[arg(long, value_name = "TOKENS", default_value_t = 4096)]
    budget: usize,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
    /// Tag every file again instead of reading the tag cache
    #[arg(long)]
    no_cache: bool,
}

pub fn run(args: ContextArgs, context: &Context) -> Result<Outcome, String> {
    let dir = &context.repo_dir;
    let root = repo_root(dir).unwrap_or_else(|| dir.clone());
    let mut options = ContextOptions {
        focus: args.focus.iter().map(|f| focus_item(dir, &root, f)).collect(),
        working_dir: Some(dir.clone()),
        ..ContextOptions::default()
    };
    if !args.no_cache {
        options = options.with_state_dir(&context.state_dir);
    }
    let summary = RepoContext::gather(&root, &options).map_err(|err| err.to_string())?;
    let text = if args.json {
        let value = summary.to_json(args.budget);
        serde_json::to_string_pretty(&value).map_err(|err| err.to_string())? + "\n"
    } else {
        summary.render(args.budget)
    };
    let stats = &summary.index;
    eprintln!(
        "context: {} files; symbols of {} source files ({} from the tag cache, {} tagged{}) in {:.2} s",
        summary.files,
        stats.source_files,
        stats.cache_hits,
        stats.cache_misses,
        stats.skipped.summary(options.max_tag_file_size).map(|s| format!(", {s}")).unwrap_or_default(),
        stats.elapsed.as_secs_f64()
    );
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(Outcome::Done)
}

/// A focus item as the ranking expects it: a path relative to the root when it names an existing
/// file or directory (given relative to the working directory, or absolute), else unchanged.
fn focus_item(dir: &Path, root: &Path, item: &str) -> String {
    let path = Path::new(item);
    let full = if path.is_absolute() { path.to_owned() } else { dir.join(path) };
    let canonical = (std::fs::canonicalize(&full), std::fs::canonicalize(root));
    if let (Ok(full), Ok(root)) = canonical
        && let Ok(rel) = full.strip_prefix(&root)
        && !rel.as_os_str().is_empty()
    {
        return rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    }
    item.to_owned()
}
