//! What a command runs on behalf of its arguments: the inner commands of wrappers, `find -exec`,
//! `xargs`, `sh -c`, `eval` and `sudo`, and `git` with its global options taken off.
//!
//! Each wrapper's own options are skipped the way the program reads them (an option that takes a
//! value takes the next word too), so `timeout -s KILL 5 git push` is judged as `git push`. A
//! wrapper whose options this cannot follow, inline code for an interpreter, and a program name
//! computed at run time are findings: at least `prompt`.

use super::shell::{MAX_DEPTH, Simple, Split, Word, split_into};

/// Shells whose `-c` body is parsed.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "posh"];

/// Interpreters, and the options after which their next argument is code.
const INTERPRETERS: &[(&str, &[&str])] = &[
    ("python", &["-c"]),
    ("python2", &["-c"]),
    ("python3", &["-c"]),
    ("pypy", &["-c"]),
    ("pypy3", &["-c"]),
    ("perl", &["-e", "-E"]),
    ("ruby", &["-e"]),
    ("node", &["-e", "--eval", "-p", "--print"]),
    ("nodejs", &["-e", "--eval", "-p", "--print"]),
    ("bun", &["-e", "--eval", "-p", "--print"]),
    ("deno", &["eval"]),
    ("php", &["-r"]),
    ("lua", &["-e"]),
    ("Rscript", &["-e"]),
    ("tclsh", &[]),
    ("osascript", &["-e"]),
];

/// Programs that raise privileges: judged themselves (the policy forbids them) and opened up.
const ESCALATORS: &[&str] = &["sudo", "doas", "pkexec", "run0"];

/// The program's name without its directory.
fn base(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// Adds the command `words` (found inside `via`) and whatever it runs to `out`.
pub(super) fn expand(words: Vec<Word>, via: &[String], depth: usize, out: &mut Split) {
    let Some(first) = words.first() else {
        return;
    };
    if depth > MAX_DEPTH {
        out.opaque(format!("`{}`: wrappers nested more than {MAX_DEPTH} deep", shown(&words)));
        return;
    }
    if !first.literal {
        out.opaque(format!(
            "`{}`: the program's name `{}` is only known when the line runs, so it cannot be judged",
            shown(&words),
            first.text
        ));
        return;
    }
    let name = base(&first.text).to_owned();
    let rest = &words[1..];
    let inner = |label: &str| -> Vec<String> {
        let mut via = via.to_vec();
        via.push(label.to_owned());
        via
    };
    match name.as_str() {
        "env" => env(&words, via, depth, out),
        "timeout" => {
            let after = skip_options(rest, &["-s", "--signal", "-k", "--kill-after"]);
            // The duration comes next, then the command.
            let command = after.get(1..).unwrap_or_default();
            expand(command.to_vec(), &inner("timeout"), depth + 1, out);
        }
        "nice" => {
            let after = skip_options(rest, &["-n", "--adjustment"]);
            expand(after.to_vec(), &inner("nice"), depth + 1, out);
        }
        "ionice" => {
            let after = skip_options(rest, &["-c", "--class", "-n", "--classdata", "-p", "--pid", "-P", "-u"]);
            expand(after.to_vec(), &inner("ionice"), depth + 1, out);
        }
        "stdbuf" => {
            let after = skip_options(rest, &["-i", "-o", "-e", "--input", "--output", "--error"]);
            expand(after.to_vec(), &inner("stdbuf"), depth + 1, out);
        }
        "nohup" | "builtin" | "time" | "setsid" | "chronic" => {
            let after = skip_options(rest, &[]);
            expand(after.to_vec(), &inner(&name), depth + 1, out);
        }
        "command" => {
            if rest.first().is_some_and(|w| w.text.starts_with('-') && w.text.contains(['v', 'V'])) {
                // `command -v git` only asks where a program is.
                push(words.clone(), via, out);
            } else {
                let after = skip_options(rest, &[]);
                expand(after.to_vec(), &inner("command"), depth + 1, out);
            }
        }
        "exec" => {
            let after = skip_options(rest, &["-a"]);
            expand(after.to_vec(), &inner("exec"), depth + 1, out);
        }
        "xargs" => xargs(rest, via, depth, out),
        "find" => find(&words, via, depth, out),
        "eval" => {
            if rest.iter().any(|w| !w.literal) {
                out.opaque(format!(
                    "`{}`: eval runs text that is only known when the line runs, so it cannot be judged",
                    shown(&words)
                ));
            }
            let body: Vec<&str> = rest.iter().map(|w| w.text.as_str()).collect();
            split_into(&body.join(" "), &inner("eval"), depth + 1, out);
        }
        "alias" => {
            push(words.clone(), via, out);
            if !rest.is_empty() {
                out.opaque(format!("`{}`: an alias changes what later words of the line run", shown(&words)));
            }
        }
        "git" => git(&words, via, out),
        "su" => {
            push(words.clone(), via, out);
            if let Some(at) = rest.iter().position(|w| w.text == "-c" || w.text == "--command") {
                match rest.get(at + 1) {
                    Some(body) if body.literal => split_into(&body.text, &inner("su -c"), depth + 1, out),
                    _ => out.opaque(format!("`{}`: the command su runs cannot be read", shown(&words))),
                }
            }
        }
        _ if ESCALATORS.contains(&name.as_str()) => {
            push(words.clone(), via, out);
            let after = skip_options(
                rest,
                &[
                    "-u",
                    "--user",
                    "-g",
                    "--group",
                    "-C",
                    "--close-from",
                    "-D",
                    "--chdir",
                    "-h",
                    "--host",
                    "-p",
                    "--prompt",
                ],
            );
            expand(after.to_vec(), &inner(&name), depth + 1, out);
        }
        _ if SHELLS.contains(&name.as_str()) => shell(&words, via, depth, out),
        _ => {
            if let Some((_, flags)) = interpreter(&name)
                && let Some(flag) = rest.iter().find(|w| inline_code_flag(&name, flags, &w.text))
            {
                out.opaque(format!(
                    "`{}`: `{name} {}` runs inline code, which the policy cannot judge",
                    shown(&words),
                    flag.text
                ));
            }
            push(words.clone(), via, out);
        }
    }
}

fn push(words: Vec<Word>, via: &[String], out: &mut Split) {
    out.commands.push(Simple { words: words.into_iter().map(|w| w.text).collect(), via: via.to_vec() });
}

fn shown(words: &[Word]) -> String {
    words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
}

fn interpreter(name: &str) -> Option<(&'static str, &'static [&'static str])> {
    // `python3.12` is `python3`.
    let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    INTERPRETERS.iter().copied().find(|(known, _)| *known == name || *known == trimmed)
}

fn inline_code_flag(name: &str, flags: &[&str], word: &str) -> bool {
    if flags.contains(&word) {
        return true;
    }
    // Clustered short options: `python3 -Bc CODE`, `perl -ne CODE`.
    let short: Vec<char> = flags
        .iter()
        .filter_map(|f| f.strip_prefix('-'))
        .filter(|f| f.len() == 1)
        .filter_map(|f| f.chars().next())
        .collect();
    name != "deno"
        && word.starts_with('-')
        && !word.starts_with("--")
        && word[1..].chars().all(|c| c.is_ascii_alphabetic())
        && word[1..].chars().any(|c| short.contains(&c))
}

/// Skips leading options; those in `with_value` take the next word (or `=value`). Stops at
/// `--` (skipped) or the first word that is not an option.
fn skip_options<'a>(words: &'a [Word], with_value: &[&str]) -> &'a [Word] {
    let mut at = 0;
    while let Some(word) = words.get(at) {
        let text = word.text.as_str();
        if text == "--" {
            return &words[at + 1..];
        }
        if !text.starts_with('-') || text == "-" {
            break;
        }
        at += 1;
        let takes_value = with_value.contains(&text);
        if takes_value {
            at += 1;
        }
    }
    words.get(at..).unwrap_or_default()
}

/// `env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=VALUE]… COMMAND`.
fn env(words: &[Word], via: &[String], depth: usize, out: &mut Split) {
    let mut via = via.to_vec();
    via.push("env".into());
    let mut at = 1;
    while let Some(word) = words.get(at) {
        let text = word.text.as_str();
        if text == "--" {
            at += 1;
            break;
        }
        if text == "-S"
            || text == "--split-string"
            || text.starts_with("--split-string=")
            || (text.starts_with("-S") && text.len() > 2)
        {
            // The string is split into words and run: judge it as a line of its own, with the
            // words after it appended.
            let (body, next) = match text
                .strip_prefix("--split-string=")
                .or_else(|| text.strip_prefix("-S").filter(|s| !s.is_empty()))
            {
                Some(inline) => (Some(inline.to_owned()), at + 1),
                None => (words.get(at + 1).map(|w| w.text.clone()), at + 2),
            };
            let mut line = body.unwrap_or_default();
            for word in words.get(next..).unwrap_or_default() {
                line.push(' ');
                line.push_str(&word.text);
            }
            split_into(&line, &via, depth + 1, out);
            return;
        }
        if matches!(text, "-u" | "--unset" | "-C" | "--chdir") {
            at += 2;
            continue;
        }
        if text.starts_with('-') && text != "-" {
            at += 1;
            continue;
        }
        let is_assignment = text
            .split_once('=')
            .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if is_assignment || text == "-" {
            at += 1;
            continue;
        }
        break;
    }
    let command = words.get(at..).unwrap_or_default();
    if command.is_empty() {
        // `env` alone prints the (scrubbed) environment.
        push(words.to_vec(), &via[..via.len() - 1], out);
    } else {
        expand(command.to_vec(), &via, depth + 1, out);
    }
}

/// `xargs [OPTION]… [COMMAND [ARG]…]`: the command gets more arguments from its input.
fn xargs(rest: &[Word], via: &[String], depth: usize, out: &mut Split) {
    const WITH_VALUE: &[&str] = &[
        "-a",
        "--arg-file",
        "-d",
        "--delimiter",
        "-E",
        "-I",
        "-L",
        "-n",
        "--max-args",
        "-P",
        "--max-procs",
        "-s",
        "--max-chars",
        "--process-slot-var",
    ];
    let mut at = 0;
    while let Some(word) = rest.get(at) {
        let text = word.text.as_str();
        if text == "--" {
            at += 1;
            break;
        }
        if !text.starts_with('-') {
            break;
        }
        at += if WITH_VALUE.contains(&text) { 2 } else { 1 };
    }
    let mut via = via.to_vec();
    via.push("xargs".into());
    let command = rest.get(at..).unwrap_or_default();
    if command.is_empty() {
        out.commands.push(Simple { words: vec!["echo".into()], via });
    } else {
        expand(command.to_vec(), &via, depth + 1, out);
    }
}

/// `find … -exec COMMAND ;` (and `-execdir`, `-ok`, `-okdir`, each ended by `;` or `+`).
fn find(words: &[Word], via: &[String], depth: usize, out: &mut Split) {
    let mut own = Vec::new();
    let mut inner = Vec::new();
    let mut at = 0;
    while let Some(word) = words.get(at) {
        at += 1;
        let text = word.text.as_str();
        if matches!(text, "-exec" | "-execdir" | "-ok" | "-okdir") {
            let start = at;
            while words.get(at).is_some_and(|w| w.text != ";" && w.text != "+") {
                at += 1;
            }
            if at >= words.len() {
                out.opaque(format!("`{}`: `{text}` has no closing `;` or `+`", shown(words)));
            }
            inner.push((format!("find {text}"), words.get(start..at).unwrap_or_default().to_vec()));
            at += 1;
        } else {
            own.push(word.clone());
        }
    }
    push(own, via, out);
    for (label, command) in inner {
        let mut via = via.to_vec();
        via.push(label);
        expand(command, &via, depth + 1, out);
    }
}

/// `sh [OPTION]… -c SCRIPT [NAME [ARG]…]`: the script is parsed; `sh FILE` is judged as it is.
fn shell(words: &[Word], via: &[String], depth: usize, out: &mut Split) {
    let mut command_mode = false;
    let mut at = 1;
    while let Some(word) = words.get(at) {
        let text = word.text.as_str();
        if text == "--" || text == "-" {
            at += 1;
            break;
        }
        if matches!(text, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
            at += 2;
            continue;
        }
        if text.starts_with("--") {
            at += 1;
            continue;
        }
        if text.starts_with('-') || text.starts_with('+') {
            command_mode |= text.starts_with('-') && text.contains('c');
            at += 1;
            continue;
        }
        break;
    }
    if !command_mode {
        // A script file or standard input: judged as the shell command it is.
        push(words.to_vec(), via, out);
        return;
    }
    let mut via = via.to_vec();
    via.push(format!("{} -c", base(&words[0].text)));
    match words.get(at) {
        Some(script) if script.literal => split_into(&script.text, &via, depth + 1, out),
        Some(script) => out.opaque(format!(
            "`{}`: the script `{}` is only known when the line runs, so it cannot be judged",
            shown(words),
            script.text
        )),
        None => out.opaque(format!("`{}`: `-c` without a script", shown(words))),
    }
}

/// `git [GLOBAL OPTION]… SUBCOMMAND …`: judged as `git SUBCOMMAND …`.
fn git(words: &[Word], via: &[String], out: &mut Split) {
    let mut at = 1;
    let mut risky = Vec::new();
    while let Some(word) = words.get(at) {
        let text = word.text.as_str();
        if !text.starts_with('-') {
            break;
        }
        at += 1;
        let (option, inline) = match text.split_once('=') {
            Some((option, _)) => (option, true),
            None => (text, false),
        };
        match option {
            "-C" => at += 1,
            "-c" | "--config-env" | "--exec-path" | "--git-dir" | "--work-tree" | "--namespace" | "--super-prefix" => {
                if !inline && option != "--exec-path" {
                    at += 1;
                }
                risky.push(option.to_owned());
            }
            _ => {}
        }
    }
    let mut judged = vec![words[0].clone()];
    judged.extend(words.get(at..).unwrap_or_default().iter().cloned());
    let shown_line = shown(words);
    push(judged, via, out);
    for option in risky {
        let why = match option.as_str() {
            "-c" | "--config-env" => "sets configuration that can run programs (aliases, pagers, hooks, ssh commands)",
            "--exec-path" => "runs git's subcommands from another directory",
            _ => "points git at another repository or work tree",
        };
        out.opaque(format!("`{shown_line}`: `git {option}` {why}"));
    }
}
