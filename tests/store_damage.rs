//! A damaged store file is reported, never a panic: one flipped byte at a page boundary (where
//! redb keeps page headers), in the middle of the file or in its last page makes every command
//! that reads the store either succeed (the byte was unused) or say the store is damaged and how
//! to salvage it. `store salvage` exports a verified prefix of the log and `store rebuild` makes a
//! store from it whose chain verifies with the original head when nothing was lost.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
}

use std::path::Path;

use ambidex::protocol::{Actor, Event, EventKind, NewEvent, TaskId, TaskSpec};
use ambidex::store::Store;
use support::cli::{Run, Sandbox};

/// Makes a store of a few tasks, more than 64 KiB, and returns the ids of its tasks.
fn make_store(sandbox: &Sandbox) -> Vec<TaskId> {
    let store = Store::open(&sandbox.store()).unwrap();
    let mut ids = Vec::new();
    for round in 0..6 {
        let id = TaskId::new();
        ids.push(id);
        let mut events = vec![NewEvent::for_task(
            id,
            Actor::local_human(),
            EventKind::TaskCreated { spec: TaskSpec::titled(format!("task {round}")) },
        )];
        for note in 0..8 {
            let text = format!("note {note} of task {round}: {}", "x".repeat(1500));
            events.push(NewEvent::for_task(id, Actor::Orchestrator, EventKind::Note { text }));
        }
        store.append(events).unwrap();
    }
    store.close();
    ids
}

fn text(run: &Run) -> String {
    format!("{}\n{}", run.stdout, run.stderr)
}

/// The state directory of `sandbox` as a `--state-dir` argument for another store.
fn state_dir(sandbox: &Sandbox, name: &str) -> String {
    sandbox.path(name).display().to_string()
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0xff;
    std::fs::write(path, bytes).unwrap();
}

fn events_of(jsonl: &str) -> Vec<Event> {
    jsonl.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[test]
fn a_flipped_byte_is_reported_never_a_panic_and_salvage_and_rebuild_keep_the_verified_prefix() {
    let sandbox = Sandbox::new();
    let ids = make_store(&sandbox);
    let original = sandbox.store();
    let len = std::fs::metadata(&original).unwrap().len();
    assert!(len > 65536 + 4096, "the store should reach past 64 KiB: {len} bytes");
    let verified = sandbox.run(&["audit", "verify"]).ok();
    let head = verified.split("head ").nth(1).unwrap().trim_end_matches([')', '\n']).to_owned();
    sandbox.run(&["store", "salvage", &sandbox.path("whole.jsonl").display().to_string()]).ok();
    let whole = events_of(&std::fs::read_to_string(sandbox.path("whole.jsonl")).unwrap());
    assert_eq!(whole.len(), 54);

    let mut offsets = vec![4096, 65536, 4096 + 17, len / 2, len - 4096, len - 100, len - 1];
    offsets.extend((1..len / 4096).map(|page| page * 4096).filter(|o| ![4096, 65536].contains(o)));
    let (mut damaged, mut converted_panics, mut complete) = (0, 0, 0);
    for (i, offset) in offsets.into_iter().enumerate() {
        let dir = format!("damaged-{i}");
        std::fs::create_dir_all(sandbox.path(&dir)).unwrap();
        std::fs::copy(&original, sandbox.path(&format!("{dir}/state.redb"))).unwrap();
        flip(&sandbox.path(&format!("{dir}/state.redb")), offset);
        let at = state_dir(&sandbox, &dir);
        let show = ids[0].short();
        for args in [
            vec!["audit", "verify"],
            vec!["audit", "log"],
            vec!["task", "show", &show],
            vec!["task", "list"],
            vec!["doctor"],
        ] {
            let mut args = args.clone();
            args.extend(["--state-dir", &at]);
            let run = sandbox.run(&args);
            let out = text(&run);
            assert_ne!(run.code, 101, "`{}` panicked at offset {offset}:\n{out}", args.join(" "));
            assert!(!out.contains("panicked at") || out.contains("redb panicked"), "offset {offset}: {out}");
            if run.code != 0 {
                assert!(
                    out.contains("is damaged") && out.contains("ambidex store salvage OUT.jsonl"),
                    "`{}` at offset {offset} fails without saying the store is damaged:\n{out}",
                    args.join(" ")
                );
                damaged += 1;
                converted_panics += usize::from(out.contains("redb panicked"));
            }
        }

        // Salvage exports a prefix of the original log, every event unchanged.
        let export = sandbox.path(&format!("{dir}.jsonl"));
        let run = sandbox.run(&["store", "salvage", &export.display().to_string(), "--state-dir", &at]);
        assert_ne!(run.code, 101, "salvage panicked at offset {offset}:\n{}", text(&run));
        if !export.exists() {
            assert!(text(&run).contains("is damaged"), "offset {offset}: {}", text(&run));
            continue;
        }
        let saved = events_of(&std::fs::read_to_string(&export).unwrap());
        assert_eq!(saved[..], whole[..saved.len()], "offset {offset}: the export is not a prefix of the log");
        assert!(run.stdout.contains(&format!("saved {} events", saved.len())), "{}", text(&run));
        if run.code == 0 {
            assert_eq!(saved.len(), whole.len(), "offset {offset}: a complete export holds every event");
        } else {
            assert!(run.stdout.contains(&format!("damage begins at event #{}", saved.len() + 1)), "{}", run.stdout);
        }

        // Rebuild makes a store that verifies, with the original head when nothing was lost.
        let rebuilt = state_dir(&sandbox, &format!("rebuilt-{i}"));
        sandbox.run(&["store", "rebuild", &export.display().to_string(), "--state-dir", &rebuilt]).ok();
        let verify = sandbox.run(&["audit", "verify", "--state-dir", &rebuilt]).ok();
        assert!(verify.starts_with(&format!("ok: {} events", saved.len())), "{verify}");
        if run.code == 0 {
            complete += 1;
            assert!(verify.contains(&head), "offset {offset}: {verify} should end at head {head}");
            let list = sandbox.run(&["task", "list", "--state-dir", &rebuilt]).ok();
            assert!(ids.iter().all(|id| list.contains(&id.short())), "{list}");
        }
    }
    assert!(damaged > 0, "no offset damaged anything: the test proves nothing");
    assert!(converted_panics > 0, "no redb panic was met and converted: the guard is untested");
    assert!(complete > 0, "no complete salvage was rebuilt");
}

#[test]
fn rebuild_refuses_an_existing_store_and_a_broken_chain_naming_the_line() {
    let sandbox = Sandbox::new();
    make_store(&sandbox);
    let export = sandbox.path("log.jsonl");
    sandbox.run(&["store", "salvage", &export.display().to_string()]).ok();
    let again = sandbox.run(&["store", "salvage", &export.display().to_string()]).fails();
    assert!(again.contains("never overwrites"), "{again}");

    let refused = sandbox.run(&["store", "rebuild", &export.display().to_string()]).fails();
    assert!(refused.contains("exists already"), "{refused}");

    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[4] = lines[4].replacen("note 3", "note 9", 1);
    let tampered = sandbox.write("tampered.jsonl", &(lines.join("\n") + "\n"));
    let fresh = state_dir(&sandbox, "fresh");
    let broken = sandbox.run(&["store", "rebuild", &tampered.display().to_string(), "--state-dir", &fresh]).fails();
    assert!(broken.contains("line 5") && broken.contains("does not match its hash"), "{broken}");
    assert!(!sandbox.path("fresh/state.redb").exists(), "a refused rebuild leaves no store");

    lines.remove(2);
    let gap = sandbox.write("gap.jsonl", &(lines.join("\n") + "\n"));
    let broken = sandbox.run(&["store", "rebuild", &gap.display().to_string(), "--state-dir", &fresh]).fails();
    assert!(broken.contains("line 3") && broken.contains("#4 where #3 was expected"), "{broken}");
}
