//! The structured calls that end an agent's stage: `submit_plan`, `submit_review`, `submit_pr`
//! and `finish`. Their arguments are checked here; a malformed submission goes back to the model
//! with the reason instead of ending the stage.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::protocol::{Finding, Plan, Review, ReviewVerdict};
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
        other => Err(format!("`{other}` is not a submission")),
    }
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
            description: "Submit your review of the change.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "verdict": {"type": "string", "enum": ["approve", "request_changes"]},
                    "summary": {"type": "string"},
                    "findings": {"type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "severity": {"type": "string", "enum": ["blocker", "major", "minor", "nit"]},
                            "category": {"type": "string"},
                            "file": {"type": "string"},
                            "message": {"type": "string"}
                        },
                        "required": ["severity", "category", "message"],
                        "additionalProperties": false
                    }}
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
        assert!(matches!(parse("finish", &json!({"summary": "done"})).unwrap(), Submission::Finish(_)));
        for tool in ["submit_plan", "submit_review", "submit_pr", "finish"] {
            assert_eq!(spec(tool).unwrap().name, tool);
        }
    }
}
