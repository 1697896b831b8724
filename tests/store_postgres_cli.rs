//! The shared store as a user meets it: `ambidex store migrate` moves a redb store into a real
//! PostgreSQL database and back, every command works against `store.url`, the chain verifies
//! at each end, and a repository cannot point the store elsewhere.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod postgres;
}

use serde_json::Value;
use support::cli::Sandbox;
use support::postgres::Server;

fn titles(sandbox: &Sandbox, flags: &[&str]) -> Vec<String> {
    let mut args = flags.to_vec();
    args.extend(["task", "list", "--json"]);
    let listed: Value = serde_json::from_str(&sandbox.run(&args).ok()).unwrap();
    let tasks = listed.as_array().or_else(|| listed["tasks"].as_array()).expect("a list of tasks");
    let mut titles: Vec<String> = tasks.iter().map(|t| t["spec"]["title"].as_str().unwrap().to_owned()).collect();
    titles.sort();
    titles
}

#[test]
fn a_store_moves_to_postgres_and_back_and_every_command_follows_store_url() {
    let sandbox = Sandbox::new();
    sandbox.run(&["task", "add", "--title", "Paginate the invoices export"]).ok();
    sandbox.run(&["task", "add", "--title", "Rename a config key"]).ok();
    let url = Server::get().database();

    let moved = sandbox.run(&["store", "migrate", "--to", &url]).ok();
    assert!(moved.contains("events and 2 tasks from redb://"), "{moved}");
    assert!(moved.contains("the chain verifies at the target"), "{moved}");
    let again = sandbox.run(&["store", "migrate", "--to", &url]).fails();
    assert!(again.contains("migrate into an empty database"), "{again}");
    assert!(!again.contains("damaged"), "a full target is not a damaged one: {again}");

    let shared = format!("store.url={}", toml_string(&url));
    let pg = ["-c", shared.as_str()];
    assert_eq!(titles(&sandbox, &pg), ["Paginate the invoices export", "Rename a config key"]);
    let mut add = pg.to_vec();
    add.extend(["task", "add", "--title", "Added on the shared store"]);
    sandbox.run(&add).ok();
    assert_eq!(titles(&sandbox, &pg).len(), 3);
    assert_eq!(titles(&sandbox, &[]).len(), 2, "the redb store was left as it was");
    let mut verify = pg.to_vec();
    verify.extend(["audit", "verify"]);
    let verified = sandbox.run(&verify).ok();
    assert!(verified.starts_with("ok: "), "{verified}");

    let mut compact = pg.to_vec();
    compact.extend(["store", "compact"]);
    assert!(sandbox.run(&compact).fails().contains("work on the embedded file"));

    // And back, into a file of its own.
    let mut back = pg.to_vec();
    back.extend(["store", "migrate", "--to", "redb://moved-back.redb", "--json"]);
    let back: Value = serde_json::from_str(&sandbox.run(&back).ok()).unwrap();
    assert_eq!(back["tasks"].as_u64(), Some(3), "{back:#}");
    assert_eq!(back["verification"]["result"], "ok");
    assert_eq!(back["verification"]["events"], back["events"]);
    assert_eq!(titles(&sandbox, &["-c", "store.url=\"redb://moved-back.redb\""]).len(), 3);
}

#[test]
fn a_repository_cannot_choose_the_store_and_a_bad_url_is_named() {
    let sandbox = Sandbox::new();
    sandbox.write("repo/.ambidex/config.toml", "[store]\nurl = \"postgres://attacker@evil.example/loot\"\n");
    let refused = sandbox.run(&["task", "list"]).fails();
    assert!(refused.contains("a repository cannot set `store`"), "{refused}");

    let sandbox = Sandbox::new();
    let wrong = sandbox.run(&["-c", "store.url=\"mysql://x\"", "task", "list"]).fails();
    assert!(wrong.contains("postgres://USER@HOST/DB"), "{wrong}");
}

fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}
