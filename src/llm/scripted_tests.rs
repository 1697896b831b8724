use futures::StreamExt;
use futures::executor::block_on;
use serde_json::json;

use super::*;
use crate::llm::types::{ToolCall, Usage};

const SCRIPT: &str = r#"
[[turn]]
role = "planner"
text = "Let me look."
[[turn.tool_call]]
name = "list_files"
arguments = { path = "src", depth = 2 }

[[turn]]
role = "implementer"
[[turn.tool_call]]
id = "w1"
name = "write_file"
raw_arguments = '{"path": "a.rs", "content": '

[[turn]]
role = "planner"
text = "Done."
usage = { input_tokens = 1000, output_tokens = 10 }

[[turn]]
text = "pong"
"#;

fn run(client: &ScriptedClient, role: Option<Role>) -> Vec<ModelEvent> {
    let request = ModelRequest { role, ..ModelRequest::default() };
    block_on(client.stream(request).collect())
}

fn client() -> ScriptedClient {
    let prices = Prices { input_per_mtok: 2.0, output_per_mtok: 10.0, ..Prices::default() };
    match ScriptedClient::from_toml("demo", "", SCRIPT, prices) {
        Ok(client) => client,
        Err(err) => panic!("{err}"),
    }
}

#[test]
fn roles_play_their_own_turns_in_order() {
    let client = client();
    assert_eq!(client.model(), "scripted");
    let first = run(&client, Some(Role::Planner));
    assert_eq!(
        first[..3],
        [
            ModelEvent::TextDelta("Let ".into()),
            ModelEvent::TextDelta("me ".into()),
            ModelEvent::TextDelta("look.".into()),
        ]
    );
    assert_eq!(
        first[3],
        ModelEvent::ToolCall(ToolCall {
            id: "call_planner_1_1".into(),
            name: "list_files".into(),
            arguments: json!({"path": "src", "depth": 2}),
        })
    );
    assert!(matches!(first[4], ModelEvent::Usage(_)));
    assert_eq!(first[5], ModelEvent::Finished(FinishReason::ToolCalls));

    let implementer = run(&client, Some(Role::Implementer));
    assert!(matches!(
        &implementer[0],
        ModelEvent::ToolCallError { id, name, raw_arguments, .. }
            if id == "w1" && name == "write_file" && raw_arguments.ends_with("\"content\": ")
    ));

    let second = run(&client, Some(Role::Planner));
    assert_eq!(
        second[1..],
        [
            ModelEvent::Usage(Usage { input_tokens: 1000, output_tokens: 10, cost_micros: 2100 }),
            ModelEvent::Finished(FinishReason::Stop),
        ]
    );
    assert_eq!(client.remaining(Some(Role::Planner)), 0);

    let none = run(&client, None);
    assert_eq!(none[0], ModelEvent::TextDelta("pong".into()));
}

#[test]
fn exhausted_scripts_fail_with_role_and_turn() {
    let client = client();
    run(&client, Some(Role::Implementer));
    let events = run(&client, Some(Role::Implementer));
    let [ModelEvent::Error(err)] = events.as_slice() else {
        panic!("expected one error, got {events:?}");
    };
    assert_eq!(err.kind, ModelErrorKind::ScriptExhausted { role: Some(Role::Implementer), turn: 2 });
    assert!(err.message.contains("script exhausted for implementer at turn 2"), "{err}");
    let events = run(&client, Some(Role::Reviewer));
    assert!(
        matches!(&events[0], ModelEvent::Error(e) if e.message.contains("script exhausted for reviewer at turn 1"))
    );
}

#[test]
fn invalid_scripts_are_explained() {
    let bad = |text: &str| match Script::parse(text, "t.toml") {
        Ok(_) => panic!("accepted {text}"),
        Err(err) => err.message,
    };
    assert!(bad("[[turn]]\nrole = \"planner\"\n").contains("no text"));
    assert!(bad("[[turn]]\nrole = \"wizard\"\ntext = \"x\"\n").contains("line 2"));
    assert!(bad("[[turn]]\ntext = \"x\"\ncolour = 1\n").contains("colour"));
    assert!(
        bad("[[turn]]\n[[turn.tool_call]]\nname = \"a\"\narguments = { }\nraw_arguments = \"{}\"\n").contains("both")
    );
    assert!(bad("[[turn]]\n[[turn.tool_call]]\narguments = { }\n").contains("no name"));
}

#[test]
fn scripted_errors_end_the_stream_after_the_text() {
    let client = match ScriptedClient::from_toml(
        "s",
        "m",
        "[[turn]]\nrole = \"ci\"\ntext = \"partial\"\nerror = \"overloaded\"\n",
        Prices::default(),
    ) {
        Ok(c) => c,
        Err(err) => panic!("{err}"),
    };
    let events = run(&client, Some(Role::Ci));
    assert_eq!(events[0], ModelEvent::TextDelta("partial".into()));
    assert!(matches!(&events[1], ModelEvent::Error(e) if e.message.contains("overloaded")));
    assert_eq!(events.len(), 2);
}

#[test]
fn turns_kept_for_a_task_are_played_by_that_task_s_agents_in_any_order() {
    let script = r#"
[[turn]]
role = "planner"
task = "Fix the rounding"
text = "rounding 1"

[[turn]]
role = "planner"
task = "Fold the case"
text = "case 1"

[[turn]]
role = "planner"
task = "Fix the rounding"
text = "rounding 2"

[[turn]]
role = "challenger"
task = "Fold the case"
candidate = "c2"
text = "case c2"

[[turn]]
role = "challenger"
task = "Fold the case"
text = "case any challenger"

[[turn]]
role = "planner"
text = "any task"
"#;
    let client = match ScriptedClient::from_toml("demo", "", script, Prices::default()) {
        Ok(client) => client,
        Err(err) => panic!("{err}"),
    };
    let play = |role: Role, candidate: Option<&str>, title: &str| {
        let request = ModelRequest {
            role: Some(role),
            candidate: candidate.map(str::to_owned),
            system: format!("You are an agent.\n## Task\n{title}\n"),
            ..ModelRequest::default()
        };
        let events: Vec<ModelEvent> = block_on(client.stream(request).collect());
        let text: String = events
            .iter()
            .filter_map(|e| match e {
                ModelEvent::TextDelta(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        text
    };
    assert_eq!(play(Role::Planner, None, "Fold the case in top_words"), "case 1");
    assert_eq!(play(Role::Planner, None, "Fix the rounding of minutes"), "rounding 1");
    assert_eq!(play(Role::Planner, None, "Fix the rounding of minutes"), "rounding 2");
    assert_eq!(play(Role::Planner, None, "Something else"), "any task");
    assert_eq!(play(Role::Challenger, Some("c1"), "Fold the case"), "case any challenger");
    assert_eq!(play(Role::Challenger, Some("c2"), "Fold the case"), "case c2");
    assert!(Script::parse("[[turn]]\ntask = \" \"\ntext = \"x\"\n", "t.toml").is_err());
}
