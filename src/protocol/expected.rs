//! Acceptance criteria a bug report already contains. "`page_count(11, 5)` returns 2 instead of
//! 3", "expected 3, got 2", "should be 3 but is 2": the reporter stated the expected value, so a
//! task without acceptance criteria need not go back for clarification. Intake proposes the
//! criterion (and says so in its reasons) and the agents read it marked as proposed.
//!
//! It lives beside [`TaskSpec`] because both intake (in the engine) and the agents' prompt read it
//! from the spec alone: the same words always give the same proposal.

use std::sync::OnceLock;

use regex::Regex;

use super::TaskSpec;

/// A criterion proposed from the report's own words, not confirmed by a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedCriterion {
    /// The criterion, e.g. `page_count(11, 5) returns 3`.
    pub text: String,
    /// The words it comes from, as written.
    pub quote: String,
    /// The field they are in: `title` or `description`.
    pub field: &'static str,
}

/// The most proposals made from one report.
const MAX_PROPOSALS: usize = 3;

/// A code subject: a backticked span, a call, a path, a `snake_case` or `camelCase` name.
const SUBJECT: &str = r"`[^`]+`|[A-Za-z_]\w*(?:(?:::|\.)[A-Za-z_]\w*)*\([^()]*\)|[A-Za-z_]\w*(?:(?:::|\.)[A-Za-z_]\w*)+|[A-Za-z]\w*_\w+|[a-z]+[A-Z]\w*";
/// A value: quoted, bracketed, or one word.
const VALUE: &str = r#"`[^`]+`|"[^"]*"|'[^']*'|\[[^\]]*\]|\{[^}]*\}|[^\s,;]+"#;

/// The ways a report states the expected value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `X returns 2 instead of 3`.
    Instead,
    /// `X should be 3 but is 2`.
    Should,
    /// `expected 3, got 2`.
    Expected,
}

struct Patterns {
    /// `X returns 2 instead of 3`.
    instead: Regex,
    /// `expected 3, got 2`.
    expected: Regex,
    /// `X should be 3 but is 2`.
    should: Regex,
    /// A subject anywhere.
    subject: Regex,
    /// Words before the verb that make "X instead of Y" a wish, not a report ("so that it
    /// returns 3 instead of 2"): then the value before "instead of" is the expected one.
    wish: Regex,
}

fn patterns() -> Option<&'static Patterns> {
    static PATTERNS: OnceLock<Option<Patterns>> = OnceLock::new();
    PATTERNS
        .get_or_init(|| {
            let verbs = "returns|returned|return|gives|gave|yields|yielded|prints|printed|outputs|output|\
                         produces|produced|evaluates to|evaluated to|is|was|equals|shows|showed|reports|\
                         reported|computes|computed";
            let instead = format!(
                r"(?i)(?:(?P<subj>(?-i:{SUBJECT}))\s+)?(?P<verb>{verbs})\s+(?P<got>(?:{VALUE})(?:\s+(?:{VALUE})){{0,3}}?)\s+instead\s+of\s+(?P<want>{VALUE})"
            );
            let expected = format!(
                r"(?i)\bexpected(?:\s+value)?\s*(?:is\s+|was\s+|:\s*|=\s*)?(?P<want>{VALUE})\s*[,;]?\s*(?:but\s+)?(?:(?:it\s+)?(?:got|gets|received|returned|returns|gave|was|is)|actual(?:ly)?(?:\s+(?:is|was|got))?|found)\s*:?\s*(?P<got>{VALUE})"
            );
            let should = format!(
                r"(?i)(?:(?P<subj>(?-i:{SUBJECT}))\s+)?should\s+(?P<verb>be|return|give|yield|print|output|produce|equal|evaluate to|show|report|compute)\s+(?P<want>{VALUE})\s*,?\s*but\s+(?:it\s+)?(?:is|was|returns|returned|gives|gave|prints|printed|outputs|yields|produces|shows|equals|got|gets|evaluates to|computes)\s+(?P<got>{VALUE})"
            );
            Some(Patterns {
                instead: Regex::new(&instead).ok()?,
                expected: Regex::new(&expected).ok()?,
                should: Regex::new(&should).ok()?,
                subject: Regex::new(&format!("(?:{SUBJECT})")).ok()?,
                wish: Regex::new(
                    r"(?i)\b(so that|so it|should|must|needs? to|ought to|wants?|make|makes|making|expected to|supposed to)\b",
                )
                .ok()?,
            })
        })
        .as_ref()
}

/// The third-person present form a criterion states: `returned` → `returns`, `be` → `is`.
fn present(verb: &str) -> &'static str {
    match verb.to_ascii_lowercase().as_str() {
        "returns" | "returned" | "return" => "returns",
        "gives" | "gave" | "give" => "gives",
        "yields" | "yielded" | "yield" => "yields",
        "prints" | "printed" | "print" => "prints",
        "outputs" | "output" => "outputs",
        "produces" | "produced" | "produce" => "produces",
        "evaluates to" | "evaluated to" | "evaluate to" => "evaluates to",
        "equals" | "equal" => "equals",
        "shows" | "showed" | "show" => "shows",
        "reports" | "reported" | "report" => "reports",
        "computes" | "computed" | "compute" => "computes",
        _ => "is",
    }
}

/// Whether a value is a literal a test can compare with (a number, a quoted or bracketed value,
/// `true`, `None`, …), not a plain word ("counted instead of dropped" states no value).
fn literal(value: &str) -> bool {
    let value = value.trim();
    let mut chars = value.chars();
    let first = chars.next();
    let second = chars.next();
    first.is_some_and(|c| c.is_ascii_digit() || "`\"'[{(".contains(c))
        || (first.is_some_and(|c| "-+.".contains(c)) && second.is_some_and(|c| c.is_ascii_digit()))
        || matches!(
            value.to_ascii_lowercase().trim_end_matches(['.', '!', '?', ':']),
            "true" | "false" | "none" | "null" | "nil" | "nan" | "inf" | "infinity" | "undefined"
        )
}

/// Whether a verb is in its base form ("make it return 3 instead of 2"): a wish, not a report.
fn base_form(verb: &str) -> bool {
    matches!(verb.to_ascii_lowercase().as_str(), "return" | "output")
}

/// A value or subject without its backticks and sentence punctuation.
fn clean(text: &str) -> String {
    let text = text.trim().trim_end_matches(['.', '!', '?', ':']);
    let text = text.strip_prefix('`').and_then(|t| t.strip_suffix('`')).unwrap_or(text);
    text.trim().to_owned()
}

/// The sentences of a text: its lines, split again after `. `, `! ` and `? `.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut start = 0;
        let bytes = line.as_bytes();
        for (i, pair) in bytes.windows(2).enumerate() {
            if matches!(pair[0], b'.' | b'!' | b'?') && pair[1] == b' ' {
                out.push(&line[start..=i]);
                start = i + 2;
            }
        }
        out.push(&line[start..]);
    }
    out.retain(|s| !s.trim().is_empty());
    out
}

/// A subject for a sentence whose pattern named none: the last one before the match in the
/// sentence, else the first call or backticked span in the whole report.
fn fallback_subject(patterns: &Patterns, before: &str, report: &str) -> Option<String> {
    if let Some(found) = patterns.subject.find_iter(before).last() {
        return Some(clean(found.as_str()));
    }
    patterns.subject.find_iter(report).map(|m| m.as_str()).find(|s| s.starts_with('`') || s.contains('(')).map(clean)
}

impl TaskSpec {
    /// The acceptance criteria the report's own words propose, when it has none: the expected
    /// value it states ("returns 2 instead of 3", "expected 3, got 2", "should be 3 but is 2"),
    /// about the code it names. Empty when the spec has acceptance criteria or states no
    /// expected value.
    pub fn proposed_criteria(&self) -> Vec<ProposedCriterion> {
        if self.acceptance_criteria.iter().any(|c| !c.trim().is_empty()) {
            return Vec::new();
        }
        let Some(patterns) = patterns() else { return Vec::new() };
        let report = format!("{}\n{}", self.title, self.description);
        let mut out: Vec<ProposedCriterion> = Vec::new();
        for (field, text) in [("title", self.title.as_str()), ("description", self.description.as_str())] {
            for sentence in sentences(text) {
                let found = [
                    (&patterns.instead, Form::Instead),
                    (&patterns.should, Form::Should),
                    (&patterns.expected, Form::Expected),
                ]
                .into_iter()
                .find_map(|(regex, form)| regex.captures(sentence).map(|c| (c, form)));
                let Some((captures, form)) = found else { continue };
                let (Some(whole), Some(mut want), Some(mut got)) =
                    (captures.get(0), captures.name("want"), captures.name("got"))
                else {
                    continue;
                };
                // "so that it returns 3 instead of 2" wishes for the first value.
                if form == Form::Instead
                    && let Some(verb) = captures.name("verb")
                    && (base_form(verb.as_str()) || patterns.wish.is_match(&sentence[..verb.start()]))
                {
                    std::mem::swap(&mut want, &mut got);
                }
                if !literal(want.as_str()) {
                    continue;
                }
                let subject = match captures.name("subj") {
                    Some(subject) => Some(clean(subject.as_str())),
                    None => fallback_subject(patterns, &sentence[..whole.start()], &report),
                };
                let verb = match captures.name("verb").filter(|_| form != Form::Expected) {
                    Some(verb) => present(verb.as_str()),
                    None if subject.as_deref().is_some_and(|s| s.contains('(')) => "returns",
                    None => "gives",
                };
                let (want, got) = (clean(want.as_str()), clean(got.as_str()));
                if want.is_empty() || want == got {
                    continue;
                }
                let text = match subject {
                    Some(subject) => format!("{subject} {verb} {want}"),
                    None => format!("the case in the report {verb} {want}, not {got}"),
                };
                if !out.iter().any(|p| p.text == text) {
                    let quote = whole.as_str().trim().trim_end_matches(['.', '!', '?', ':']).to_owned();
                    out.push(ProposedCriterion { text, quote, field });
                }
            }
        }
        out.truncate(MAX_PROPOSALS);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposed(title: &str, description: &str) -> Vec<String> {
        let mut spec = TaskSpec::titled(title);
        spec.description = description.into();
        spec.proposed_criteria().into_iter().map(|p| p.text).collect()
    }

    #[test]
    fn an_expected_value_in_the_report_becomes_a_criterion_about_the_code_it_names() {
        assert_eq!(
            proposed("Fix pagination", "`page_count(11, 5)` returns 2 instead of 3."),
            ["page_count(11, 5) returns 3"]
        );
        assert_eq!(
            proposed("parse_offset(\"-42\") is wrong", "It returns 214 instead of -42"),
            ["parse_offset(\"-42\") returns -42"]
        );
        assert_eq!(
            proposed("Wrong page count", "page_count(11, 5): expected 3, got 2"),
            ["page_count(11, 5) returns 3"]
        );
        assert_eq!(
            proposed("Totals are off", "`Cart::total` should be 30 but is 25 when a coupon applies"),
            ["Cart::total is 30"]
        );
        assert_eq!(
            proposed("The mean is wrong", "Expected: 2.5, actual: 2"),
            ["the case in the report gives 2.5, not 2"]
        );
    }

    #[test]
    fn a_wish_names_the_wanted_value_first() {
        assert_eq!(
            proposed("Fix pagination", "Make `page_count(11, 5)` return 3 instead of 2."),
            ["page_count(11, 5) returns 3"]
        );
        assert_eq!(
            proposed("Fix pagination", "Change it so that `page_count(11, 5)` is 3 instead of 2."),
            ["page_count(11, 5) is 3"]
        );
    }

    #[test]
    fn the_quote_and_field_say_where_it_came_from() {
        let mut spec = TaskSpec::titled("`page_count(11, 5)` returns 2 instead of 3");
        spec.description = "Found in production. Also `fmt_size(0)` prints \"0B\" instead of \"0 B\".".into();
        let proposals = spec.proposed_criteria();
        assert_eq!(proposals.len(), 2, "{proposals:?}");
        assert_eq!(proposals[0].field, "title");
        assert_eq!(proposals[0].quote, "`page_count(11, 5)` returns 2 instead of 3");
        assert_eq!(proposals[1].text, "fmt_size(0) prints \"0 B\"");
        assert_eq!(proposals[1].field, "description");
    }

    #[test]
    fn nothing_is_proposed_without_an_expected_value_or_when_criteria_exist() {
        assert!(proposed("Fix the crash in the parser", "It panics on empty input").is_empty());
        assert!(proposed("Use a map", "Use a map instead of a list").is_empty());
        assert!(proposed("Count the last page", "A partial page is counted instead of dropped").is_empty());
        let mut spec = TaskSpec::titled("Fix pagination");
        spec.description = "`page_count(11, 5)` returns 2 instead of 3".into();
        spec.acceptance_criteria = vec!["page_count(11, 5) == 3".into()];
        assert!(spec.proposed_criteria().is_empty());
    }
}
