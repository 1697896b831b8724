//! Prompt templates: `{{name}}` placeholders filled from the task, the repository context, the
//! plan and the feedback of earlier rounds. Unknown placeholders become empty, so a playbook that
//! asks for less gets less.

use std::collections::BTreeMap;

use crate::protocol::{Plan, TaskSpec};

/// Replaces every `{{name}}` in `template` with `values[name]` (or nothing).
pub fn render(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len() + values.values().map(String::len).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                if let Some(value) = values.get(name) {
                    out.push_str(value);
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    // Empty placeholders leave runs of blank lines behind.
    let mut tidy = String::with_capacity(out.len());
    let mut blank = 0;
    for line in out.trim().lines() {
        blank = if line.trim().is_empty() { blank + 1 } else { 0 };
        if blank <= 1 {
            tidy.push_str(line);
            tidy.push('\n');
        }
    }
    tidy
}

/// The task as agents read it.
pub fn task_section(spec: &TaskSpec) -> String {
    let mut out = format!("## Task\n{}\n", spec.title);
    if !spec.description.trim().is_empty() {
        out.push_str(&format!("\n{}\n", spec.description.trim()));
    }
    let list = |out: &mut String, heading: &str, items: &[String]| {
        if !items.is_empty() {
            out.push_str(&format!("\n### {heading}\n"));
            for item in items {
                out.push_str(&format!("- {item}\n"));
            }
        }
    };
    list(&mut out, "Acceptance criteria", &spec.acceptance_criteria);
    // A report without criteria that states the expected value: intake proposed the criterion.
    let proposed: Vec<String> =
        spec.proposed_criteria().into_iter().map(|p| format!("(proposed) {} — from \"{}\"", p.text, p.quote)).collect();
    list(
        &mut out,
        "Acceptance criteria (proposed by intake from the report's expected value; not confirmed by a human)",
        &proposed,
    );
    list(&mut out, "Constraints", &spec.constraints);
    list(&mut out, "Out of scope", &spec.out_of_scope);
    out
}

/// The accepted plan as agents read it.
pub fn plan_section(plan: &Plan) -> String {
    let mut out = format!("## Plan\n{}\n", plan.summary.trim());
    for (i, step) in plan.steps.iter().enumerate() {
        out.push_str(&format!("{}. {step}\n", i + 1));
    }
    if !plan.expected_files.is_empty() {
        out.push_str(&format!("Files: {}\n", plan.expected_files.join(", ")));
    }
    if !plan.validation.is_empty() {
        out.push_str(&format!("Validation: {}\n", plan.validation.join("; ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_missing_ones_vanish() {
        let values = BTreeMap::from([("task", "## Task\nfix".to_owned())]);
        let text = render("Intro.\n\n{{task}}\n\n{{missing}}\n\n{{ task }}\nEnd {{unclosed", &values);
        assert_eq!(text, "Intro.\n\n## Task\nfix\n\n## Task\nfix\nEnd {{unclosed\n");
    }

    #[test]
    fn the_task_section_lists_what_is_there() {
        let mut spec = TaskSpec::titled("Fix pagination");
        spec.acceptance_criteria = vec!["last page shows last item".into()];
        let text = task_section(&spec);
        assert!(text.contains("### Acceptance criteria\n- last page shows last item"));
        assert!(!text.contains("Constraints"));
        assert!(!text.contains("proposed"), "given criteria leave nothing to propose");
    }

    #[test]
    fn a_criterion_proposed_from_the_report_is_listed_as_proposed() {
        let mut spec = TaskSpec::titled("Fix pagination");
        spec.description = "`page_count(11, 5)` returns 2 instead of 3.".into();
        let text = task_section(&spec);
        assert!(
            text.contains(
                "### Acceptance criteria (proposed by intake from the report's expected value; not confirmed by \
                 a human)\n- (proposed) page_count(11, 5) returns 3 — from \"`page_count(11, 5)` returns 2 \
                 instead of 3\""
            ),
            "{text}"
        );
    }
}
