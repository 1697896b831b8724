//! Fixture repositories for the context service: real git repositories in temp directories, with
//! commits, in each language the symbol map understands. Each project has the same shape: a
//! store module used by everything (its symbols should rank first), an engine using it, a CLI
//! using the engine (focus on it and the engine should rise), tests, CI and conventions.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A git repository in a temp directory.
pub struct FixtureRepo {
    pub dir: tempfile::TempDir,
    pub repo: git2::Repository,
}

impl FixtureRepo {
    /// An empty repository (no commits).
    pub fn empty() -> FixtureRepo {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        FixtureRepo { dir, repo }
    }

    /// A repository with `files` in one commit.
    pub fn with_files(files: &[(&str, &str)]) -> FixtureRepo {
        let fixture = FixtureRepo::empty();
        for (rel, text) in files {
            fixture.write(rel, text);
        }
        fixture.commit("Initial import");
        fixture
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        self.write_bytes(rel, text.as_bytes());
    }

    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) {
        let path = self.file(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Commits every file in the work tree.
    pub fn commit(&self, message: &str) -> git2::Oid {
        let mut index = self.repo.index().unwrap();
        index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let signature = git2::Signature::now("Fixture Author", "fixture@example.invalid").unwrap();
        let parents: Vec<git2::Commit<'_>> =
            self.repo.head().ok().and_then(|h| h.peel_to_commit().ok()).into_iter().collect();
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        self.repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &parents).unwrap()
    }
}

/// The languages with fixtures.
pub const LANGUAGES: [&str; 5] = ["rust", "python", "javascript", "typescript", "go"];

/// A fixture project in `language` (one of [`LANGUAGES`]), committed in three commits so that
/// history and churn have something to show.
pub fn project(language: &str) -> FixtureRepo {
    let files = match language {
        "rust" => rust(),
        "python" => python(),
        "javascript" => javascript(),
        "typescript" => typescript(),
        "go" => go(),
        other => panic!("no fixture for {other}"),
    };
    let fixture = FixtureRepo::empty();
    for (rel, text) in &files {
        fixture.write(rel, text);
    }
    fixture.commit("Initial import");
    let (store, _) = files[0];
    let text = std::fs::read_to_string(fixture.file(store)).unwrap();
    fixture.write(store, &format!("{text}\n"));
    fixture.commit("Touch the store");
    fixture.write(store, &text);
    fixture.commit("Touch the store again");
    fixture
}

/// What a fixture's map should show first, and what focus on its CLI file should lift.
pub struct Expect {
    /// Names that must be among the top definitions without focus.
    pub top: &'static [&'static str],
    /// A name that must come before all of `top` when `focus_file` is in focus.
    pub focus_lifts: &'static str,
    /// The CLI file.
    pub focus_file: &'static str,
    /// The first test command discovery must find.
    pub test_command: &'static str,
    /// CI job ids discovery must find.
    pub ci_jobs: &'static [&'static str],
}

pub fn expect(language: &str) -> Expect {
    match language {
        "rust" => Expect {
            top: &["EventStore", "append_event"],
            focus_lifts: "run_engine",
            focus_file: "src/cli.rs",
            test_command: "cargo test",
            ci_jobs: &["build", "test"],
        },
        "python" => Expect {
            top: &["EventStore", "append_event"],
            focus_lifts: "run_engine",
            focus_file: "app/cli.py",
            test_command: "pytest",
            ci_jobs: &["unit", "lint"],
        },
        "javascript" => Expect {
            top: &["EventStore", "appendEvent"],
            focus_lifts: "runEngine",
            focus_file: "src/cli.js",
            test_command: "npm test",
            ci_jobs: &["test"],
        },
        "typescript" => Expect {
            top: &["EventStore", "appendEvent"],
            focus_lifts: "runEngine",
            focus_file: "src/cli.ts",
            test_command: "npm test",
            ci_jobs: &["test"],
        },
        "go" => Expect {
            top: &["EventStore", "AppendEvent"],
            focus_lifts: "RunEngine",
            focus_file: "cmd/cli/main.go",
            test_command: "make test",
            ci_jobs: &["build", "test"],
        },
        other => panic!("no fixture for {other}"),
    }
}

const AGENTS: &str = "# Agent rules\nRun the tests before you finish. Keep diffs small.\n";

const GITHUB_CI: &str = "name: CI\non: [push]\njobs:\n  build:\n    name: Build\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n";

fn rust() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "src/store.rs",
            r#"//! The event store.

/// One event.
pub struct Event {
    pub id: u64,
}

/// Holds events.
pub struct EventStore {
    events: Vec<Event>,
}

impl EventStore {
    pub fn open_store(path: &str) -> EventStore {
        let _ = path;
        EventStore { events: Vec::new() }
    }

    pub fn append_event(&mut self, event: Event) {
        self.events.push(event);
    }

    pub fn event_count(&self) -> usize {
        self.events.len()
    }
}
"#,
        ),
        ("Cargo.toml", "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        ("src/lib.rs", "pub mod cli;\npub mod engine;\npub mod report;\npub mod store;\n"),
        (
            "src/engine.rs",
            r#"use crate::store::{Event, EventStore};

pub fn run_engine() -> EventStore {
    let mut store = EventStore::open_store("events");
    store.append_event(Event { id: 1 });
    store.append_event(Event { id: 2 });
    store
}
"#,
        ),
        (
            "src/cli.rs",
            r#"use crate::engine::run_engine;

pub fn parse_cli_args(args: &[String]) -> usize {
    let store = run_engine();
    store.event_count() + args.len()
}
"#,
        ),
        (
            "src/report.rs",
            r#"use crate::store::{Event, EventStore};

pub fn render_report(store: &mut EventStore) -> String {
    store.append_event(Event { id: 3 });
    format!("{}", store.event_count())
}
"#,
        ),
        (
            "tests/store_test.rs",
            r#"use fixture::store::{Event, EventStore};

#[test]
fn appends() {
    let mut store = EventStore::open_store("x");
    store.append_event(Event { id: 1 });
    assert_eq!(store.event_count(), 1);
}
"#,
        ),
        (".github/workflows/ci.yml", GITHUB_CI),
        ("AGENTS.md", AGENTS),
    ]
}

fn python() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "app/store.py",
            r#"class Event:
    def __init__(self, event_id):
        self.event_id = event_id


class EventStore:
    def __init__(self):
        self.events = []

    def append_event(self, event):
        self.events.append(event)

    def event_count(self):
        return len(self.events)
"#,
        ),
        ("pyproject.toml", "[project]\nname = \"fixture\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n"),
        ("app/__init__.py", ""),
        (
            "app/engine.py",
            r#"from app.store import Event, EventStore


def run_engine():
    store = EventStore()
    store.append_event(Event(1))
    store.append_event(Event(2))
    return store
"#,
        ),
        (
            "app/cli.py",
            r#"from app.engine import run_engine


def parse_cli_args(args):
    store = run_engine()
    return store.event_count() + len(args)
"#,
        ),
        (
            "app/report.py",
            r#"from app.store import Event, EventStore


def render_report(store: EventStore):
    store.append_event(Event(3))
    return str(store.event_count())
"#,
        ),
        (
            "tests/test_store.py",
            r#"from app.store import Event, EventStore


def test_appends():
    store = EventStore()
    store.append_event(Event(1))
    assert store.event_count() == 1
"#,
        ),
        (
            ".gitlab-ci.yml",
            "stages: [test]\nimage: python:3.12\nunit:\n  stage: test\n  script: pytest\nlint:\n  stage: test\n  script: ruff check\n",
        ),
        ("AGENTS.md", AGENTS),
    ]
}

fn javascript() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "src/store.js",
            r#"export class Event {
  constructor(id) { this.id = id; }
}

export class EventStore {
  constructor() { this.events = []; }

  appendEvent(event) {
    this.events.push(event);
  }

  eventCount() {
    return this.events.length;
  }
}
"#,
        ),
        ("package.json", r#"{"name": "fixture", "scripts": {"test": "jest"}, "devDependencies": {"jest": "^29"}}"#),
        (
            "src/engine.js",
            r#"import { Event, EventStore } from './store.js';

export function runEngine() {
  const store = new EventStore();
  store.appendEvent(new Event(1));
  store.appendEvent(new Event(2));
  return store;
}
"#,
        ),
        (
            "src/cli.js",
            r#"import { runEngine } from './engine.js';

export function parseCliArgs(args) {
  const store = runEngine();
  return store.eventCount() + args.length;
}
"#,
        ),
        (
            "src/report.js",
            r#"import { Event, EventStore } from './store.js';

export function renderReport(store) {
  store.appendEvent(new Event(3));
  return String(store.eventCount());
}
"#,
        ),
        (
            "__tests__/store.test.js",
            r#"import { Event, EventStore } from '../src/store.js';

test('appends', () => {
  const store = new EventStore();
  store.appendEvent(new Event(1));
  expect(store.eventCount()).toBe(1);
});
"#,
        ),
        (
            ".github/workflows/test.yml",
            "name: Tests\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n",
        ),
        ("AGENTS.md", AGENTS),
    ]
}

fn typescript() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "src/store.ts",
            r#"export interface StoreOptions {
  path: string;
}

export class Event {
  constructor(public id: number) {}
}

export class EventStore {
  private events: Event[] = [];

  appendEvent(event: Event): void {
    this.events.push(event);
  }

  eventCount(): number {
    return this.events.length;
  }
}
"#,
        ),
        (
            "package.json",
            r#"{"name": "fixture", "scripts": {"test": "vitest run", "build": "tsc"}, "devDependencies": {"vitest": "^1", "typescript": "^5"}}"#,
        ),
        (
            "src/engine.ts",
            r#"import { Event, EventStore, StoreOptions } from './store';

export function runEngine(options: StoreOptions): EventStore {
  const store = new EventStore();
  store.appendEvent(new Event(1));
  store.appendEvent(new Event(2));
  return store;
}
"#,
        ),
        (
            "src/cli.ts",
            r#"import { runEngine } from './engine';

export function parseCliArgs(args: string[]): number {
  const store = runEngine({ path: 'x' });
  return store.eventCount() + args.length;
}
"#,
        ),
        (
            "src/view.tsx",
            r#"import { EventStore, Event } from './store';

export function ReportView(props: { store: EventStore }) {
  props.store.appendEvent(new Event(3));
  return <div>{props.store.eventCount()}</div>;
}
"#,
        ),
        (
            "src/store.test.ts",
            r#"import { Event, EventStore } from './store';

test('appends', () => {
  const store = new EventStore();
  store.appendEvent(new Event(1));
  expect(store.eventCount()).toBe(1);
});
"#,
        ),
        (
            ".github/workflows/test.yml",
            "name: Tests\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n",
        ),
        ("AGENTS.md", AGENTS),
    ]
}

fn go() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "store/store.go",
            r#"package store

// Event is one event.
type Event struct {
	ID int
}

// EventStore holds events.
type EventStore struct {
	events []Event
}

// OpenStore opens a store.
func OpenStore(path string) *EventStore {
	return &EventStore{}
}

// AppendEvent adds an event.
func (s *EventStore) AppendEvent(e Event) {
	s.events = append(s.events, e)
}

// Name names the store.
func (s *EventStore) Name() string {
	return "events"
}

// EventCount counts events.
func (s *EventStore) EventCount() int {
	return len(s.events)
}
"#,
        ),
        ("go.mod", "module example.com/fixture\n\ngo 1.22\n"),
        (
            "engine/engine.go",
            r#"package engine

import "example.com/fixture/store"

// RunEngine runs.
func RunEngine() *store.EventStore {
	s := store.OpenStore("events")
	s.AppendEvent(store.Event{ID: 1})
	s.AppendEvent(store.Event{ID: 2})
	return s
}
"#,
        ),
        (
            "cmd/cli/main.go",
            r#"package main

import "example.com/fixture/engine"

func parseCliArgs(args []string) int {
	s := engine.RunEngine()
	return s.EventCount() + len(args)
}

func main() {
	if len(engine.RunEngine().Name()) > 0 {
		parseCliArgs(nil)
	}
}
"#,
        ),
        (
            "report/report.go",
            r#"package report

import "example.com/fixture/store"

// RenderReport renders.
func RenderReport(s *store.EventStore) int {
	s.AppendEvent(store.Event{ID: 3})
	return s.EventCount()
}
"#,
        ),
        (
            "store/store_test.go",
            r#"package store

import "testing"

func TestAppend(t *testing.T) {
	s := OpenStore("x")
	s.AppendEvent(Event{ID: 1})
	if s.EventCount() != 1 {
		t.Fatal("count")
	}
}
"#,
        ),
        ("Makefile", ".PHONY: build test\nbuild:\n\tgo build ./...\ntest:\n\tgo test ./...\n"),
        (".github/workflows/ci.yml", GITHUB_CI),
        ("AGENTS.md", AGENTS),
    ]
}
