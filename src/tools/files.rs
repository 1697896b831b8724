//! The file tools: read a numbered window, write a whole file, replace one exact passage.
//!
//! Every answer is text meant for a model: empty results say so, long results are cut with a note
//! saying how to see the rest, and mistakes (an ambiguous edit, a missing file) say what to do.

use std::path::Path;

use super::confine::Confined;
use super::output::ToolOutput;
use super::schema::SearchArgs;
use crate::context::{SearchQuery, search as search_repo};

/// Lines shown by `read_file` when the call names no count.
pub const DEFAULT_READ_LINES: usize = 250;
/// The most lines one `read_file` call shows.
pub const MAX_READ_LINES: usize = 2000;
/// Longest line shown whole; longer ones are cut with a marker.
pub const MAX_LINE_CHARS: usize = 2000;
/// Files larger than this are not read whole by the file tools.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

fn looks_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|&b| b == 0)
}

fn read_text(path: &Path, shown: &str) -> Result<String, ToolOutput> {
    let metadata = std::fs::metadata(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => {
            ToolOutput::error(format!("`{shown}` does not exist; use list_files to see what does"))
        }
        _ => ToolOutput::error(format!("cannot read `{shown}`: {err}")),
    })?;
    if metadata.is_dir() {
        return Err(ToolOutput::error(format!("`{shown}` is a directory; use list_files")));
    }
    if !metadata.is_file() {
        return Err(ToolOutput::error(format!(
            "`{shown}` is {}, not a regular file; the file tools only read regular files",
            crate::protocol::bounded::kind_of(metadata.file_type())
        )));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(ToolOutput::error(format!(
            "`{shown}` is {} bytes, too large to read here; use search to find the part you need",
            metadata.len()
        )));
    }
    // FIFOs, sockets and devices are refused without blocking (checked on the open descriptor).
    let bytes = crate::protocol::bounded::read_regular(path, MAX_FILE_BYTES)
        .map_err(|err| ToolOutput::error(format!("cannot read `{shown}`: {err}")))?;
    if looks_binary(&bytes) {
        return Err(ToolOutput::error(format!("`{shown}` is a binary file ({} bytes); it is not shown", bytes.len())));
    }
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

/// `read_file`: lines `start..start+count` (1-based), numbered.
pub fn read_file(confined: &Confined, path: &str, start_line: Option<usize>, max_lines: Option<usize>) -> ToolOutput {
    let full = match confined.read_path(path) {
        Ok(full) => full,
        Err(err) => return ToolOutput::error(err.to_string()),
    };
    let text = match read_text(&full, path) {
        Ok(text) => text,
        Err(output) => return output,
    };
    if text.is_empty() {
        return ToolOutput::ok(format!("`{path}` is empty (0 lines)"));
    }
    let lines: Vec<&str> = text.lines().collect();
    let total = lines.len();
    let start = start_line.unwrap_or(1).max(1);
    if start > total {
        return ToolOutput::error(format!("`{path}` has {total} lines; start_line {start} is past the end"));
    }
    let count = max_lines.unwrap_or(DEFAULT_READ_LINES).clamp(1, MAX_READ_LINES);
    let end = (start - 1 + count).min(total);
    let width = end.to_string().len();
    let mut out = String::with_capacity(text.len().min(count * 80));
    for (offset, line) in lines[start - 1..end].iter().enumerate() {
        let number = start + offset;
        if line.chars().count() > MAX_LINE_CHARS {
            let cut: String = line.chars().take(MAX_LINE_CHARS).collect();
            out.push_str(&format!("{number:>width$}│{cut}… [line cut at {MAX_LINE_CHARS} characters]\n"));
        } else {
            out.push_str(&format!("{number:>width$}│{line}\n"));
        }
    }
    if end < total {
        out.push_str(&format!(
            "[showing lines {start}-{end} of {total}; call read_file with start_line={} to continue]\n",
            end + 1
        ));
    }
    ToolOutput::ok(out)
}

/// Entries `list_files` shows at most.
pub const MAX_LIST_ENTRIES: usize = 400;

/// `list_files`: the directory's tree to `max_depth` (default 3), gitignored files left out.
pub fn list_files(confined: &Confined, path: Option<&str>, max_depth: Option<usize>) -> ToolOutput {
    let dir = match path.filter(|p| !p.trim().is_empty() && p.trim() != ".") {
        Some(path) => match confined.read_path(path) {
            Ok(dir) => dir,
            Err(err) => return ToolOutput::error(err.to_string()),
        },
        None => confined.root().to_owned(),
    };
    if !dir.is_dir() {
        return ToolOutput::error(format!("`{}` is not a directory", path.unwrap_or(".")));
    }
    let depth = max_depth.unwrap_or(3).clamp(1, 10);
    let walker = ignore::WalkBuilder::new(&dir)
        .hidden(false)
        .git_ignore(true)
        .require_git(false)
        .max_depth(Some(depth))
        .sort_by_file_path(|a, b| a.cmp(b))
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();
    let mut lines = Vec::new();
    let mut total = 0usize;
    for entry in walker.flatten() {
        if entry.depth() == 0 {
            continue;
        }
        total += 1;
        if lines.len() < MAX_LIST_ENTRIES {
            let shown = confined.display(entry.path());
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            lines.push(if is_dir { format!("{shown}/") } else { shown });
        }
    }
    if total == 0 {
        return ToolOutput::ok(format!("`{}` is empty (or holds only ignored files)", path.unwrap_or(".")));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    if total > lines.len() {
        text.push_str(&format!(
            "[showing {} of {total} entries; list a subdirectory or lower max_depth to see the rest]\n",
            lines.len()
        ));
    }
    ToolOutput::ok(text)
}

/// `search`: regex search over the workspace, bounded, with line numbers.
pub fn search(confined: &Confined, args: &SearchArgs) -> ToolOutput {
    let mut query = SearchQuery::new(args.pattern.clone());
    query.globs = args.glob.iter().cloned().collect();
    query.context_lines = args.context.unwrap_or(0).min(10);
    query.case_insensitive = args.case_insensitive;
    query.max_matches = 100;
    match search_repo(confined.root(), &query) {
        Ok(results) => ToolOutput::ok(results.render()),
        Err(err) => ToolOutput::error(err.to_string()),
    }
}

/// Replaces the contents of the regular file at `path` (creating it), never opening a FIFO,
/// socket or device: the open does not block, and the descriptor is checked before truncating.
fn write_regular(path: &Path, shown: &str, content: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|err| format!("cannot write `{shown}`: {err}"))?;
    let metadata = file.metadata().map_err(|err| format!("cannot write `{shown}`: {err}"))?;
    if !metadata.is_file() {
        return Err(format!(
            "`{shown}` is {}, not a regular file; the file tools only write regular files",
            crate::protocol::bounded::kind_of(metadata.file_type())
        ));
    }
    file.set_len(0).map_err(|err| format!("cannot write `{shown}`: {err}"))?;
    file.write_all(content.as_bytes()).map_err(|err| format!("cannot write `{shown}`: {err}"))
}

/// `write_file`: creates or replaces a whole file (parent directories included).
pub fn write_file(confined: &Confined, path: &str, content: &str) -> ToolOutput {
    let full = match confined.write_path(path) {
        Ok(full) => full,
        Err(err) => return ToolOutput::error(err.to_string()),
    };
    if full.is_dir() {
        return ToolOutput::error(format!("`{path}` is a directory"));
    }
    let existed = full.exists();
    if let Some(parent) = full.parent()
        && let Err(err) = std::fs::create_dir_all(parent)
    {
        return ToolOutput::error(format!("cannot create the directory for `{path}`: {err}"));
    }
    match write_regular(&full, path, content) {
        Ok(()) => ToolOutput::ok(format!(
            "{} `{path}` ({} bytes, {} lines)",
            if existed { "replaced" } else { "created" },
            content.len(),
            content.lines().count()
        ))
        .changed(path),
        Err(message) => ToolOutput::error(message),
    }
}

/// `edit_file`: replaces the one occurrence of `old` with `new`; refuses zero or several.
pub fn edit_file(confined: &Confined, path: &str, old: &str, new: &str) -> ToolOutput {
    if old.is_empty() {
        return ToolOutput::error("`old` is empty; to create or replace a whole file use write_file".to_owned());
    }
    let full = match confined.write_path(path) {
        Ok(full) => full,
        Err(err) => return ToolOutput::error(err.to_string()),
    };
    let text = match read_text(&full, path) {
        Ok(text) => text,
        Err(output) => return output,
    };
    let starts: Vec<usize> = text.match_indices(old).map(|(at, _)| at).collect();
    let line_of = |offset: usize| 1 + text[..offset].matches('\n').count();
    match starts.as_slice() {
        [] => ToolOutput::error(format!(
            "0 matches: `old` does not occur in `{path}` ({} lines); read the file again and copy the exact text, \
             including whitespace",
            text.lines().count()
        )),
        [at] => {
            let mut updated = String::with_capacity(text.len() + new.len());
            updated.push_str(&text[..*at]);
            updated.push_str(new);
            updated.push_str(&text[at + old.len()..]);
            if let Err(message) = write_regular(&full, path, &updated) {
                return ToolOutput::error(message);
            }
            let line = line_of(*at);
            ToolOutput::ok(format!(
                "edited `{path}` at line {line}: {} lines replaced by {}",
                old.lines().count().max(1),
                new.lines().count()
            ))
            .changed(path)
        }
        many => {
            let lines: Vec<String> = many.iter().map(|&at| line_of(at).to_string()).collect();
            ToolOutput::error(format!(
                "{} matches in `{path}`, at lines {}; include more surrounding text in `old` so it matches once",
                many.len(),
                lines.join(", ")
            ))
        }
    }
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
