//! Keeping a task's bulky outputs (command logs, patches, PR documents, evaluation outputs) in
//! the artifact store, and the event that names them by content hash. A store that fails does
//! not fail the task: the event says what was not kept and why.

use std::path::Path;

use super::Engine;
use crate::artifacts::ArtifactError;
use crate::protocol::{Actor, ArtifactKind, ArtifactRef, Digest, EventKind, NewEvent, TaskId};

/// The largest file under a directory that is kept whole; larger ones are skipped, named in
/// what is kept instead.
const LARGEST_FILE: u64 = 64 << 20;

/// One output to keep.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    /// What it holds.
    pub kind: ArtifactKind,
    /// What it is, for a human.
    pub name: String,
    /// Its bytes (text is redacted before it is stored).
    pub bytes: Vec<u8>,
}

impl Output {
    /// An output of `kind` named `name`.
    pub fn new(kind: ArtifactKind, name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Output {
        Output { kind, name: name.into(), bytes: bytes.into() }
    }
}

impl Engine {
    /// The bytes of artifact `digest`, checked against it, from this engine's artifact store.
    pub async fn fetch_artifact(&self, digest: &Digest) -> Result<Vec<u8>, ArtifactError> {
        self.artifacts.get(digest).await
    }

    /// Stores `outputs` and returns the event naming them for task `id`, for the caller to append
    /// with the events they belong to (`None` when there is nothing to keep). Text is redacted
    /// first, as every stored text is.
    pub(crate) async fn keep(&self, id: TaskId, outputs: Vec<Output>) -> Option<NewEvent> {
        if outputs.is_empty() {
            return None;
        }
        let (mut artifacts, mut failed) = (Vec::with_capacity(outputs.len()), Vec::new());
        let mut down: Option<String> = None;
        for output in outputs {
            if let Some(why) = &down {
                // One wait for a store that does not answer is enough for the whole batch.
                failed.push(format!("{}: not tried, the store failed just before: {why}", output.name));
                continue;
            }
            match self.artifacts.put(output.kind, &output.name, self.redacted(output.bytes)).await {
                Ok(artifact) => artifacts.push(artifact),
                Err(err @ ArtifactError::Unavailable { .. }) => {
                    failed.push(format!("{}: {err}", output.name));
                    down = Some(err.to_string());
                }
                Err(err) => failed.push(format!("{}: {err}", output.name)),
            }
        }
        Some(NewEvent::for_task(id, Actor::Orchestrator, EventKind::ArtifactsStored { artifacts, failed }))
    }
}

impl Engine {
    /// `bytes` with every secret the redactor knows taken out. Bytes that are not UTF-8 are read
    /// leniently to look for secrets, and stored as they were when none is found.
    fn redacted(&self, bytes: Vec<u8>) -> Vec<u8> {
        match String::from_utf8(bytes) {
            Ok(text) => self.redactor.redact(&text).into_owned().into_bytes(),
            Err(binary) => {
                let lenient = String::from_utf8_lossy(binary.as_bytes()).into_owned();
                match self.redactor.redact(&lenient) {
                    std::borrow::Cow::Owned(cleaned) => cleaned.into_bytes(),
                    std::borrow::Cow::Borrowed(_) => binary.into_bytes(),
                }
            }
        }
    }
}

/// Every file under `dir` as an output of `kind` named by its path relative to `dir`, less those
/// `kept` already names (a run directory is new each run, so what was kept before is skipped).
pub(crate) fn files_under(dir: &Path, kind: ArtifactKind, kept: &[ArtifactRef]) -> Vec<Output> {
    let mut outputs = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(at) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.push(path);
                continue;
            }
            let name = path.strip_prefix(dir).unwrap_or(&path).display().to_string();
            if !meta.is_file() || kept.iter().any(|k| k.kind == kind && k.name == name) {
                continue;
            }
            if meta.len() > LARGEST_FILE {
                outputs.push(Output::new(kind, name, format!("not kept: {} bytes is over the limit", meta.len())));
            } else if let Ok(bytes) = std::fs::read(&path) {
                outputs.push(Output::new(kind, name, bytes));
            }
        }
    }
    outputs.sort_by(|a, b| a.name.cmp(&b.name));
    outputs
}
