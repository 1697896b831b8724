//! MCP servers as agents' tools, against a real server the tests start (`support/mcp_server.py`,
//! over stdio and over streamable HTTP on 127.0.0.1): `ambidex mcp list|check` shows the tools,
//! the policy and the health; a playbook stage offers a server's tools to its agent, whose calls
//! go through the broker (allowed ones run, ones needing a human wait for an approval, forbidden
//! ones are not offered and never reach the server, slow ones time out), are audited as
//! `tool_called` events and redacted; a repository cannot add a server.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use support::cli::Sandbox;
use support::engine::{FIX, PR, REVIEW, TEST, commit_all, pagination_repo, script, task_file};

const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/mcp_server.py");

/// The user config with the test server as `testy` (stdio), its calls logged to `log`.
fn stdio_config(sandbox: &Sandbox, extra: &str) {
    let log = sandbox.path("mcp.log");
    sandbox.write(
        "config/ambidex/config.toml",
        &format!(
            "[mcp.servers.testy]\ncommand = \"python3\"\nargs = [\"{SERVER}\"]\n\
             env = {{ MCP_TEST_LOG = \"{}\", MCP_TEST_GREETING = \"hello, ${{MCP_GREETING_TOKEN}}\" }}\n\
             allow = [\"echo\", \"add\", \"greet\", \"getenv\"]\nforbid = [\"delete_*\"]\ntimeout_secs = 2\n{extra}",
            log.display()
        ),
    );
}

fn logged(sandbox: &Sandbox) -> Vec<Value> {
    std::fs::read_to_string(sandbox.path("mcp.log"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn mcp_list_shows_each_tool_with_its_policy_and_check_says_what_is_wrong() {
    let sandbox = Sandbox::new();
    stdio_config(&sandbox, "\n[mcp.servers.gone]\ncommand = \"/nonexistent/mcp-server\"\n");
    let env = [("MCP_GREETING_TOKEN", "x")];

    let listed = sandbox.run_with(&["mcp", "list"], &env).ok();
    for line in [
        "allow   mcp__testy__echo",
        "allow   mcp__testy__getenv",
        "prompt  mcp__testy__sleep",
        "forbid  mcp__testy__delete_everything",
        "check `mcp.servers.gone.command`",
    ] {
        assert!(listed.contains(line), "`{line}` in:\n{listed}");
    }
    let checked = sandbox.run_with(&["mcp", "check"], &env);
    assert_eq!(checked.code, 1, "a server that cannot start fails the check: {}", checked.stdout);
    assert!(checked.stdout.contains("testy: ok (stdio: python3, 7 tools"), "{}", checked.stdout);
    assert!(checked.stdout.contains("gone: FAILED"), "{}", checked.stdout);

    let unset = sandbox.run(&["mcp", "check", "--json"]);
    let checks: Value = serde_json::from_str(&unset.stdout).unwrap();
    let testy = checks.as_array().unwrap().iter().find(|c| c["server"] == "testy").unwrap();
    assert!(
        testy["error"].as_str().unwrap().contains("the variable `MCP_GREETING_TOKEN` is not set"),
        "a secret named in the config but missing is said, not sent empty: {testy}"
    );
}

#[test]
fn a_repository_cannot_add_an_mcp_server() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    sandbox.write("repo/.ambidex/config.toml", "[mcp.servers.evil]\ncommand = \"sh\"\n");
    let refused = sandbox.run(&["mcp", "list"]).fails();
    assert!(refused.contains("MCP servers are programs started on your machine"), "{refused}");
}

/// The implementer's first turn: every kind of MCP call (the fix follows).
const MCP_CALLS: &str = r#"
[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "mcp__testy__echo"
arguments = { text = "the pager rounds down" }
[[turn.tool_call]]
name = "mcp__testy__add"
arguments = { a = 2, b = 3 }
[[turn.tool_call]]
name = "mcp__testy__greet"
[[turn.tool_call]]
name = "mcp__testy__getenv"
arguments = { name = "MCP_TEST_PROVIDER_API_KEY" }
[[turn.tool_call]]
name = "mcp__testy__delete_everything"
[[turn.tool_call]]
name = "mcp__testy__sleep"
arguments = { seconds = 5 }
"#;

/// The shipped production playbook with the implementer offered `entry` (`mcp:…`).
fn playbook_with_mcp(entry: &str) -> String {
    let shipped = include_str!("../playbooks/right_hand.toml");
    let implement = shipped.find("name = \"implement\"").unwrap();
    let tools = implement + shipped[implement..].find("tools = [").unwrap() + "tools = [".len();
    format!("{}\"{entry}\", {}", &shipped[..tools], &shipped[tools..])
}

/// `ambidex run` of `task` with the scripted model playing `script`, every gate approved.
fn run_task(sandbox: &Sandbox, script: &std::path::Path, task: &str, env: &[(&str, &str)]) -> support::cli::Run {
    let mut args: Vec<String> = support::engine::scripted(script);
    args.extend(["-c", "engine.challengers=0", "run", "--task-file", task, "--approve", "all"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    sandbox.run_with(&refs, env)
}

/// The one task of the sandbox's store, with its events (`task show --json`).
fn only_task(sandbox: &Sandbox) -> Value {
    let listed: Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap()
}

#[test]
fn an_agent_calls_a_servers_tools_through_the_broker_audited_judged_redacted_and_bounded() {
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    sandbox.write("repo/.ambidex/playbooks/right_hand.toml", &playbook_with_mcp("mcp:testy"));
    commit_all(&sandbox.repo(), "the implementer may use the testy MCP server");
    stdio_config(&sandbox, "");
    let checked = sandbox.run(&["playbook", "check"]).ok();
    assert!(checked.contains("right_hand"), "{checked}");

    let planner = support::engine::PLAN;
    let script = script(&sandbox, "mcp", &[planner, MCP_CALLS, FIX, TEST, REVIEW, PR].concat());
    let task = task_file(&sandbox, "low");
    let secret = "mcp-greeting-s3cr3t-0123456789";
    let provider_key = ("MCP_TEST_PROVIDER_API_KEY", "sk-not-for-mcp-servers-0123456789");
    let run = run_task(&sandbox, &script, &task, &[("MCP_GREETING_TOKEN", secret), provider_key]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    let shown = only_task(&sandbox);
    let calls: Vec<&Value> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"]["type"] == "tool_called")
        .map(|e| &e["kind"])
        .filter(|call| call["tool"].as_str().unwrap().starts_with("mcp__"))
        .collect();
    let by_tool = |tool: &str| *calls.iter().find(|c| c["tool"] == tool).unwrap_or_else(|| panic!("{tool}: {calls:?}"));

    let echo = by_tool("mcp__testy__echo");
    assert_eq!((echo["ok"].as_bool(), echo["output"].as_str()), (Some(true), Some("the pager rounds down")));
    assert_eq!(echo["policy"]["verdict"], "allow", "{echo}");
    assert_eq!(echo["sandbox"], "mcp:testy");
    assert_eq!(by_tool("mcp__testy__add")["output"], "5");
    let greet = by_tool("mcp__testy__greet");
    let said = greet["output"].as_str().unwrap();
    assert!(said.starts_with("hello, ") && !said.contains(secret), "the secret is redacted: {said}");
    assert_eq!(
        by_tool("mcp__testy__getenv")["output"],
        "(unset)",
        "a server inherits HOME, PATH and the like, not Ambidex's whole environment"
    );
    assert!(
        calls.iter().all(|c| c["tool"] != "mcp__testy__delete_everything"),
        "a forbidden tool is not offered, so its call is turned away before the broker: {calls:?}"
    );
    let slow = by_tool("mcp__testy__sleep");
    assert_eq!(slow["policy"]["decision"], "approve", "a prompt verdict went to the approval: {slow}");
    assert!(slow["output"].as_str().unwrap().contains("no answer within 2 s"), "{slow}");

    let reached: Vec<String> = logged(&sandbox).iter().map(|e| e["tool"].as_str().unwrap().to_owned()).collect();
    assert_eq!(reached, ["echo", "add", "greet", "getenv", "sleep"], "the forbidden call never reached the server");
    let all = sandbox.run(&["audit", "verify"]).ok();
    assert!(all.starts_with("ok"), "{all}");
}

/// Runs the happy task with the implementer offered `entry`, and returns the note saying why the
/// agent went without MCP tools (the task still reaches its PR).
fn note_when_offering(sandbox: &Sandbox, entry: &str) -> String {
    pagination_repo(sandbox);
    sandbox.write("repo/.ambidex/playbooks/right_hand.toml", &playbook_with_mcp(entry));
    commit_all(&sandbox.repo(), "the implementer is offered MCP tools it cannot have");
    let script = script(sandbox, "happy", &support::engine::happy_script());
    let task = task_file(sandbox, "low");
    let run = run_task(sandbox, &script, &task, &[("MCP_GREETING_TOKEN", "x")]);
    assert_eq!(run.code, 0, "the task still reaches its PR: {}\n{}", run.stdout, run.stderr);
    let shown = only_task(sandbox);
    let note = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"]["text"].as_str())
        .find(|text| text.contains("the agent works without those MCP tools"))
        .unwrap_or_else(|| panic!("a note says why: {shown}"));
    note.to_owned()
}

#[test]
fn a_server_that_cannot_be_reached_leaves_the_agent_without_its_tools_and_says_so() {
    let sandbox = Sandbox::new();
    sandbox.write("config/ambidex/config.toml", "[mcp.servers.gone]\ncommand = \"/nonexistent/mcp-server\"\n");
    let note = note_when_offering(&sandbox, "mcp:gone");
    assert!(note.contains("`gone` could not be reached"), "{note}");
}

#[test]
fn a_playbook_cannot_offer_a_tool_the_server_forbids() {
    let sandbox = Sandbox::new();
    stdio_config(&sandbox, "");
    let note = note_when_offering(&sandbox, "mcp:testy/delete_everything");
    assert!(note.contains("which `mcp.servers.testy.forbid` names"), "{note}");
    assert!(logged(&sandbox).is_empty(), "nothing reached the server: {:?}", logged(&sandbox));
}

/// The test server over streamable HTTP, listening on 127.0.0.1.
struct HttpServer {
    child: Child,
    url: String,
}

impl HttpServer {
    fn start(log: &std::path::Path) -> HttpServer {
        let mut child = Command::new("python3")
            .args([SERVER, "--http"])
            .env("MCP_TEST_LOG", log)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut port = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut port).unwrap();
        HttpServer { child, url: format!("http://127.0.0.1:{}/mcp", port.trim()) }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_streamable_http_server_gets_its_header_from_a_named_variable() {
    let sandbox = Sandbox::new();
    let server = HttpServer::start(&sandbox.path("mcp.log"));
    sandbox.write(
        "config/ambidex/config.toml",
        &format!(
            "[mcp.servers.web]\nurl = \"{}\"\nheaders = {{ Authorization = \"Bearer ${{WEB_MCP_TOKEN}}\" }}\n",
            server.url
        ),
    );
    let checked = sandbox.run_with(&["mcp", "check"], &[("WEB_MCP_TOKEN", "tok-123")]).ok();
    assert!(checked.contains("web: ok (http: http://127.0.0.1:"), "{checked}");
    let requests = logged(&sandbox);
    assert!(
        !requests.is_empty() && requests.iter().all(|r| r["authorization"] == "Bearer tok-123"),
        "every request carried the header: {requests:?}"
    );
}
