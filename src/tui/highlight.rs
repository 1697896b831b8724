//! Syntax highlighting with syntect, off the render path: a worker thread takes hunks (the ones
//! on screen first, the rest later), classifies their tokens and sends the result back as a
//! message; the state caches it by the hunk's content hash. Tokens are classified into a few
//! classes (keyword, string, …) that the theme colors, so no color lives here.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxSet};

/// What a token is, as far as colors go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyntaxClass {
    /// A keyword or storage modifier.
    Keyword,
    /// A string literal.
    String,
    /// A comment.
    Comment,
    /// A function name.
    Function,
    /// A type name.
    Type,
    /// A number.
    Number,
    /// Another constant.
    Constant,
}

impl SyntaxClass {
    /// The theme scope of the class.
    pub fn scope(self) -> &'static str {
        match self {
            SyntaxClass::Keyword => "syntax.keyword",
            SyntaxClass::String => "syntax.string",
            SyntaxClass::Comment => "syntax.comment",
            SyntaxClass::Function => "syntax.function",
            SyntaxClass::Type => "syntax.type",
            SyntaxClass::Number => "syntax.number",
            SyntaxClass::Constant => "syntax.constant",
        }
    }
}

/// The classified tokens of each line of a hunk (byte ranges; unclassified text is left out).
pub type HunkHighlight = Vec<Vec<(Range<usize>, SyntaxClass)>>;

/// A hunk to highlight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The hunk's key (see [`super::diff_doc::Hunk::key`]).
    pub key: u64,
    /// The file's extension.
    pub extension: String,
    /// The hunk's lines, in order.
    pub lines: Vec<String>,
    /// On screen now: served before the rest.
    pub urgent: bool,
}

/// The handle of the highlighting thread.
#[derive(Debug, Clone)]
pub struct Highlighter {
    requests: Sender<Request>,
}

impl Highlighter {
    /// Starts the worker; `deliver` receives each result (it runs on the worker thread).
    pub fn spawn(deliver: impl Fn(u64, Arc<HunkHighlight>) + Send + 'static) -> std::io::Result<Highlighter> {
        let (requests, inbox) = channel::<Request>();
        std::thread::Builder::new().name("ambidex-highlight".into()).spawn(move || worker(inbox, deliver))?;
        Ok(Highlighter { requests })
    }

    /// Queues a hunk (dropped silently if the worker is gone: the diff stays plain).
    pub fn request(&self, request: Request) {
        let _ = self.requests.send(request);
    }
}

fn worker(inbox: Receiver<Request>, deliver: impl Fn(u64, Arc<HunkHighlight>)) {
    let mut syntaxes: Option<SyntaxSet> = None;
    let (mut urgent, mut later) = (VecDeque::new(), VecDeque::new());
    loop {
        if urgent.is_empty() && later.is_empty() {
            match inbox.recv() {
                Ok(request) => queue(request, &mut urgent, &mut later),
                Err(_) => return,
            }
        }
        loop {
            match inbox.try_recv() {
                Ok(request) => queue(request, &mut urgent, &mut later),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        let Some(request) = urgent.pop_front().or_else(|| later.pop_front()) else { continue };
        let syntaxes = syntaxes.get_or_insert_with(SyntaxSet::load_defaults_newlines);
        let result = highlight(syntaxes, &request.extension, &request.lines);
        deliver(request.key, Arc::new(result));
    }
}

fn queue(request: Request, urgent: &mut VecDeque<Request>, later: &mut VecDeque<Request>) {
    if request.urgent {
        // The newest screen matters most.
        urgent.push_front(request);
    } else {
        later.push_back(request);
    }
}

/// Which scope prefixes map to which class, most specific first.
const CLASSES: &[(&str, SyntaxClass)] = &[
    ("comment", SyntaxClass::Comment),
    ("string", SyntaxClass::String),
    ("constant.numeric", SyntaxClass::Number),
    ("constant.character", SyntaxClass::String),
    ("constant", SyntaxClass::Constant),
    ("entity.name.function", SyntaxClass::Function),
    ("support.function", SyntaxClass::Function),
    ("variable.function", SyntaxClass::Function),
    ("meta.function-call", SyntaxClass::Function),
    ("storage.type", SyntaxClass::Keyword),
    ("storage", SyntaxClass::Keyword),
    ("keyword", SyntaxClass::Keyword),
    ("entity.name", SyntaxClass::Type),
    ("support.type", SyntaxClass::Type),
    ("support.class", SyntaxClass::Type),
];

fn classify(stack: &ScopeStack, table: &[(Scope, SyntaxClass)]) -> Option<SyntaxClass> {
    stack
        .as_slice()
        .iter()
        .rev()
        .find_map(|scope| table.iter().find(|(prefix, _)| prefix.is_prefix_of(*scope)).map(|(_, class)| *class))
}

/// Classifies the tokens of `lines` (one hunk, parsed in order) for a file with `extension`.
pub fn highlight(syntaxes: &SyntaxSet, extension: &str, lines: &[String]) -> HunkHighlight {
    let table: Vec<(Scope, SyntaxClass)> =
        CLASSES.iter().filter_map(|(name, class)| Scope::new(name).ok().map(|s| (s, *class))).collect();
    let syntax = syntaxes.find_syntax_by_extension(extension).unwrap_or_else(|| syntaxes.find_syntax_plain_text());
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let mut spans: Vec<(Range<usize>, SyntaxClass)> = Vec::new();
        let text = format!("{line}\n");
        let Ok(ops) = state.parse_line(&text, syntaxes) else {
            out.push(spans);
            state = ParseState::new(syntax);
            stack = ScopeStack::new();
            continue;
        };
        let mut last = 0;
        let mut push = |range: Range<usize>, class: Option<SyntaxClass>| {
            let range = range.start.min(line.len())..range.end.min(line.len());
            let Some(class) = class else { return };
            if range.is_empty() {
                return;
            }
            match spans.last_mut() {
                Some((prev, prev_class)) if prev.end == range.start && *prev_class == class => prev.end = range.end,
                _ => spans.push((range, class)),
            }
        };
        for (at, op) in ops {
            if at > last {
                push(last..at, classify(&stack, &table));
                last = at;
            }
            if stack.apply(&op).is_err() {
                stack = ScopeStack::new();
            }
        }
        push(last..text.len(), classify(&stack, &table));
        out.push(spans);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_tokens_are_classified() {
        let syntaxes = SyntaxSet::load_defaults_newlines();
        let lines = vec![
            "/// Docs.".to_owned(),
            "pub fn page_count(items: usize) -> usize {".to_owned(),
            "    let s = \"x\"; 42".to_owned(),
        ];
        let result = highlight(&syntaxes, "rs", &lines);
        let text_of = |line: usize, class: SyntaxClass| -> Vec<String> {
            result[line].iter().filter(|(_, c)| *c == class).map(|(r, _)| lines[line][r.clone()].to_owned()).collect()
        };
        assert_eq!(text_of(0, SyntaxClass::Comment), vec!["/// Docs."]);
        assert!(text_of(1, SyntaxClass::Keyword).iter().any(|k| k.contains("fn")), "{:?}", result[1]);
        assert!(text_of(1, SyntaxClass::Function).iter().any(|k| k == "page_count"), "{:?}", result[1]);
        assert!(text_of(2, SyntaxClass::String).iter().any(|k| k.contains("\"x\"")), "{:?}", result[2]);
        assert!(text_of(2, SyntaxClass::Number).iter().any(|k| k == "42"), "{:?}", result[2]);
        let plain = highlight(&syntaxes, "unknown-ext", &lines);
        assert!(plain.iter().all(Vec::is_empty));
    }

    #[test]
    fn the_worker_answers_urgent_requests() {
        let (tx, rx) = channel();
        let highlighter = Highlighter::spawn(move |key, result| {
            let _ = tx.send((key, result));
        })
        .unwrap();
        highlighter.request(Request {
            key: 7,
            extension: "rs".into(),
            lines: vec!["fn main() {}".into()],
            urgent: true,
        });
        let (key, result) = rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
        assert_eq!(key, 7);
        assert!(!result[0].is_empty());
    }
}
