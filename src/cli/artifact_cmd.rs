//! `ambidex artifact`: the logs, patches, PR documents and evaluation outputs a task left in the
//! artifact store (`store.artifacts`), listed from its events and fetched by content hash, from
//! any machine that shares the store and the bucket.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use super::{Context, Outcome};
use ambidex::artifacts::ArtifactStore;
use ambidex::protocol::{Digest, human_bytes};

#[derive(Debug, Subcommand)]
pub enum ArtifactCmd {
    /// List what a task kept: kind, size, digest and name
    List {
        /// The task (an id or any unique ending of it)
        task: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Fetch an artifact by its digest (or a unique beginning of one a task names), check its bytes
    /// against the digest, and print it or write it to a file
    Get {
        /// The digest, as `artifact list` shows it
        digest: String,
        /// Write to this file instead of standard output (it must not exist)
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

pub fn run(command: ArtifactCmd, context: &Context) -> Result<Outcome, String> {
    let reader = context.reader()?.ok_or("there are no tasks yet")?;
    match command {
        ArtifactCmd::List { task, json } => {
            let task = reader.find_task(&task).map_err(|err| err.to_string())?;
            if json {
                let text = serde_json::to_string_pretty(&task.artifacts).map_err(|err| err.to_string())?;
                println!("{text}");
                return Ok(Outcome::Done);
            }
            if task.artifacts.is_empty() {
                println!("task {} has kept no artifacts yet", task.id.short());
            }
            for artifact in &task.artifacts {
                let size = human_bytes(artifact.bytes);
                println!("{:<12} {size:>9}  {}  {}", artifact.kind.name(), artifact.digest, artifact.name);
            }
            Ok(Outcome::Done)
        }
        ArtifactCmd::Get { digest, output } => {
            let digest = resolve(&reader, &digest)?;
            let config = &context.effective.config.store;
            let store = ArtifactStore::open(&config.artifacts, &config.artifacts_endpoint, &context.state_dir)
                .map_err(|err| err.to_string())?;
            let runtime =
                tokio::runtime::Runtime::new().map_err(|err| format!("cannot start the async runtime: {err}"))?;
            let bytes = runtime.block_on(store.get(&digest)).map_err(|err| err.to_string())?;
            match output {
                Some(path) => {
                    let mut file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&path)
                        .map_err(|err| format!("cannot create {}: {err} (it must not exist)", path.display()))?;
                    file.write_all(&bytes).map_err(|err| format!("cannot write {}: {err}", path.display()))?;
                    eprintln!("wrote {} ({}) to {}", digest, human_bytes(bytes.len() as u64), path.display());
                }
                None => std::io::stdout().write_all(&bytes).map_err(|err| format!("cannot write: {err}"))?,
            }
            Ok(Outcome::Done)
        }
    }
}

/// The digest `text` names: 64 hex digits, or the beginning of exactly one digest a task names.
fn resolve(reader: &ambidex::store::StoreReader, text: &str) -> Result<Digest, String> {
    let text = text.trim().to_ascii_lowercase();
    if let Some(digest) = Digest::from_hex(&text) {
        return Ok(digest);
    }
    if text.len() < 6 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "`{text}` is not a digest: give 64 hex digits, or at least the first 6 of one `ambidex artifact list TASK` shows"
        ));
    }
    let tasks = reader.tasks().map_err(|err| err.to_string())?;
    let mut found: Vec<Digest> = tasks
        .iter()
        .flat_map(|t| &t.artifacts)
        .map(|a| a.digest)
        .filter(|d| d.to_string().starts_with(&text))
        .collect();
    found.sort_by_key(|d| d.0);
    found.dedup();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!("no task names an artifact whose digest starts with {text}")),
        many => Err(format!("{} artifacts' digests start with {text}: give more digits", many.len())),
    }
}
