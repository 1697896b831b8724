//! Every `ambidex …` command the README shows exists: its subcommand path answers `--help`.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
}

use support::cli::Sandbox;

/// The subcommand path of a command line: the words after `ambidex` (or `cargo run --release --`)
/// up to the first flag, placeholder or argument.
fn subcommand_path(line: &str) -> Option<Vec<String>> {
    let rest = if let Some(at) = line.find("cargo run --release --") {
        &line[at + "cargo run --release --".len()..]
    } else {
        let at = line.find("ambidex ")?;
        // `ambidex` as a word, not part of a path such as `.ambidex/config.toml`.
        if at > 0 && !line[..at].ends_with([' ', '`', '(', '$']) {
            return None;
        }
        &line[at + "ambidex ".len()..]
    };
    let words: Vec<String> = rest
        .split_whitespace()
        .take_while(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.starts_with('-'))
        .map(str::to_owned)
        .collect();
    Some(words)
}

/// Command lines from the README's code blocks and inline code spans.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut lines = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            lines.push(line.to_owned());
        } else {
            lines.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    lines.into_iter().filter(|l| l.contains("ambidex ") || l.contains("cargo run --release --")).collect()
}

#[test]
fn every_command_the_readme_shows_answers_help() {
    let sandbox = Sandbox::new();
    let mut checked = std::collections::BTreeSet::new();
    for line in readme_commands() {
        let Some(path) = subcommand_path(&line) else { continue };
        // Nested subcommands may be written with `/` separated alternatives (`gate list / gate approve`).
        if !checked.insert(path.clone()) {
            continue;
        }
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = sandbox.run(&args);
        assert_eq!(run.code, 0, "`ambidex {}` from the README line `{line}`: {}", args.join(" "), run.stderr);
    }
    assert!(checked.len() >= 15, "the README shows the commands: {checked:?}");
}

#[test]
fn the_path_of_a_command_stops_at_its_first_argument() {
    assert_eq!(subcommand_path("ambidex gate approve ID --choose x"), Some(vec!["gate".into(), "approve".into()]));
    assert_eq!(subcommand_path("cargo run --release -- demo --headless"), Some(vec!["demo".into()]));
    assert_eq!(subcommand_path("edit .ambidex/config.toml then"), None);
    assert_eq!(subcommand_path("ambidex task import github:OWNER/REPO#N"), Some(vec!["task".into(), "import".into()]));
}
