//! JUnit XML reports, as pytest (`--junitxml`) and cargo-nextest (`[profile.*.junit]`) write
//! them: `<testsuite>`s of `<testcase>`s holding `<failure>`, `<error>`, `<skipped>`,
//! `<system-out>` and `<system-err>`.
//!
//! Names: pytest's `classname="tests.test_math.TestAdd" name="test_add[1-2]"` becomes the node id
//! `tests/test_math.py::TestAdd::test_add[1-2]` (module parts are lower-case by convention, a class
//! starts with a capital); nextest's test names are kept as they are, prefixed with the binary
//! (`mycrate::api::tests::x`) only when the same name occurs in two binaries. nextest's retries
//! (`<flakyFailure>`, `<rerunFailure>`) do not change a test's final status.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::parse::{qualify, seconds_to_ms, tail};
use crate::protocol::{TestCase, TestFramework, TestStatus};

#[derive(Debug, Default)]
struct Case {
    suite: String,
    classname: String,
    name: String,
    time: Option<u64>,
    status: Option<TestStatus>,
    message: String,
    failure: String,
    out: String,
    err: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    None,
    Failure,
    Out,
    Err,
}

/// Parses a JUnit XML report; `None` when it is not well-formed XML with test suites.
pub fn parse(framework: TestFramework, xml: &str) -> Option<Vec<TestCase>> {
    let mut reader = Reader::from_str(xml);
    let mut suite = String::new();
    let mut saw_suite = false;
    let mut case: Option<Case> = None;
    let mut target = Target::None;
    let mut ignored_depth = 0usize;
    let mut cases: Vec<Case> = Vec::new();
    let mut open = 0usize;
    loop {
        let event = reader.read_event().ok()?;
        match &event {
            Event::Start(_) => open += 1,
            Event::End(_) => open = open.saturating_sub(1),
            _ => {}
        }
        match event {
            Event::Eof if open > 0 => return None,
            Event::Eof => break,
            Event::Start(_) if ignored_depth > 0 => ignored_depth += 1,
            Event::End(_) if ignored_depth > 0 => ignored_depth -= 1,
            Event::Empty(_) | Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if ignored_depth > 0 => {}
            Event::Start(e) => match e.local_name().as_ref() {
                "testsuite" => {
                    saw_suite = true;
                    suite = attr(&e, "name").unwrap_or_default();
                }
                "testsuites" => saw_suite = true,
                "testcase" => case = Some(new_case(&e, &suite)),
                "failure" | "error" => {
                    if let Some(case) = case.as_mut() {
                        failed(case, &e);
                    }
                    target = Target::Failure;
                }
                "skipped" => skipped(case.as_mut()),
                "system-out" => target = Target::Out,
                "system-err" => target = Target::Err,
                "flakyFailure" | "flakyError" | "rerunFailure" | "rerunError" => ignored_depth = 1,
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                "testcase" => cases.push(new_case(&e, &suite)),
                "failure" | "error" => {
                    if let Some(case) = case.as_mut() {
                        failed(case, &e);
                    }
                }
                "skipped" => skipped(case.as_mut()),
                "testsuite" | "testsuites" => saw_suite = true,
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                "testcase" => cases.extend(case.take()),
                "failure" | "error" | "system-out" | "system-err" => target = Target::None,
                _ => {}
            },
            Event::Text(text) => push_text(case.as_mut(), target, &text.xml10_content()),
            Event::CData(text) => push_text(case.as_mut(), target, &text.xml10_content()),
            Event::GeneralRef(reference) => {
                let name = reference.xml10_content();
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => quick_xml::escape::resolve_predefined_entity(&name).unwrap_or_default().to_owned(),
                };
                push_text(case.as_mut(), target, &resolved);
            }
            _ => {}
        }
    }
    if !saw_suite {
        return None;
    }
    let tests = cases
        .into_iter()
        .map(|case| {
            let name = match framework {
                TestFramework::Pytest => node_id(&case.classname, &case.name),
                _ => case.name.clone(),
            };
            let status = case.status.unwrap_or(TestStatus::Passed);
            let output = if status == TestStatus::Failed { failure_output(&case) } else { String::new() };
            (case.suite, TestCase { name, status, duration_ms: case.time, output })
        })
        .collect();
    Some(qualify(tests, "::"))
}

fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
}

fn new_case(e: &BytesStart<'_>, suite: &str) -> Case {
    Case {
        suite: suite.to_owned(),
        classname: attr(e, "classname").unwrap_or_default(),
        name: attr(e, "name").unwrap_or_default(),
        time: attr(e, "time").and_then(|t| t.trim().parse::<f64>().ok()).and_then(seconds_to_ms),
        ..Case::default()
    }
}

fn failed(case: &mut Case, e: &BytesStart<'_>) {
    case.status = Some(TestStatus::Failed);
    if let Some(message) = attr(e, "message").filter(|m| !m.is_empty()) {
        if !case.message.is_empty() {
            case.message.push('\n');
        }
        case.message.push_str(&message);
    }
}

fn skipped(case: Option<&mut Case>) {
    if let Some(case) = case
        && case.status.is_none()
    {
        case.status = Some(TestStatus::Skipped);
    }
}

fn push_text(case: Option<&mut Case>, target: Target, text: &str) {
    let Some(case) = case else {
        return;
    };
    match target {
        Target::None => {}
        Target::Failure => case.failure.push_str(text),
        Target::Out => case.out.push_str(text),
        Target::Err => case.err.push_str(text),
    }
}

/// The failure's text (or its message), then whatever stdout and stderr add to it.
fn failure_output(case: &Case) -> String {
    let mut text = if case.failure.trim().is_empty() { case.message.clone() } else { case.failure.clone() };
    for part in [&case.out, &case.err] {
        let part = part.trim();
        if !part.is_empty() && !text.contains(part) {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(part);
        }
    }
    tail(&text)
}

/// pytest's node id from a JUnit classname and name.
fn node_id(classname: &str, name: &str) -> String {
    if classname.is_empty() {
        return name.to_owned();
    }
    let parts: Vec<&str> = classname.split('.').collect();
    let module_len = parts.iter().position(|p| p.starts_with(|c: char| c.is_ascii_uppercase())).unwrap_or(parts.len());
    if module_len == 0 {
        return format!("{}::{name}", parts.join("::"));
    }
    let mut id = format!("{}.py", parts[..module_len].join("/"));
    for class in &parts[module_len..] {
        id.push_str("::");
        id.push_str(class);
    }
    id.push_str("::");
    id.push_str(name);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_from_classnames() {
        assert_eq!(node_id("tests.test_math", "test_add"), "tests/test_math.py::test_add");
        assert_eq!(node_id("tests.test_math.TestAdd", "test_x[1-2]"), "tests/test_math.py::TestAdd::test_x[1-2]");
        assert_eq!(node_id("test_top", "test_a"), "test_top.py::test_a");
        assert_eq!(node_id("", "test_a"), "test_a");
    }

    #[test]
    fn nextest_report_with_a_retried_test_and_entities() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="4" failures="1" errors="0">
  <testsuite name="demo" tests="2" failures="1">
    <testcase name="tests::same" classname="demo" time="0.010"/>
    <testcase name="tests::fails" classname="demo" time="0.596">
      <failure message="thread &apos;tests::fails&apos; panicked" type="test failure">thread &apos;tests::fails&apos; panicked at src/lib.rs:12:56:
assertion `left == right` failed &lt;i32&gt;</failure>
      <system-out>running 1 test</system-out>
      <system-err>thread &apos;tests::fails&apos; panicked at src/lib.rs:12:56:
assertion `left == right` failed &lt;i32&gt;</system-err>
    </testcase>
  </testsuite>
  <testsuite name="demo::integ" tests="2" failures="0">
    <testcase name="tests::same" classname="demo::integ" time="0.002"/>
    <testcase name="flaky_one" classname="demo::integ" time="0.100">
      <flakyFailure message="first try failed" type="test failure"><system-out>try 1</system-out></flakyFailure>
    </testcase>
  </testsuite>
</testsuites>"#;
        let tests = parse(TestFramework::Nextest, xml).unwrap();
        let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["demo::tests::same", "tests::fails", "demo::integ::tests::same", "flaky_one"]);
        assert_eq!(tests[1].status, TestStatus::Failed);
        assert_eq!(tests[1].duration_ms, Some(596));
        assert_eq!(
            tests[1].output,
            "thread 'tests::fails' panicked at src/lib.rs:12:56:\nassertion `left == right` failed <i32>\nrunning 1 test\n"
        );
        assert_eq!(tests[3].status, TestStatus::Passed, "a retried test that passed is not a failure");
        assert_eq!(tests[3].output, "");
    }

    #[test]
    fn malformed_or_foreign_xml_is_none() {
        assert!(parse(TestFramework::Pytest, "<testsuite><testcase name='a'>").is_none());
        assert!(parse(TestFramework::Pytest, "<html><body/></html>").is_none());
        assert!(parse(TestFramework::Pytest, "not xml at all").is_none());
        assert_eq!(
            parse(TestFramework::Pytest, "<testsuites><testsuite name='pytest' tests='0'/></testsuites>"),
            Some(vec![])
        );
    }
}
