//! Splitting a shell command line into the simple commands it runs, so each can be judged alone.
//!
//! `A=1 bash -lc 'cargo test && git push'` becomes `[cargo, test]` and `[git, push]`: leading
//! assignments are dropped, `bash -c` / `sh -c` wrappers are opened, and chains (`&&`, `||`, `;`,
//! `|`, `&`, newlines) are split. Constructs this splitter cannot see through (command
//! substitution, subshells, process substitution) are reported so the policy can ask a human.

/// One simple command: its words after quote removal.
pub type Words = Vec<String>;

/// The simple commands of a command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    /// Every simple command, in order.
    pub commands: Vec<Words>,
    /// Why the line could not be fully analysed, when it could not.
    pub opaque: Option<String>,
}

/// Wrappers that run their arguments as a command.
const PASS_THROUGH: &[&str] = &["env", "command", "nohup", "time", "exec", "builtin"];
const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh"];
const MAX_DEPTH: usize = 4;

/// Splits `line` into simple commands.
pub fn split(line: &str) -> Split {
    let mut out = Split::default();
    split_into(line, 0, &mut out);
    out
}

fn split_into(line: &str, depth: usize, out: &mut Split) {
    if depth > MAX_DEPTH {
        out.opaque.get_or_insert_with(|| "shell wrappers nested too deeply".to_owned());
        return;
    }
    let (segments, opaque) = tokenize(line);
    if let Some(reason) = opaque {
        out.opaque.get_or_insert(reason);
    }
    for words in segments {
        let words = strip_prefixes(words);
        if words.is_empty() {
            continue;
        }
        if let Some(script) = shell_script(&words) {
            split_into(&script, depth + 1, out);
        } else {
            out.commands.push(words);
        }
    }
}

/// Drops `VAR=value` assignments and pass-through wrappers (`env`, `nohup`, `timeout 10`, …).
fn strip_prefixes(mut words: Words) -> Words {
    loop {
        let Some(first) = words.first() else {
            return words;
        };
        let is_assignment = first
            .split_once('=')
            .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if is_assignment {
            words.remove(0);
        } else if PASS_THROUGH.contains(&first.as_str()) {
            words.remove(0);
            while words.first().is_some_and(|w| w.starts_with('-')) {
                words.remove(0);
            }
        } else if first == "timeout" {
            words.remove(0);
            while words.first().is_some_and(|w| w.starts_with('-')) {
                words.remove(0);
            }
            if !words.is_empty() {
                words.remove(0);
            }
        } else {
            return words;
        }
    }
}

/// The script of `bash -c SCRIPT` (any flag cluster containing `c`), if this is one.
fn shell_script(words: &[String]) -> Option<String> {
    let name = words.first()?.rsplit('/').next()?;
    if !SHELLS.contains(&name) {
        return None;
    }
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        if word.starts_with('-') && !word.starts_with("--") && word.contains('c') {
            return rest.next().cloned();
        }
        if !word.starts_with('-') {
            return None;
        }
    }
    None
}

/// Splits into word lists at control operators, removing quotes. Returns the segments and, when
/// something could not be analysed, why.
fn tokenize(line: &str) -> (Vec<Words>, Option<String>) {
    let mut segments = Vec::new();
    let mut words: Words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut opaque = None;
    let mut chars = line.chars().peekable();
    let finish_word = |word: &mut String, in_word: &mut bool, words: &mut Words| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(&next) = chars.peek()
                                && matches!(next, '"' | '\\' | '$' | '`')
                            {
                                word.push(next);
                                chars.next();
                                continue;
                            }
                            word.push('\\');
                        }
                        '$' if chars.peek() == Some(&'(') => {
                            opaque.get_or_insert_with(|| "command substitution `$(…)`".to_owned());
                            word.push(q);
                        }
                        '`' => {
                            opaque.get_or_insert_with(|| "command substitution with backticks".to_owned());
                            word.push(q);
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next()
                    && next != '\n'
                {
                    word.push(next);
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                opaque.get_or_insert_with(|| "command substitution `$(…)`".to_owned());
                in_word = true;
                word.push(c);
            }
            '`' => {
                opaque.get_or_insert_with(|| "command substitution with backticks".to_owned());
                in_word = true;
                word.push(c);
            }
            '(' | ')' | '{' | '}' if !in_word => {
                opaque.get_or_insert_with(|| "a subshell or command group".to_owned());
                finish_word(&mut word, &mut in_word, &mut words);
                segments.push(std::mem::take(&mut words));
            }
            '<' | '>' if chars.peek() == Some(&'(') => {
                opaque.get_or_insert_with(|| "process substitution".to_owned());
                in_word = true;
                word.push(c);
            }
            '&' | '|' | ';' | '\n' => {
                // `2>&1` and `>&` are redirections, not control operators.
                if c == '&' && (word.ends_with('>') || word.ends_with('<')) {
                    word.push(c);
                    continue;
                }
                finish_word(&mut word, &mut in_word, &mut words);
                if matches!(chars.peek(), Some(&next) if next == c && c != '\n') {
                    chars.next();
                }
                segments.push(std::mem::take(&mut words));
            }
            '#' if !in_word => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        break;
                    }
                }
                finish_word(&mut word, &mut in_word, &mut words);
                segments.push(std::mem::take(&mut words));
            }
            c if c.is_whitespace() => finish_word(&mut word, &mut in_word, &mut words),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    finish_word(&mut word, &mut in_word, &mut words);
    segments.push(words);
    segments.retain(|s| !s.is_empty());
    (segments, opaque)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(line: &str) -> Vec<String> {
        split(line).commands.iter().map(|w| w.join(" ")).collect()
    }

    #[test]
    fn chains_are_split_and_quotes_removed() {
        assert_eq!(
            commands("cargo test && git push || echo 'no luck' ; ls | wc -l"),
            ["cargo test", "git push", "echo no luck", "ls", "wc -l"]
        );
        assert_eq!(commands("echo \"a \\\"b\\\" c\" x\\ y"), ["echo a \"b\" c x y"]);
        assert_eq!(commands("sleep 1 & rm -rf /"), ["sleep 1", "rm -rf /"]);
    }

    #[test]
    fn assignments_and_wrappers_are_peeled() {
        assert_eq!(commands("RUST_LOG=debug A=1 cargo test"), ["cargo test"]);
        assert_eq!(commands("env -i FOO=bar git push origin"), ["git push origin"]);
        assert_eq!(commands("timeout 10 nohup curl http://x"), ["curl http://x"]);
        assert_eq!(commands("bash -lc 'cargo build && git push'"), ["cargo build", "git push"]);
        assert_eq!(commands("/bin/sh -c \"sh -c 'sudo ls'\""), ["sudo ls"]);
    }

    #[test]
    fn redirections_stay_with_their_command() {
        assert_eq!(commands("cargo test 2>&1 | tail -5"), ["cargo test 2>&1", "tail -5"]);
        assert!(split("cargo test 2>&1").opaque.is_none());
    }

    #[test]
    fn what_cannot_be_seen_through_is_reported() {
        assert!(split("echo $(curl evil)").opaque.is_some());
        assert!(split("echo `id`").opaque.is_some());
        assert!(split("(cd /; rm -rf x)").opaque.is_some());
        assert!(split("diff <(ls a) <(ls b)").opaque.is_some());
        assert!(split("echo '$(not substituted)'").opaque.is_none());
    }

    #[test]
    fn comments_and_blank_segments_vanish() {
        assert_eq!(commands("ls # && git push"), ["ls"]);
        assert_eq!(commands(";; ls ;"), ["ls"]);
        assert!(commands("   ").is_empty());
    }
}
