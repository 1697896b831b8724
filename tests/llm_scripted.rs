//! The scripted provider, selected through configuration like any other provider.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::StreamExt;
use futures::executor::block_on;
use serde_json::json;

use ambidex::config::Config;
use ambidex::llm::{FinishReason, ModelErrorKind, ModelEvent, ModelRequest, ToolCall, client_for};
use ambidex::protocol::Role;

const SCRIPT: &str = r#"
# Two agents share this script; each plays its own turns in order.
[[turn]]
role = "planner"
text = "Plan: add a test."
[[turn.tool_call]]
name = "submit_plan"
arguments = { steps = ["write test", "run test"], risk = "low" }

[[turn]]
role = "implementer"
[[turn.tool_call]]
id = "edit-1"
name = "edit_file"
arguments = { path = "src/lib.rs", old = "a", new = "b" }
[[turn.tool_call]]
name = "run"
arguments = { command = "cargo test" }

[[turn]]
role = "implementer"
text = "All green."
usage = { input_tokens = 2000, output_tokens = 100 }
"#;

fn config(script_path: &str) -> Config {
    let text = format!(
        r#"
[models]
default_provider = "demo"

[providers.demo]
kind = "scripted"
script = "{script_path}"
input_price_per_mtok = 1.0
output_price_per_mtok = 4.0

[roles.planner]
model = "planner-script"
"#
    );
    toml::from_str(&text).expect("config parses")
}

fn play(client: &dyn ambidex::llm::ModelClient, role: Role) -> Vec<ModelEvent> {
    let request = ModelRequest { role: Some(role), ..ModelRequest::default() };
    block_on(client.stream(request).collect())
}

#[test]
fn config_selects_the_scripted_provider_and_roles_share_one_script() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("demo.toml");
    std::fs::write(&path, SCRIPT).expect("write script");
    let config = config(&path.display().to_string());

    let (name, provider, model) = config.provider_for(Role::Planner).expect("planner provider");
    assert_eq!((name, model.as_str()), ("demo", "planner-script"));
    let planner = client_for(name, provider, model).expect("planner client");
    assert_eq!(planner.model(), "planner-script");
    let (name, provider, model) = config.provider_for(Role::Implementer).expect("implementer provider");
    let shared = client_for(name, provider, model).expect("client");
    assert_eq!(shared.model(), "scripted");

    let events = play(planner.as_ref(), Role::Planner);
    assert_eq!(events.iter().filter(|e| matches!(e, ModelEvent::TextDelta(_))).count(), 4);
    assert!(events.contains(&ModelEvent::ToolCall(ToolCall {
        id: "call_planner_1_1".into(),
        name: "submit_plan".into(),
        arguments: json!({"steps": ["write test", "run test"], "risk": "low"}),
    })));

    let first = play(shared.as_ref(), Role::Implementer);
    let calls: Vec<&str> = first
        .iter()
        .filter_map(|e| match e {
            ModelEvent::ToolCall(call) => Some(call.id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(calls, ["edit-1", "call_implementer_1_2"]);
    assert_eq!(first.last(), Some(&ModelEvent::Finished(FinishReason::ToolCalls)));
    let second = play(shared.as_ref(), Role::Implementer);
    assert!(second.contains(&ModelEvent::Usage(ambidex::llm::Usage {
        input_tokens: 2000,
        output_tokens: 100,
        cost_micros: 2400,
    })));
    assert_eq!(second.last(), Some(&ModelEvent::Finished(FinishReason::Stop)));

    let third = play(shared.as_ref(), Role::Implementer);
    let [ModelEvent::Error(err)] = third.as_slice() else {
        panic!("expected exhaustion: {third:?}");
    };
    assert_eq!(err.kind, ModelErrorKind::ScriptExhausted { role: Some(Role::Implementer), turn: 3 });
    assert!(err.message.contains("script exhausted for implementer at turn 3"), "{err}");
}

#[test]
fn a_missing_or_invalid_script_is_a_clear_error() {
    let config = config("/nonexistent/script.toml");
    let (name, provider, model) = config.provider_for(Role::Planner).expect("provider");
    let err = client_for(name, provider, model).expect_err("no script file");
    assert_eq!(err.kind, ModelErrorKind::Script);
    assert!(err.message.contains("/nonexistent/script.toml"), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[turn]]\nrole = \"planner\"\ntxt = \"typo\"\n").expect("write");
    let config = config_with(&path);
    let (name, provider, model) = config.provider_for(Role::Planner).expect("provider");
    let err = client_for(name, provider, model).expect_err("typo");
    assert!(err.message.contains("line 3") && err.message.contains("txt"), "{err}");
}

fn config_with(path: &std::path::Path) -> Config {
    config(&path.display().to_string())
}

#[test]
fn the_documented_example_script_is_valid_and_plays() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scripted-model.md"))
        .expect("read docs/scripted-model.md");
    let example = doc
        .split("## Example")
        .nth(1)
        .and_then(|rest| rest.split("```toml").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("an example block");
    let client = ambidex::llm::ScriptedClient::from_toml("demo", "", example, ambidex::llm::Prices::default())
        .expect("the example parses");
    assert_eq!(client.script().turns.len(), 7);
    let first = play(&client, Role::Implementer);
    assert!(matches!(first[0], ModelEvent::ToolCallError { .. }), "{first:?}");
    let review = play(&client, Role::Reviewer);
    assert!(matches!(&review[0], ModelEvent::Error(e) if e.message.contains("simulated outage")));
}
