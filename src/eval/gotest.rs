//! `go test -json` events (test2json): one JSON object per line with `Action` (`run`, `output`,
//! `pass`, `fail`, `skip`, …), `Package`, `Test` and `Elapsed` (seconds).
//!
//! Tests are named `<package>/<test>` (subtests keep their own `/`: `pkg/TestA/case_1`). A failing
//! test keeps the end of its output. A package that fails with no failing test (it does not
//! build, or its binary exits early) gets a pseudo-test `<package>/<build>` with the package's
//! (and the build's) output. Lines that are not events are skipped.

use std::collections::HashMap;

use serde::Deserialize;

use super::parse::{BUILD_TEST, EXIT_TEST, seconds_to_ms, tail};
use crate::protocol::{TestCase, TestStatus};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    action: String,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    test: Option<String>,
    #[serde(default)]
    elapsed: Option<f64>,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    import_path: Option<String>,
    #[serde(default)]
    failed_build: Option<String>,
}

#[derive(Debug, Default)]
struct Test {
    status: Option<TestStatus>,
    elapsed: Option<u64>,
    output: String,
}

#[derive(Debug, Default)]
struct Package {
    output: String,
    failed: bool,
    failed_build: bool,
    tests: Vec<String>,
}

/// Parses `go test -json` output; `None` when it holds no events.
pub fn parse(stdout: &str) -> Option<Vec<TestCase>> {
    let mut tests: HashMap<(String, String), Test> = HashMap::new();
    let mut packages: Vec<(String, Package)> = Vec::new();
    let mut seen = false;
    for line in stdout.lines() {
        let Some(start) = line.find('{') else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<Event>(line[start..].trim_end()) else {
            continue;
        };
        seen = true;
        let package_name = match (&event.package, &event.import_path) {
            (Some(p), _) => p.clone(),
            // `example.com/m/calc [example.com/m/calc.test]`
            (None, Some(path)) => path.split_whitespace().next().unwrap_or_default().to_owned(),
            (None, None) => continue,
        };
        let index = match packages.iter().position(|(name, _)| *name == package_name) {
            Some(index) => index,
            None => {
                packages.push((package_name.clone(), Package::default()));
                packages.len() - 1
            }
        };
        let package = &mut packages[index].1;
        let Some(test_name) = event.test.clone() else {
            match event.action.as_str() {
                "output" | "build-output" => package.output.push_str(event.output.as_deref().unwrap_or_default()),
                "fail" => {
                    package.failed = true;
                    package.failed_build |= event.failed_build.is_some();
                }
                "build-fail" => {
                    package.failed = true;
                    package.failed_build = true;
                }
                _ => {}
            }
            continue;
        };
        let key = (package_name, test_name);
        if !tests.contains_key(&key) {
            package.tests.push(key.1.clone());
        }
        let test = tests.entry(key).or_default();
        match event.action.as_str() {
            "output" => test.output.push_str(event.output.as_deref().unwrap_or_default()),
            "pass" => test.status = Some(TestStatus::Passed),
            "fail" => test.status = Some(TestStatus::Failed),
            "skip" => test.status = Some(TestStatus::Skipped),
            _ => {}
        }
        if matches!(event.action.as_str(), "pass" | "fail" | "skip") {
            test.elapsed = event.elapsed.and_then(seconds_to_ms);
        }
    }
    if !seen {
        return None;
    }
    let mut out = Vec::new();
    for (package_name, package) in packages {
        let mut any_failed = false;
        for test_name in &package.tests {
            let Some(test) = tests.remove(&(package_name.clone(), test_name.clone())) else {
                continue;
            };
            let (status, output) = match test.status {
                Some(TestStatus::Failed) => (TestStatus::Failed, tail(&test.output)),
                Some(status) => (status, String::new()),
                None => {
                    let text = format!("{}\n[the test did not report a result]", test.output);
                    (TestStatus::Failed, tail(&text))
                }
            };
            any_failed |= status == TestStatus::Failed;
            out.push(TestCase {
                name: format!("{package_name}/{test_name}"),
                status,
                duration_ms: test.elapsed,
                output,
            });
        }
        if package.failed && !any_failed {
            let pseudo = if package.failed_build || package.tests.is_empty() { BUILD_TEST } else { EXIT_TEST };
            out.push(TestCase {
                name: format!("{package_name}/{pseudo}"),
                status: TestStatus::Failed,
                duration_ms: None,
                output: tail(&package.output),
            });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_failure_is_a_pseudo_test_of_its_package() {
        let stdout = r##"{"ImportPath":"example.com/m/broken [example.com/m/broken.test]","Action":"build-output","Output":"# example.com/m/broken\n"}
{"ImportPath":"example.com/m/broken [example.com/m/broken.test]","Action":"build-output","Output":"broken/b.go:3:9: undefined: missing\n"}
{"ImportPath":"example.com/m/broken [example.com/m/broken.test]","Action":"build-fail"}
{"Time":"2025-01-10T10:00:00Z","Action":"start","Package":"example.com/m/broken"}
{"Time":"2025-01-10T10:00:00Z","Action":"output","Package":"example.com/m/broken","Output":"FAIL\texample.com/m/broken [build failed]\n"}
{"Time":"2025-01-10T10:00:00Z","Action":"fail","Package":"example.com/m/broken","Elapsed":0,"FailedBuild":"example.com/m/broken [example.com/m/broken.test]"}
"##;
        let tests = parse(stdout).unwrap();
        assert_eq!(tests.len(), 1);
        assert_eq!(tests[0].name, "example.com/m/broken/<build>");
        assert_eq!(tests[0].status, TestStatus::Failed);
        assert!(tests[0].output.contains("undefined: missing"), "{}", tests[0].output);
    }

    #[test]
    fn a_test_without_a_result_failed() {
        let stdout = r#"{"Action":"run","Package":"p","Test":"TestHang"}
{"Action":"output","Package":"p","Test":"TestHang","Output":"=== RUN   TestHang\n"}
{"Action":"output","Package":"p","Output":"panic: test timed out after 1s\n"}
{"Action":"fail","Package":"p","Elapsed":1.0}
"#;
        let tests = parse(stdout).unwrap();
        assert_eq!(tests.len(), 1);
        assert_eq!(tests[0].name, "p/TestHang");
        assert_eq!(tests[0].status, TestStatus::Failed);
        assert!(parse("ok  \tp\t0.1s\n").is_none());
    }
}
