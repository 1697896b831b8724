//! What a task is about, for the symbol map in its agents' prompts: the code names and paths its
//! text and its plan mention. A name the task gives (`Buf::get_int`) is always in the map that
//! every role sees, however rarely the repository uses it; the plan's files steer the ranking.

use crate::protocol::{Plan, TaskSpec};

/// Focus items are capped: a task that names hundreds of things is steering nothing.
const MAX_ITEMS: usize = 40;

/// The code names and paths in a task and its plan, in order of first mention.
pub(crate) fn focus_of(spec: &TaskSpec, plan: Option<&Plan>) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let mut add = |item: &str| {
        let item = item.trim_matches(|c: char| matches!(c, '.' | ',' | ':' | ';' | '\'' | '"'));
        if !item.is_empty() && items.len() < MAX_ITEMS && !items.iter().any(|known| known == item) {
            items.push(item.to_owned());
        }
    };
    if let Some(plan) = plan {
        plan.expected_files.iter().for_each(|file| add(file));
    }
    let texts = [&spec.title, &spec.description]
        .into_iter()
        .chain(&spec.acceptance_criteria)
        .chain(plan.map(|p| &p.summary))
        .chain(plan.into_iter().flat_map(|p| &p.steps));
    for text in texts {
        for item in code_words(text) {
            add(&item);
        }
    }
    items
}

/// The words of `text` that look like code: inside backticks, or shaped like an identifier
/// (`snake_case`, `camelCase`, a call `f(`), or a path with a directory and an extension. A
/// qualified name (`Buf::get_int`, `self.page_count`) gives each of its parts.
fn code_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for (n, chunk) in text.split('`').enumerate() {
        let quoted = n % 2 == 1;
        for raw in
            chunk.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\'' | '[' | ']' | '{' | '}'))
        {
            let called = raw.contains('(');
            let word = raw.split('(').next().unwrap_or_default();
            if looks_like_path(word) {
                words.push(word.trim_end_matches(['.', ':', ')']).to_owned());
                continue;
            }
            for part in word.split("::").flat_map(|p| p.split('.')).filter(|p| is_identifier(p)) {
                if quoted || called || is_code_shaped(part) {
                    words.push(part.to_owned());
                }
            }
        }
    }
    words
}

fn is_identifier(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && word.chars().any(|c| c.is_ascii_alphabetic())
}

/// `snake_case` or `camelCase`/`PascalCase` with an inner capital: ordinary words are neither.
fn is_code_shaped(word: &str) -> bool {
    let inner_underscore = word.trim_matches('_').contains('_');
    let camel = word.as_bytes().windows(2).any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
    inner_underscore || camel
}

fn looks_like_path(word: &str) -> bool {
    let word = word.trim_end_matches(['.', ':', ')']);
    word.contains('/')
        && !word.contains("://")
        && word.rsplit('/').next().is_some_and(|name| name.contains('.') && !name.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(title: &str, description: &str) -> TaskSpec {
        TaskSpec { description: description.into(), ..TaskSpec::titled(title) }
    }

    #[test]
    fn code_names_and_paths_are_found_and_prose_is_not() {
        let task = spec(
            "Fix sign extension in `Buf::get_int`",
            "The reader in src/buf/buf_impl.rs returns a wrong value; getIntLe and read_u16() are fine. \
             Please fix the bug, see https://example.com/a/b.html.",
        );
        assert_eq!(focus_of(&task, None), ["Buf", "get_int", "src/buf/buf_impl.rs", "getIntLe", "read_u16"]);
    }

    #[test]
    fn the_plan_adds_its_files_first_then_its_names_without_repeats() {
        let task = spec("Round up in page_count", "");
        let plan = Plan {
            summary: "Use div_ceil in page_count.".into(),
            steps: vec!["src/lib.rs: call `div_ceil`".into()],
            expected_files: vec!["src/lib.rs".into(), "tests/pages.rs".into()],
            ..Plan::default()
        };
        assert_eq!(focus_of(&task, Some(&plan)), ["src/lib.rs", "tests/pages.rs", "page_count", "div_ceil"]);
    }
}
