//! The structured calls that end an agent's stage: `submit_plan`, `submit_review`, `submit_pr`,
//! `finish`, and the Left Hand's `submit_tests`, `submit_findings` and `submit_recommendation`. Their arguments are checked here; a malformed submission goes back to the model
//! with the reason instead of ending the stage.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::protocol::{
    CriterionCoverage, Finding, HunkSource, Plan, Recommendation, Review, ReviewVerdict, SynthesisReason,
};
use crate::tools::schema::ToolSpec;

/// What the PR agent submits; the engine adds test results, the plan and the audit reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrDraft {
    /// Imperative title.
    pub title: String,
    /// What changed and why.
    pub summary: String,
    /// What could go wrong.
    #[serde(default)]
    pub risks: Vec<String>,
    /// How to undo it.
    #[serde(default)]
    pub rollback: String,
}

/// What `finish` carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finish {
    /// What the agent did and how it checked it.
    pub summary: String,
    /// Its confidence, 0–100.
    #[serde(default)]
    pub confidence: Option<u8>,
}

/// What the eval designer submits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestsSubmission {
    /// The test files written.
    pub files: Vec<String>,
    /// The tests' names as the runner prints them.
    #[serde(default)]
    pub tests: Vec<String>,
    /// What they check.
    #[serde(default)]
    pub summary: String,
    /// Which acceptance criterion (1-based) each test demonstrates.
    #[serde(default)]
    pub covers: Vec<CriterionCoverage>,
}

/// What the failure analyst submits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingsSubmission {
    /// The findings (none is a valid answer).
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// A one-paragraph summary.
    #[serde(default)]
    pub summary: String,
}

/// What the synthesis agent submits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecommendationSubmission {
    /// The action.
    pub recommendation: Recommendation,
    /// Why, tied to matrix rows.
    pub reasons: Vec<SynthesisReason>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecommendationArgs {
    action: String,
    #[serde(default)]
    candidate: Option<String>,
    #[serde(default)]
    hunks: Vec<HunkSource>,
    reasons: Vec<SynthesisReason>,
}

/// A checked submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// A plan.
    Plan(Plan),
    /// A review.
    Review(Review),
    /// A PR draft.
    Pr(PrDraft),
    /// A finished stage.
    Finish(Finish),
    /// Acceptance tests.
    Tests(TestsSubmission),
    /// A failure analysis.
    Findings(FindingsSubmission),
    /// A synthesis recommendation.
    Recommendation(RecommendationSubmission),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanArgs {
    summary: String,
    #[serde(default)]
    steps: Vec<String>,
    #[serde(default)]
    expected_files: Vec<String>,
    #[serde(default)]
    validation: Vec<String>,
    #[serde(default)]
    rollback: String,
    #[serde(default)]
    confidence: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewArgs {
    verdict: ReviewVerdict,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    findings: Vec<Finding>,
}

/// Parses a submission for `tool`, or says what is wrong with it.
pub fn parse(tool: &str, arguments: &Value) -> Result<Submission, String> {
    let invalid = |err: serde_json::Error| {
        format!("invalid {tool} arguments: {err}; call {tool} again with the fields its schema lists")
    };
    match tool {
        "submit_plan" => {
            let args: PlanArgs = serde_json::from_value(arguments.clone()).map_err(invalid)?;
            if args.summary.trim().is_empty() {
                return Err("the plan's summary is empty; say what will change and why".into());
            }
            Ok(Submission::Plan(Plan {
                summary: args.summary,
                steps: args.steps,
                expected_files: args.expected_files,
                validation: args.validation,
                rollback: args.rollback,
                confidence: args.confidence.map(|c| c.min(100)),
            }))
        }
        "submit_review" => {
            let args: ReviewArgs = serde_json::from_value(arguments.clone()).map_err(invalid)?;
            if args.verdict == ReviewVerdict::RequestChanges && args.findings.is_empty() {
                return Err("a review that requests changes must list findings saying what to change".into());
            }
            let blocking: Vec<&Finding> =
                args.findings.iter().filter(|f| matches!(f.severity.as_str(), "blocker" | "major")).collect();
            if args.verdict == ReviewVerdict::Approve && !blocking.is_empty() {
                let named: Vec<String> = blocking.iter().map(|f| format!("{}: {}", f.severity, f.message)).collect();
                return Err(format!(
                    "a review cannot approve with a blocker or major finding ({}): request changes, or lower the \
                     severity of a finding that does not block the change",
                    named.join("; ")
                ));
            }
            Ok(Submission::Review(Review { verdict: args.verdict, findings: args.findings, summary: args.summary }))
        }
        "submit_pr" => {
            let draft: PrDraft = serde_json::from_value(arguments.clone()).map_err(invalid)?;
            if draft.title.trim().is_empty() {
                return Err("the PR title is empty".into());
            }
            Ok(Submission::Pr(draft))
        }
        "finish" => Ok(Submission::Finish(serde_json::from_value(arguments.clone()).map_err(invalid)?)),
        "submit_tests" => {
            let tests: TestsSubmission = serde_json::from_value(arguments.clone()).map_err(invalid)?;
            if tests.files.iter().all(|f| f.trim().is_empty()) {
                return Err("list the test files you wrote in `files`".into());
            }
            Ok(Submission::Tests(tests))
        }
        "submit_findings" => Ok(Submission::Findings(serde_json::from_value(arguments.clone()).map_err(invalid)?)),
        "submit_recommendation" => {
            let args: RecommendationArgs = serde_json::from_value(arguments.clone()).map_err(invalid)?;
            let recommendation = match (args.action.as_str(), args.candidate) {
                ("adopt", Some(candidate)) if !candidate.trim().is_empty() => Recommendation::Adopt { candidate },
                ("adopt", _) => return Err("`adopt` needs the `candidate` to adopt".into()),
                ("combine", _) if args.hunks.is_empty() => {
                    return Err("`combine` needs `hunks`: each with candidate, file and hunk header".into());
                }
                ("combine", _) => Recommendation::Combine { hunks: args.hunks },
                ("keep_production", _) => Recommendation::KeepProduction,
                ("reject_all", _) => Recommendation::RejectAll,
                (other, _) => {
                    return Err(format!("unknown action `{other}`; use adopt, combine, keep_production or reject_all"));
                }
            };
            if args.reasons.is_empty() {
                return Err("give at least one reason, tied to the matrix rows it rests on".into());
            }
            Ok(Submission::Recommendation(RecommendationSubmission { recommendation, reasons: args.reasons }))
        }
        other => Err(format!("`{other}` is not a submission")),
    }
}

/// The schema of a list of findings.
fn finding_list() -> Value {
    json!({"type": "array", "items": {
        "type": "object",
        "properties": {
            "severity": {"type": "string", "enum": ["blocker", "major", "minor", "nit"]},
            "category": {"type": "string"},
            "file": {"type": "string"},
            "message": {"type": "string"}
        },
        "required": ["severity", "category", "message"],
        "additionalProperties": false
    }})
}

/// The tool definition of a submission call.
pub fn spec(tool: &str) -> Option<ToolSpec> {
    let strings = json!({"type": "array", "items": {"type": "string"}});
    Some(match tool {
        "submit_plan" => ToolSpec {
            name: "submit_plan",
            description: "Submit the implementation plan. Call once, when you have read enough code to plan.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "summary": {"type": "string", "description": "What will change and why."},
                    "steps": strings.clone(),
                    "expected_files": strings.clone(),
                    "validation": strings.clone(),
                    "rollback": {"type": "string"},
                    "confidence": {"type": "integer", "minimum": 0, "maximum": 100}
                },
                "required": ["summary", "steps", "expected_files", "validation", "rollback"],
                "additionalProperties": false
            }),
        },
        "submit_review" => ToolSpec {
            name: "submit_review",
            description: "Submit your review of the change. Approve only when no finding is a blocker or major.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "verdict": {"type": "string", "enum": ["approve", "request_changes"]},
                    "summary": {"type": "string"},
                    "findings": finding_list()
                },
                "required": ["verdict", "summary", "findings"],
                "additionalProperties": false
            }),
        },
        "submit_pr" => ToolSpec {
            name: "submit_pr",
            description: "Submit the pull request's title and description.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "summary": {"type": "string"},
                    "risks": strings.clone(),
                    "rollback": {"type": "string"}
                },
                "required": ["title", "summary", "risks", "rollback"],
                "additionalProperties": false
            }),
        },
        "finish" => ToolSpec {
            name: "finish",
            description: "Say you are done, with a summary of what you did and how you checked it.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "summary": {"type": "string"},
                    "confidence": {"type": "integer", "minimum": 0, "maximum": 100}
                },
                "required": ["summary"],
                "additionalProperties": false
            }),
        },
        "submit_tests" => ToolSpec {
            name: "submit_tests",
            description: "Submit the acceptance tests you wrote: their files and names, and which acceptance \
                          criterion (numbered from 1) each test demonstrates.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "files": strings.clone(),
                    "tests": strings.clone(),
                    "summary": {"type": "string"},
                    "covers": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "criterion": {"type": "integer", "minimum": 1},
                                "test": {"type": "string"}
                            },
                            "required": ["criterion", "test"],
                            "additionalProperties": false
                        }
                    }
                },
                "required": ["files", "tests", "summary"],
                "additionalProperties": false
            }),
        },
        "submit_findings" => ToolSpec {
            name: "submit_findings",
            description: "Submit your failure analysis of the candidate (no findings is a valid answer).",
            parameters: json!({
                "type": "object",
                "properties": {
                    "findings": finding_list(),
                    "summary": {"type": "string"}
                },
                "required": ["findings", "summary"],
                "additionalProperties": false
            }),
        },
        "submit_recommendation" => ToolSpec {
            name: "submit_recommendation",
            description: "Recommend what the production track adopts, each reason tied to matrix rows.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "action": {"type": "string", "enum": ["adopt", "combine", "keep_production", "reject_all"]},
                    "candidate": {"type": "string", "description": "For adopt: the candidate's label."},
                    "hunks": {"type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "candidate": {"type": "string"},
                            "file": {"type": "string"},
                            "hunk": {"type": "string", "description": "The hunk header, or * for the whole file."}
                        },
                        "required": ["candidate", "file", "hunk"],
                        "additionalProperties": false
                    }},
                    "reasons": {"type": "array", "items": {
                        "type": "object",
                        "properties": {"text": {"type": "string"}, "rows": strings.clone()},
                        "required": ["text", "rows"],
                        "additionalProperties": false
                    }}
                },
                "required": ["action", "reasons"],
                "additionalProperties": false
            }),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submissions_parse_and_bad_ones_say_why() {
        let plan = parse("submit_plan", &json!({"summary": "fix", "steps": ["a"], "expected_files": ["src/a.rs"], "validation": [], "rollback": "revert"})).unwrap();
        assert!(matches!(plan, Submission::Plan(ref p) if p.expected_files == ["src/a.rs"]));
        assert!(parse("submit_plan", &json!({"steps": []})).unwrap_err().contains("missing field `summary`"));
        let err = parse("submit_review", &json!({"verdict": "request_changes", "summary": "no"})).unwrap_err();
        assert!(err.contains("must list findings"));
        assert!(parse("submit_review", &json!({"verdict": "maybe"})).is_err());
        let blocker = json!({"severity": "blocker", "category": "correctness", "message": "divides by zero"});
        let err = parse("submit_review", &json!({"verdict": "approve", "summary": "ok", "findings": [blocker]}));
        assert!(err.unwrap_err().contains("cannot approve with a blocker or major finding (blocker: divides by zero)"));
        let nit = json!({"severity": "nit", "category": "style", "message": "name"});
        let fine = parse("submit_review", &json!({"verdict": "approve", "summary": "ok", "findings": [nit]})).unwrap();
        assert!(matches!(fine, Submission::Review(ref r) if r.verdict == ReviewVerdict::Approve));
        assert!(matches!(parse("finish", &json!({"summary": "done"})).unwrap(), Submission::Finish(_)));
        let tests = parse("submit_tests", &json!({"files": ["tests/a.rs"], "tests": ["a"], "summary": "s"})).unwrap();
        assert!(matches!(tests, Submission::Tests(ref t) if t.files == ["tests/a.rs"]));
        assert!(parse("submit_tests", &json!({"files": [], "tests": []})).unwrap_err().contains("test files"));
        let adopt =
            json!({"action": "adopt", "candidate": "c2", "reasons": [{"text": "fewer regressions", "rows": ["c2"]}]});
        assert!(matches!(
            parse("submit_recommendation", &adopt).unwrap(),
            Submission::Recommendation(RecommendationSubmission { recommendation: Recommendation::Adopt { .. }, .. })
        ));
        let no_candidate = json!({"action": "adopt", "reasons": [{"text": "x", "rows": []}]});
        assert!(parse("submit_recommendation", &no_candidate).unwrap_err().contains("needs the `candidate`"));
        let no_reason = json!({"action": "reject_all", "reasons": []});
        assert!(parse("submit_recommendation", &no_reason).unwrap_err().contains("at least one reason"));
        // The call that ends each kind of stage has a schema.
        for tool in crate::protocol::StageKind::ALL.iter().filter_map(|kind| kind.submit()) {
            assert_eq!(spec(tool).unwrap().name, tool);
        }
    }
}
