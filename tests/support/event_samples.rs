//! Representative, fully populated samples of everything the store persists: one or more of each
//! `EventKind` variant, whole events around them, and a task projection with every part set.
//! The format tests (`tests/event_format.rs`) compare them with committed goldens, and the API
//! document test (`tests/api_schema.rs`) walks their JSON.
//!
//! [`samples!`] lists every variant with its samples and expands to a `match` over `EventKind`
//! without a wildcard, so a new variant without a sample does not compile.

#![allow(dead_code)]

use std::collections::BTreeMap;

use ambidex::domain::{
    AcceptanceTests, Adoption, CandidateOutcome, DecidedGate, EngineerNote, Exploration, FinishedStage, IntakeNote,
    OpenGate, PlaybookRef, RecordedMatrix, Rework, SendBack, StageRun, Task, ValidationRun, WorktreeRef,
};
use ambidex::protocol::{
    Actor, AgentIdentity, CandidatePlan, CriterionCoverage, Decision, DiffStats, Digest, EVENT_SCHEMA, Event,
    EventKind, EvidenceMatrix, EvidenceRow, Exhibit, ExhibitChange, ExhibitCheck, ExhibitLinks, ExhibitOutcome,
    ExhibitSource, ExhibitStatus, FileFate, Finding, GateId, GateKind, GatePlan, HunkSource, IntakeVerdict,
    MemoryChange, MemoryEntry, MemoryKind, MemorySource, MemoryStatus, Plan, PolicyRecord, ProductionFile, PullRequest,
    Recommendation, Reproducer, Review, ReviewVerdict, Risk, Role, Route, StageKind, StaticFinding, Synthesis,
    SynthesisReason, TaskId, TaskKind, TaskSource, TaskSpec, TaskStatus, TestCase, TestFramework, TestReport,
    TestStatus, ToolCallId, ToolCallRecord, Triage, TriageBudgets, ValidationResult, Verification,
};
use ambidex::protocol::{
    Artifact, ArtifactKind, ArtifactRef, Author, AutonomyChange, AutonomyEvidence, AutonomyLevel, AutonomyState,
    CiCheck, CiReport, CiState, ForgeReview, LineComment, PlaybookChange, PlaybookVersion, ReplayCase, ReplayOutcome,
    ReplaySource, VersionEvaluation, VersionRun, VersionStatus,
};
use jiff::Timestamp;

/// Lists each variant with its samples (the first is the main one; add later ones, never change
/// earlier ones) and defines [`all`] and [`variant`] from the list.
macro_rules! samples {
    ($($variant:ident => [$($sample:expr),+ $(,)?]),+ $(,)?) => {
        /// Every variant's name and its samples, in declaration order.
        pub fn all() -> Vec<(&'static str, Vec<EventKind>)> {
            vec![$((stringify!($variant), vec![$($sample),+])),+]
        }

        /// The variant of `kind`. No wildcard: a variant missing from [`samples!`] does not compile.
        pub fn variant(kind: &EventKind) -> &'static str {
            match kind {
                $(EventKind::$variant { .. } => stringify!($variant),)+
            }
        }
    };
}

pub fn task_id() -> TaskId {
    "01KAMB1DEXTASK000000000001".parse().unwrap()
}

pub fn gate_id() -> GateId {
    "01KAMB1DEXGATE000000000001".parse().unwrap()
}

fn call_id() -> ToolCallId {
    "01KAMB1DEXCA11000000000001".parse().unwrap()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn digest(byte: u8) -> Digest {
    Digest([byte; 32])
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn agent(role: Role, candidate: Option<&str>) -> Actor {
    Actor::Agent(AgentIdentity { role, track: role.track(), candidate: candidate.map(str::to_owned) })
}

pub fn spec() -> TaskSpec {
    TaskSpec {
        title: "Fix the rounding of page_count".into(),
        description: "`page_count(11, 5)` returns 2; it should round up.".into(),
        repo: Some("/home/ada/src/pagination".into()),
        target_branch: Some("main".into()),
        acceptance_criteria: strings(&["page_count(11, 5) returns 3"]),
        constraints: strings(&["keep the public API"]),
        out_of_scope: strings(&["the CLI"]),
        risk: Some(Risk::Low),
        kind: Some(TaskKind::BugFix),
        required_approvals: strings(&["plan"]),
        validation: strings(&["cargo test"]),
        labels: strings(&["bug"]),
        source: TaskSource::File { path: "tasks/page-count.md".into() },
    }
}

fn finding() -> Finding {
    Finding {
        severity: "major".into(),
        category: "correctness".into(),
        file: Some("src/page.rs".into()),
        message: "the last page is dropped when the total is a multiple of the size".into(),
    }
}

pub fn memory_entry(status: MemoryStatus) -> MemoryEntry {
    MemoryEntry {
        id: "01KAMB1DEXMEM0000000000001".parse().unwrap(),
        repo: "/home/ada/src/pagination".into(),
        kind: MemoryKind::FlakyTest,
        text: "net::timeout_retry fails about one run in twenty under load; re-run before blaming the change.".into(),
        scope: vec!["src/net/**".into()],
        source: MemorySource::Observed { task: task_id(), what: "passed on re-run after failing".into() },
        status,
        created: at("2026-11-30T09:12:44Z"),
        confirmed: at("2026-12-01T16:03:10Z"),
    }
}

/// An exhibit of the bug museum: a candidate's change that broke a test, with its reproducer.
/// A production playbook version for bug fixes, derived from the Left Hand's test_first wins.
fn playbook_version(status: VersionStatus, evaluation: Option<Box<VersionEvaluation>>) -> PlaybookVersion {
    PlaybookVersion {
        hash: "5f1c0e9a8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e".into(),
        artifact: Artifact::Playbook,
        name: "bug_fix_test_first".into(),
        classes: vec![TaskKind::BugFix],
        parent: Some("acaebb6848b7700e3241854d8205e9f4d0c02e1c5aa9ffe4368c8285ea76245c".into()),
        author: Author::Strategy { strategy: "test_first".into(), class: TaskKind::BugFix, tasks: vec![task_id()] },
        summary: "the Left Hand's test_first strategy won the promotion gate on 3 bug_fix tasks".into(),
        created: at("2026-12-02T09:12:44Z"),
        status,
        decision: None,
        evaluation,
        retirement: Vec::new(),
        text: "name = \"bug_fix_test_first\"\nkinds = [\"bug_fix\"]\n".into(),
    }
}

fn version_evaluation() -> Box<VersionEvaluation> {
    let outcome = |resolved: bool, ending: &str| ReplayOutcome {
        resolved,
        ending: ending.into(),
        send_backs: u32::from(!resolved),
        cost_micros: 41_000,
        millis: 52_000,
        diff_lines: 12,
    };
    Box::new(VersionEvaluation {
        at: at("2026-12-02T09:12:44Z"),
        model: "openai/gpt-5.1".into(),
        budget_micros: 8_000_000,
        cases: vec![
            ReplayCase {
                source: ReplaySource::Exhibit { id: exhibit(ExhibitStatus::Kept).id },
                title: "page_count divides by zero".into(),
                base: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d".into(),
            },
            ReplayCase {
                source: ReplaySource::Task { id: task_id() },
                title: "Fix page_count rounding".into(),
                base: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d".into(),
            },
        ],
        proposal: VersionRun {
            version: "5f1c0e9a8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e".into(),
            outcomes: vec![outcome(true, "pr"), outcome(true, "pr")],
        },
        baseline: VersionRun {
            version: "acaebb6848b7700e3241854d8205e9f4d0c02e1c5aa9ffe4368c8285ea76245c".into(),
            outcomes: vec![outcome(false, "exhibit broken: page::tests::zero_size"), outcome(true, "pr")],
        },
    })
}

pub fn exhibit(status: ExhibitStatus) -> Exhibit {
    Exhibit {
        id: "01KAMB1DEXEXH0000000000001".parse().unwrap(),
        repo: "/home/ada/src/pagination".into(),
        title: "page_count divides by zero".into(),
        base: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d".into(),
        reproducer: Reproducer {
            command: "cargo test".into(),
            tests: strings(&["page::tests::zero_size"]),
            tests_patch: Some("--- a/tests/zero.rs\n+++ b/tests/zero.rs\n@@ -0,0 +1 @@\n+// zero\n".into()),
        },
        bug_patch: Some("--- a/src/page.rs\n+++ b/src/page.rs\n@@ -1 +1 @@\n-a\n+b\n".into()),
        fix_patch: None,
        files: strings(&["src/page.rs"]),
        root_cause: "no guard for a zero page size".into(),
        check: "`cargo test`: page::tests::zero_size".into(),
        source: ExhibitSource::Candidate { task: task_id(), candidate: "c2".into() },
        links: ExhibitLinks { task: Some(task_id()), candidate: Some("c2".into()), ..ExhibitLinks::default() },
        status,
        created: at("2026-12-02T09:12:44Z"),
        verification: Some(Verification {
            at: at("2026-12-02T09:12:44Z"),
            reproduces: true,
            detail: "page::tests::zero_size fails with the bug and passes with the fix".into(),
        }),
    }
}

fn validation_result() -> ValidationResult {
    ValidationResult {
        command: "cargo test".into(),
        ok: false,
        exit_code: Some(101),
        duration_ms: 2345,
        summary: "test page_count_rounds_up ... FAILED".into(),
    }
}

fn pull_request() -> PullRequest {
    PullRequest {
        branch: "ambidex/00000001/production".into(),
        base_branch: "main".into(),
        commit: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c".into(),
        title: "Round page_count up".into(),
        body: "## Summary\nRounds up.\n".into(),
        draft: true,
        location: "https://github.com/ada/pagination/pull/7".into(),
    }
}

fn test_report() -> TestReport {
    TestReport {
        command: "cargo test".into(),
        framework: TestFramework::Libtest,
        exit_code: Some(101),
        ok: false,
        duration_ms: 1800,
        tests: vec![
            TestCase {
                name: "page::tests::rounds_up".into(),
                status: TestStatus::Failed,
                duration_ms: Some(3),
                output: "assertion failed: left == right".into(),
            },
            TestCase {
                name: "page::tests::empty".into(),
                status: TestStatus::Passed,
                duration_ms: None,
                output: String::new(),
            },
            TestCase {
                name: "page::tests::slow".into(),
                status: TestStatus::Skipped,
                duration_ms: None,
                output: String::new(),
            },
        ],
    }
}

fn candidates() -> Vec<CandidatePlan> {
    vec![
        CandidatePlan { label: "c1".into(), strategy: "minimal_diff".into(), ..Default::default() },
        CandidatePlan { label: "c2".into(), strategy: "test_first".into(), ..Default::default() },
    ]
}

fn hunks() -> Vec<HunkSource> {
    vec![
        HunkSource { candidate: "c1".into(), file: "src/page.rs".into(), hunk: "@@ -12,4 +12,6 @@".into() },
        HunkSource { candidate: "eval".into(), file: "tests/acceptance.rs".into(), hunk: "*".into() },
    ]
}

pub fn matrix() -> EvidenceMatrix {
    EvidenceMatrix {
        base: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d".into(),
        baseline: vec![test_report()],
        acceptance_tests: strings(&["acceptance::rounds_up", "acceptance::exact"]),
        weak_acceptance: strings(&["acceptance::exact"]),
        rows: vec![EvidenceRow {
            candidate: "c1".into(),
            strategy: "minimal_diff".into(),
            model: String::new(),
            branch: "ambidex/00000001/c1".into(),
            validation_ok: true,
            tests_passed: 12,
            tests_failed: 0,
            fixed: strings(&["page::tests::rounds_up"]),
            broken: strings(&["page::tests::legacy"]),
            flaky: strings(&["net::tests::timeout"]),
            missing: Vec::new(),
            acceptance_passed: 1,
            acceptance_total: 2,
            acceptance_failed: strings(&["acceptance::exact"]),
            acceptance_not_run: Vec::new(),
            build: String::new(),
            differential_failed: strings(&["c2: page::tests::zero_size"]),
            new_findings: vec![StaticFinding {
                tool: "clippy".into(),
                rule: "clippy::manual_div_ceil".into(),
                file: "src/page.rs".into(),
                line: 14,
                message: "manually reimplementing `div_ceil`".into(),
            }],
            analyst_findings: vec![finding()],
            diff: DiffStats { files: 2, added: 9, removed: 3 },
            complexity_delta: -1,
            tokens: 48_000,
            cost_micros: 210_000,
            wall_ms: 95_000,
            reports: vec![test_report()],
            museum: Vec::new(),
        }],
    }
}

/// A matrix whose row was checked against the bug museum: one exhibit brought back, one that
/// could not run.
pub fn matrix_with_museum() -> EvidenceMatrix {
    let mut matrix = matrix();
    let row = &mut matrix.rows[0];
    row.museum = vec![
        ExhibitCheck {
            exhibit: exhibit(ExhibitStatus::Kept).id,
            title: "page_count divides by zero".into(),
            outcome: ExhibitOutcome::Broken { tests: strings(&["page::tests::zero_size"]) },
        },
        ExhibitCheck {
            exhibit: "01KAMB1DEXEXH0000000000002".parse().unwrap(),
            title: "get_int does not sign-extend".into(),
            outcome: ExhibitOutcome::NotRun { why: "its test changes do not apply over this candidate".into() },
        },
    ];
    matrix
}

/// A matrix whose challenger ran on a model of its own.
pub fn matrix_of_two_models() -> EvidenceMatrix {
    let mut matrix = matrix();
    matrix.rows[0].model = "anthropic/claude-sonnet-4-5".into();
    let mut production = matrix.rows[0].clone();
    production.candidate = "production".into();
    production.strategy = "plan".into();
    production.model = "openai/gpt-5".into();
    matrix.rows.insert(0, production);
    matrix
}

/// A matrix whose row has tests missing, an acceptance test that did not run, and its build.
pub fn matrix_with_missing() -> EvidenceMatrix {
    let mut matrix = matrix();
    let row = &mut matrix.rows[0];
    row.missing = strings(&["page::tests::sub"]);
    row.acceptance_failed = strings(&["acceptance::exact"]);
    row.acceptance_not_run = strings(&["acceptance::exact"]);
    row.build = "every source file (7) marked changed after the change was applied".into();
    matrix
}

fn synthesis(recommendation: Recommendation) -> Synthesis {
    Synthesis {
        recommendation,
        reasons: vec![SynthesisReason {
            text: "c1 fixes the failing test and breaks nothing".into(),
            rows: strings(&["c1"]),
        }],
        matrix_hash: digest(0xe1),
        flags: Vec::new(),
    }
}

fn tool_call() -> ToolCallRecord {
    ToolCallRecord {
        call: call_id(),
        tool: "run".into(),
        arguments: serde_json::json!({"command": "cargo test -p pagination", "timeout_secs": 300}),
        workdir: "/home/ada/.local/share/ambidex/worktrees/pagination-1a2b3c4d/00000001/production".into(),
        workspace: Some("ambidex/00000001/production".into()),
        ok: false,
        exit_code: Some(101),
        output: "exit code 101 (1.80 s, sandbox: bubblewrap)\ntest result: FAILED".into(),
        started_at: at("2026-01-02T03:04:01.5Z"),
        finished_at: at("2026-01-02T03:04:03.3Z"),
        sandbox: Some("bubblewrap".into()),
        policy: Some(PolicyRecord {
            verdict: "prompt".into(),
            reasons: strings(&["`cargo test -p pagination`: rule `cargo test` asks first"]),
            decision: Some(Decision::ApproveForTask),
        }),
    }
}

samples! {
    EngineStarted => [EventKind::EngineStarted { version: "0.1.0".into() }],
    TaskCreated => [
        EventKind::TaskCreated { spec: spec() },
        EventKind::TaskCreated { spec: TaskSpec::titled("Add a last_page helper") },
        EventKind::TaskCreated {
            spec: TaskSpec {
                source: TaskSource::Issue { url: "https://github.com/ada/pagination/issues/7".into() },
                ..TaskSpec::titled("Page numbers start at 0")
            },
        },
        EventKind::TaskCreated { spec: TaskSpec { source: TaskSource::Api, ..TaskSpec::titled("From the API") } },
    ],
    TaskRevised => [EventKind::TaskRevised { spec: spec() }],
    IntakeAssessed => [
        EventKind::IntakeAssessed {
            verdict: IntakeVerdict::Escalated,
            reasons: strings(&["broad: 4 areas"]),
            questions: strings(&["Which module is involved?"]),
            suggested_split: strings(&["Fix page_count", "Fix last_page"]),
        },
        EventKind::IntakeAssessed {
            verdict: IntakeVerdict::Accepted,
            reasons: Vec::new(),
            questions: Vec::new(),
            suggested_split: Vec::new(),
        },
    ],
    TaskTriaged => [
        EventKind::TaskTriaged(Triage {
            kind: TaskKind::BugFix,
            risk: Risk::Medium,
            novelty: 35,
            route: Route::RightAndLeft,
            reasons: strings(&["kind: declared bug_fix", "risk: touches src/auth"]),
            budgets: Some(budgets()),
            gates: vec![GatePlan::Plan, GatePlan::Sensitive { area: "auth".into() }, GatePlan::PullRequest],
            areas: strings(&["auth"]),
            policy_version: "dc374b511298b9e512f457e52d380b134fd80c079df0ce50d341febf778d3369".into(),
            autonomy: Default::default(),
        }),
        EventKind::TaskTriaged(Triage {
            kind: TaskKind::Documentation,
            risk: Risk::Low,
            novelty: 0,
            route: Route::RightOnly,
            reasons: strings(&["kind: only Markdown files"]),
            budgets: None,
            gates: Vec::new(),
            areas: Vec::new(),
            policy_version: String::new(),
            autonomy: Default::default(),
        }),
        EventKind::TaskTriaged(Triage {
            kind: TaskKind::Documentation,
            risk: Risk::Low,
            novelty: 0,
            route: Route::RightOnly,
            reasons: strings(&["autonomy: documentation tasks are trusted_plan (no plan gate below high risk)"]),
            budgets: None,
            gates: vec![GatePlan::PullRequest],
            areas: Vec::new(),
            policy_version: String::new(),
            autonomy: AutonomyLevel::TrustedPlan,
        }),
    ],
    StatusChanged => [EventKind::StatusChanged {
        from: TaskStatus::Queued,
        to: TaskStatus::Running,
        reason: "a slot is free".into(),
    }],
    StageStarted => [
        EventKind::StageStarted { stage: "plan".into(), role: Role::Planner, kind: None, checkpoint: None },
        EventKind::StageStarted {
            stage: "code".into(),
            role: Role::Implementer,
            kind: Some(StageKind::Implement),
            checkpoint: Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b".into()),
        },
    ],
    StageFinished => [
        EventKind::StageFinished { stage: "plan".into(), ok: true, summary: "3 steps, 2 files".into(), kind: None },
        EventKind::StageFinished {
            stage: "code".into(),
            ok: false,
            summary: "ran out of turns".into(),
            kind: Some(StageKind::Implement),
        },
    ],
    AgentMessage => [EventKind::AgentMessage { text: "I'll read src/page.rs first.\nThen fix it.".into() }],
    ModelRetry => [EventKind::ModelRetry { attempt: 1, reason: "HTTP 529 overloaded".into(), delay_ms: 2000 }],
    UsageRecorded => [EventKind::UsageRecorded { input_tokens: 1800, output_tokens: 60, cost_micros: 6300 }],
    GateOpened => [
        EventKind::GateOpened {
            gate: gate_id(),
            kind: GateKind::Promotion,
            reason: "adopt c1 into production?".into(),
            evidence_hash: Some(digest(0xe1)),
            allowed: vec![Decision::Approve, Decision::ApproveForTask, Decision::Reject],
            options: strings(&["adopt c1", "keep production"]),
        },
        EventKind::GateOpened {
            gate: gate_id(),
            kind: GateKind::Plan,
            reason: "approve the plan".into(),
            evidence_hash: None,
            allowed: vec![Decision::Approve, Decision::Reject],
            options: Vec::new(),
        },
        EventKind::GateOpened {
            gate: gate_id(),
            kind: GateKind::PullRequest,
            reason: "create the draft PR".into(),
            evidence_hash: Some(digest(0xe2)),
            allowed: Decision::OFFERED.to_vec(),
            options: Vec::new(),
        },
    ],
    GateDecided => [
        EventKind::GateDecided {
            gate: gate_id(),
            decision: Decision::Approve,
            note: Some("c1 is the smaller change".into()),
            choice: Some("adopt c1".into()),
        },
        EventKind::GateDecided { gate: gate_id(), decision: Decision::Reject, note: None, choice: None },
        EventKind::GateDecided {
            gate: gate_id(),
            decision: Decision::SendBack,
            note: Some("use div_ceil".into()),
            choice: None,
        },
        EventKind::GateDecided { gate: gate_id(), decision: Decision::Stop, note: Some("not now".into()), choice: None },
    ],
    Note => [EventKind::Note { text: "The trailing newline case is the one users hit".into() }],
    SentBack => [EventKind::SentBack {
        gate: gate_id(),
        gate_kind: GateKind::Plan,
        to: StageKind::Plan,
        note: "use div_ceil".into(),
    }],
    CheckpointRestored => [EventKind::CheckpointRestored {
        stage: "code".into(),
        checkpoint: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b".into(),
        abandoned: "refs/ambidex/00000001/interrupted/41".into(),
    }],
    Rewound => [EventKind::Rewound {
        stage: "code".into(),
        kind: StageKind::Implement,
        checkpoint: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b".into(),
        abandoned: "refs/ambidex/00000001/abandoned/40".into(),
        note: Some("keep the old signature".into()),
    }],
    ToolCalled => [
        EventKind::ToolCalled(Box::new(tool_call())),
        EventKind::ToolCalled(Box::new(ToolCallRecord {
            tool: "read_file".into(),
            arguments: serde_json::json!({"path": "src/page.rs"}),
            workspace: None,
            ok: true,
            exit_code: None,
            output: "fn page_count(total: u32, size: u32) -> u32 { total / size }".into(),
            sandbox: None,
            policy: None,
            ..tool_call()
        })),
    ],
    BudgetExceeded => [EventKind::BudgetExceeded {
        scope: "agent".into(),
        budget: "tool_calls".into(),
        limit: 60,
        used: 61,
    }],
    WorktreeCreated => [EventKind::WorktreeCreated {
        candidate: "production".into(),
        path: "/home/ada/.local/share/ambidex/worktrees/pagination-1a2b3c4d/00000001/production".into(),
        branch: "ambidex/00000001/production".into(),
        base: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d".into(),
    }],
    SetupRan => [EventKind::SetupRan {
        candidate: "production".into(),
        network: true,
        results: vec![ValidationResult {
            command: "cargo fetch".into(),
            ok: true,
            exit_code: Some(0),
            duration_ms: 1830,
            summary: "    Updating crates.io index\n  Downloaded serde v1.0.228".into(),
        }],
        baseline: vec!["Cargo.lock".into()],
    }],
    MemoryChanged => [
        EventKind::MemoryChanged { change: MemoryChange::Proposed, entry: memory_entry(MemoryStatus::Pending) },
        EventKind::MemoryChanged {
            change: MemoryChange::Added,
            entry: MemoryEntry {
                source: MemorySource::Human,
                scope: Vec::new(),
                ..memory_entry(MemoryStatus::Active)
            },
        },
    ],
    ExhibitChanged => [
        EventKind::ExhibitChanged { change: ExhibitChange::Proposed, exhibit: Box::new(exhibit(ExhibitStatus::Pending)) },
        EventKind::ExhibitChanged {
            change: ExhibitChange::Added,
            exhibit: Box::new(Exhibit {
                source: ExhibitSource::Imported { fix: "9f8e7d6c5b4a39281706f5e4d3c2b1a098f7e6d5".into() },
                links: ExhibitLinks {
                    commit: Some("9f8e7d6c5b4a39281706f5e4d3c2b1a098f7e6d5".into()),
                    ..ExhibitLinks::default()
                },
                ..exhibit(ExhibitStatus::Kept)
            }),
        },
    ],
    PlaybookChanged => [
        EventKind::PlaybookChanged {
            change: PlaybookChange::Proposed,
            version: Box::new(playbook_version(VersionStatus::Proposed, None)),
        },
        EventKind::PlaybookChanged {
            change: PlaybookChange::Promoted,
            version: Box::new(PlaybookVersion {
                author: Author::Person { name: "ada".into() },
                decision: Some("promoted by human:ada: fewer send-backs".into()),
                ..playbook_version(VersionStatus::Active, Some(version_evaluation()))
            }),
        },
        EventKind::PlaybookChanged {
            change: PlaybookChange::Recorded,
            version: Box::new(PlaybookVersion {
                artifact: Artifact::Policy,
                name: "policy".into(),
                classes: Vec::new(),
                parent: None,
                author: Author::File { path: "built-in policy".into() },
                summary: String::new(),
                retirement: strings(&["slower than its parent: median 900 s vs 600 s"]),
                text: "[commands]\ndefault = \"prompt\"\n".into(),
                ..playbook_version(VersionStatus::Active, None)
            }),
        },
    ],
    AutonomyChanged => [
        EventKind::AutonomyChanged {
            change: AutonomyChange::Proposed,
            state: AutonomyState {
                class: TaskKind::Documentation,
                level: AutonomyLevel::Supervised,
                proposed: Some(AutonomyLevel::TrustedPlan),
                evidence: AutonomyEvidence {
                    window_days: 30,
                    finished: 24,
                    completion_rate: Some(0.9583333333333334),
                    escaped_defects: 0,
                    send_backs_per_task: Some(0.25),
                },
                reason: "24 tasks finished in 30 days, 96% completed: trusted_plan may be granted".into(),
                at: at("2026-12-02T09:12:44Z"),
                since: at("1970-01-01T00:00:00Z"),
            },
        },
        EventKind::AutonomyChanged {
            change: AutonomyChange::Tightened,
            state: AutonomyState {
                class: TaskKind::BugFix,
                level: AutonomyLevel::Supervised,
                proposed: None,
                evidence: AutonomyEvidence { window_days: 30, ..AutonomyEvidence::default() },
                reason: "tightened: the change of task 4d5e6f70 was reverted (an escaped defect)".into(),
                at: at("2026-12-02T09:12:44Z"),
                since: at("2026-12-02T09:12:44Z"),
            },
        },
    ],
    MemoryUsed => [EventKind::MemoryUsed { version: 4321, entries: vec![memory_entry(MemoryStatus::Active).id] }],
    SetupNetworkAllowed => [EventKind::SetupNetworkAllowed {
        repo: "/home/ada/src/pagination".into(),
        commands: vec!["cargo fetch".into()],
    }],
    WorktreeRemoved => [
        EventKind::WorktreeRemoved {
            candidate: "eval-c1".into(),
            path: "/home/ada/.local/share/ambidex/worktrees/pagination-1a2b3c4d/00000001/eval-c1".into(),
            branch_deleted: Some("ambidex/00000001/eval-c1".into()),
            bytes: 243_531_776,
        },
        EventKind::WorktreeRemoved {
            candidate: "production".into(),
            path: "/home/ada/.local/share/ambidex/worktrees/pagination-1a2b3c4d/00000001/production".into(),
            branch_deleted: None,
            bytes: 1024,
        },
    ],
    WorktreeIssue => [EventKind::WorktreeIssue {
        issue: "dirty".into(),
        path: "/home/ada/.local/share/ambidex/worktrees/pagination-1a2b3c4d/00000001/production".into(),
        detail: "2 changed files: src/page.rs, src/lib.rs".into(),
    }],
    PlaybookSelected => [
        EventKind::PlaybookSelected {
        playbook: "right_hand".into(),
        playbook_version: "acaebb6848b7700e3241854d8205e9f4d0c02e1c5aa9ffe4368c8285ea76245c".into(),
        policy_version: "dc374b511298b9e512f457e52d380b134fd80c079df0ce50d341febf778d3369".into(),
        exploration_version: String::new(),
    },
        EventKind::PlaybookSelected {
            playbook: "bug_fix_test_first".into(),
            playbook_version: "5f1c0e9a8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e".into(),
            policy_version: "dc374b511298b9e512f457e52d380b134fd80c079df0ce50d341febf778d3369".into(),
            exploration_version: "0e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5a49382716050f4e3d2c1b0a9".into(),
        },
    ],
    PlanSubmitted => [
        EventKind::PlanSubmitted {
            plan: Plan {
                summary: "Round page_count up with div_ceil".into(),
                steps: strings(&["change page_count", "add a test"]),
                expected_files: strings(&["src/page.rs", "tests/page.rs"]),
                validation: strings(&["cargo test"]),
                rollback: "revert the commit".into(),
                confidence: Some(80),
            },
        },
        EventKind::PlanSubmitted { plan: Plan::default() },
    ],
    ReviewSubmitted => [EventKind::ReviewSubmitted {
        review: Review {
            verdict: ReviewVerdict::RequestChanges,
            findings: vec![finding()],
            summary: "one correctness issue".into(),
        },
    }],
    ValidationRan => [EventKind::ValidationRan { attempt: 2, result: validation_result() }],
    BreakerTripped => [EventKind::BreakerTripped {
        breaker: "repeated_edits".into(),
        evidence: "src/page.rs edited 6 times in 8 calls".into(),
    }],
    PrDrafted => [EventKind::PrDrafted { pr: PullRequest { location: String::new(), ..pull_request() } }],
    PrCreated => [EventKind::PrCreated { pr: pull_request() }],
    ExplorationStarted => [
        EventKind::ExplorationStarted {
            trigger: "repeated_test_failures".into(),
            evidence: "validation failed after 2 implementation attempts: `cargo test`".into(),
            candidates: candidates(),
        },
        EventKind::ExplorationStarted {
            trigger: "route".into(),
            evidence: "triage routed the task to both hands".into(),
            candidates: vec![CandidatePlan {
                label: "c1".into(),
                strategy: "test_first".into(),
                provider: Some("anthropic".into()),
                model: Some("claude-sonnet-4-5".into()),
                agent: None,
            }],
        },
        EventKind::ExplorationStarted {
            trigger: "route".into(),
            evidence: "triage routed the task to both hands".into(),
            candidates: vec![CandidatePlan {
                label: "c1".into(),
                strategy: "minimal_diff".into(),
                provider: None,
                model: None,
                agent: Some("claude".into()),
            }],
        },
    ],
    AcceptanceTestsWritten => [
        EventKind::AcceptanceTestsWritten {
            files: strings(&["tests/acceptance.rs"]),
            tests: strings(&["acceptance::rounds_up", "acceptance::exact"]),
            failing_on_base: strings(&["acceptance::rounds_up"]),
            passing_on_base: strings(&["acceptance::exact"]),
            baseline: vec![test_report()],
            covers: Vec::new(),
        },
        EventKind::AcceptanceTestsWritten {
            files: strings(&["tests/acceptance.rs"]),
            tests: strings(&["acceptance::rounds_up"]),
            failing_on_base: strings(&["acceptance::rounds_up"]),
            passing_on_base: Vec::new(),
            baseline: vec![test_report()],
            covers: vec![CriterionCoverage { criterion: 1, test: "acceptance::rounds_up".into() }],
        },
    ],
    CandidateFinished => [EventKind::CandidateFinished {
        candidate: "c1".into(),
        strategy: "minimal_diff".into(),
        ok: true,
        summary: "div_ceil in page_count; one new test".into(),
    }],
    CandidateAnalyzed => [EventKind::CandidateAnalyzed { candidate: "c1".into(), findings: vec![finding()] }],
    EvidenceRecorded => [
        EventKind::EvidenceRecorded { matrix: Box::new(matrix()), hash: digest(0xe1) },
        EventKind::EvidenceRecorded { matrix: Box::new(matrix_with_missing()), hash: digest(0xe2) },
        EventKind::EvidenceRecorded { matrix: Box::new(matrix_of_two_models()), hash: digest(0xe3) },
        EventKind::EvidenceRecorded { matrix: Box::new(matrix_with_museum()), hash: digest(0xe4) },
    ],
    SynthesisSubmitted => [
        EventKind::SynthesisSubmitted { synthesis: synthesis(Recommendation::Adopt { candidate: "c1".into() }) },
        EventKind::SynthesisSubmitted { synthesis: synthesis(Recommendation::Combine { hunks: hunks() }) },
        EventKind::SynthesisSubmitted { synthesis: synthesis(Recommendation::KeepProduction) },
        EventKind::SynthesisSubmitted { synthesis: synthesis(Recommendation::RejectAll) },
        EventKind::SynthesisSubmitted {
            synthesis: Synthesis {
                flags: strings(&[
                    "contradicts the evidence: recommends `keep production`, but c1 has better evidence than \
                     production (c1: validation passes, acceptance 2/2, 0 regressions vs production: validation \
                     FAILS, acceptance 0/2, 0 regressions)",
                ]),
                ..synthesis(Recommendation::KeepProduction)
            },
        },
    ],
    ChangeAdopted => [
        EventKind::ChangeAdopted {
            choice: "combine".into(),
            hunks: hunks(),
            matrix_hash: digest(0xe1),
            production_files: Vec::new(),
        },
        EventKind::ChangeAdopted {
            choice: "adopt c1".into(),
            hunks: hunks(),
            matrix_hash: digest(0xe1),
            production_files: vec![
                ProductionFile {
                    path: "tests/regression.rs".into(),
                    fate: FileFate::Kept,
                    why: "production's test; adopt c1 does not change it".into(),
                },
                ProductionFile {
                    path: "src/lib.rs".into(),
                    fate: FileFate::Replaced,
                    why: "adopt c1 has its own version".into(),
                },
                ProductionFile {
                    path: "src/old.rs".into(),
                    fate: FileFate::Dropped,
                    why: "adopt c1 leaves it as on the base commit".into(),
                },
            ],
        },
    ],
    BranchPushed => [EventKind::BranchPushed {
        remote: "origin".into(),
        branch: "ambidex/00000001/production".into(),
        commit: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c".into(),
    }],
    CiChecked => [
        EventKind::CiChecked {
            report: CiReport {
                commit: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c".into(),
                checks: vec![
                    CiCheck {
                        name: "test".into(),
                        state: CiState::Failed,
                        url: Some("https://github.com/ada/pagination/runs/42".into()),
                    },
                    CiCheck { name: "lint".into(), state: CiState::Pending, url: None },
                ],
            },
        },
        EventKind::CiChecked {
            report: CiReport { commit: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c".into(), checks: Vec::new() },
        },
    ],
    ForgeRetry => [EventKind::ForgeRetry {
        forge: "github".into(),
        attempt: 1,
        reason: "HTTP 502".into(),
        delay_ms: 1000,
    }],
    IssueCommented => [EventKind::IssueCommented {
        issue: "https://github.com/ada/pagination/issues/7".into(),
        url: "https://github.com/ada/pagination/issues/7#issuecomment-1".into(),
    }],
    PrFeedback => [
        EventKind::PrFeedback {
            reviews: vec![ForgeReview {
                id: "review-88".into(),
                author: "alice".into(),
                requests_changes: true,
                body: "Cover zero.".into(),
                comments: vec![LineComment {
                    path: "src/lib.rs".into(),
                    line: Some(4),
                    body: "div_ceil panics when size is 0".into(),
                }],
                url: Some("https://github.com/ada/pagination/pull/42#pullrequestreview-88".into()),
            }],
            failed_checks: vec![CiCheck {
                name: "test".into(),
                state: CiState::Failed,
                url: Some("https://github.com/ada/pagination/runs/42".into()),
            }],
            to: StageKind::Implement,
        },
        EventKind::PrFeedback {
            reviews: vec![ForgeReview {
                id: "note-5".into(),
                author: "bob".into(),
                requests_changes: false,
                body: "Rename it.".into(),
                comments: Vec::new(),
                url: None,
            }],
            failed_checks: Vec::new(),
            to: StageKind::Implement,
        },
    ],
    PrAnswered => [EventKind::PrAnswered {
        url: "https://github.com/ada/pagination/pull/42#issuecomment-9".into(),
        commit: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d".into(),
    }],
    HookRan => [
        EventKind::HookRan {
            hook: "gate_opened".into(),
            command: "notify-send ambidex \"$(jq -r .event.reason)\"".into(),
            exit_code: Some(0),
            timed_out: false,
            blocked: false,
            output: String::new(),
            duration_ms: 12,
        },
        EventKind::HookRan {
            hook: "pre_tool_call".into(),
            command: "./scripts/no-push.sh".into(),
            exit_code: None,
            timed_out: true,
            blocked: true,
            output: "checking the command…\n".into(),
            duration_ms: 10_004,
        },
    ],
    ArtifactsStored => [
        EventKind::ArtifactsStored { artifacts: artifacts(), failed: Vec::new() },
        EventKind::ArtifactsStored {
            artifacts: Vec::new(),
            failed: strings(&["validation attempt 2: cargo test: could not write to the artifact store s3://team/ambidex: \
                               service unavailable"]),
        },
    ],
}

/// One artifact of each kind.
fn artifacts() -> Vec<ArtifactRef> {
    let one = |kind, name: &str, byte, bytes| ArtifactRef { kind, name: name.into(), digest: digest(byte), bytes };
    vec![
        one(ArtifactKind::Log, "validation attempt 1: cargo test", 0xa1, 2_048),
        one(ArtifactKind::Patch, "candidate c2", 0xa2, 913),
        one(ArtifactKind::PrDocument, "PR on ambidex/01jx/production", 0xa3, 3_871),
        one(ArtifactKind::EvalOutput, "c2/run-65TW77/nextest-junit.xml", 0xa4, 12_400),
    ]
}

/// The budgets of a medium-risk task.
fn budgets() -> TriageBudgets {
    TriageBudgets {
        wall_time_secs: 1800,
        max_tokens: 400_000,
        max_cost_micros: 2_000_000,
        tool_calls: 200,
        agent_tool_calls: 60,
        retries: 2,
        files_changed: 10,
        diff_lines: 400,
    }
}

/// Who would have caused an event of this kind.
fn actor_of(kind: &EventKind) -> Actor {
    match kind {
        EventKind::TaskCreated { .. }
        | EventKind::TaskRevised { .. }
        | EventKind::Note { .. }
        | EventKind::Rewound { .. } => Actor::Human { name: Some("ada".into()) },
        EventKind::GateDecided { note: None, .. } => Actor::Human { name: None },
        EventKind::GateDecided { .. } => Actor::Human { name: Some("ada".into()) },
        EventKind::AgentMessage { .. } | EventKind::UsageRecorded { .. } | EventKind::ModelRetry { .. } => {
            agent(Role::Implementer, None)
        }
        EventKind::ToolCalled(_) => agent(Role::Tester, None),
        EventKind::PlanSubmitted { .. } => agent(Role::Planner, None),
        EventKind::ReviewSubmitted { .. } => agent(Role::Reviewer, None),
        EventKind::PrDrafted { .. } => agent(Role::Pr, None),
        EventKind::CandidateFinished { .. } => agent(Role::Challenger, Some("c1")),
        EventKind::CandidateAnalyzed { .. } => agent(Role::FailureAnalyst, Some("c1")),
        EventKind::AcceptanceTestsWritten { .. } => agent(Role::EvalDesigner, Some("eval")),
        EventKind::SynthesisSubmitted { .. } => agent(Role::Synthesis, None),
        _ => Actor::Orchestrator,
    }
}

/// `kind` as a whole stored event (seq 42, a fixed time and previous hash), with `hash` left for
/// the caller to compute.
pub fn event(kind: EventKind) -> Event {
    let task = (!matches!(kind, EventKind::EngineStarted { .. })).then(task_id);
    Event {
        schema: EVENT_SCHEMA,
        seq: 42,
        at: at("2026-01-02T03:04:05.123456789Z"),
        task,
        actor: actor_of(&kind),
        kind,
        prev_hash: digest(0x5e),
        hash: Digest::GENESIS,
    }
}

/// A task projection with every part set (the struct literal has no `..`: a new field must be
/// given a sample value here).
pub fn task() -> Task {
    let spec = spec();
    Task {
        id: task_id(),
        spec,
        status: TaskStatus::AwaitingGate,
        created_at: at("2026-01-02T03:00:00Z"),
        updated_at: at("2026-01-02T03:04:05.123456789Z"),
        last_seq: 42,
        event_count: 40,
        intake: Some(IntakeNote {
            verdict: IntakeVerdict::Accepted,
            reasons: strings(&["accepted: objective of 9 words"]),
            questions: strings(&["Which module?"]),
            suggested_split: strings(&["Fix page_count"]),
        }),
        triage: Some(Triage {
            kind: TaskKind::BugFix,
            risk: Risk::Medium,
            novelty: 35,
            route: Route::RightAndLeft,
            reasons: strings(&["risk: touches src/auth"]),
            budgets: Some(budgets()),
            gates: vec![GatePlan::Plan, GatePlan::PullRequest],
            areas: strings(&["auth"]),
            policy_version: "dc374b511298b9e512f457e52d380b134fd80c079df0ce50d341febf778d3369".into(),
            autonomy: Default::default(),
        }),
        open_gates: vec![OpenGate {
            id: gate_id(),
            kind: GateKind::Promotion,
            reason: "adopt c1 into production?".into(),
            opened_seq: 41,
            evidence_hash: Some(digest(0xe1)),
            options: strings(&["adopt c1", "keep production"]),
        }],
        stage: Some(StageRun { name: "code".into(), kind: Some(StageKind::Implement) }),
        input_tokens: 120_000,
        output_tokens: 8_000,
        cost_micros: 480_000,
        tool_calls: 31,
        memory_version: Some(4321),
        ci: Some(CiReport {
            commit: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c".into(),
            checks: vec![CiCheck {
                name: "test".into(),
                state: CiState::Passed,
                url: Some("https://github.com/ada/pagination/runs/41".into()),
            }],
        }),
        worktrees: vec![WorktreeRef {
            candidate: "production".into(),
            path: "/home/ada/.local/share/ambidex/worktrees/pagination-1a2b3c4d/00000001/production".into(),
            branch: "ambidex/00000001/production".into(),
            base: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d".into(),
            set_up: true,
        }],
        removed_worktrees: vec![WorktreeRef {
            candidate: "c2".into(),
            path: "/home/ada/.local/share/ambidex/worktrees/pagination-1a2b3c4d/00000001/c2".into(),
            branch: "ambidex/00000001/c2".into(),
            base: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d".into(),
            set_up: false,
        }],
        last_stage: Some(FinishedStage {
            stage: StageRun { name: "validate".into(), kind: Some(StageKind::Validate) },
            ok: false,
        }),
        completed_stages: vec![
            StageRun { name: "plan".into(), kind: Some(StageKind::Plan) },
            StageRun { name: "code".into(), kind: Some(StageKind::Implement) },
        ],
        playbook: Some(PlaybookRef {
            name: "right_hand".into(),
            version: "acaebb6848b7700e3241854d8205e9f4d0c02e1c5aa9ffe4368c8285ea76245c".into(),
            policy_version: "dc374b511298b9e512f457e52d380b134fd80c079df0ce50d341febf778d3369".into(),
        }),
        plan: Some(Plan {
            summary: "Round page_count up".into(),
            steps: strings(&["change page_count"]),
            expected_files: strings(&["src/page.rs"]),
            validation: strings(&["cargo test"]),
            rollback: "revert the commit".into(),
            confidence: Some(80),
        }),
        review: Some(Review { verdict: ReviewVerdict::Approve, findings: vec![finding()], summary: "fine".into() }),
        rejected_reviews: 1,
        validation: vec![ValidationRun { attempt: 2, result: validation_result() }],
        breakers: strings(&["repeated_edits"]),
        pr: Some(pull_request()),
        artifacts: artifacts(),
        pr_draft: Some(pull_request()),
        exploration: Some(Exploration {
            trigger: "repeated_test_failures".into(),
            evidence: "validation failed after 2 implementation attempts".into(),
            candidates: candidates(),
            acceptance: Some(AcceptanceTests {
                files: strings(&["tests/acceptance.rs"]),
                tests: strings(&["acceptance::rounds_up"]),
                failing_on_base: strings(&["acceptance::rounds_up"]),
                passing_on_base: strings(&["acceptance::exact"]),
                baseline: vec![test_report()],
                covers: vec![CriterionCoverage { criterion: 1, test: "acceptance::rounds_up".into() }],
            }),
            finished: BTreeMap::from([
                ("c1".to_owned(), CandidateOutcome { ok: true, summary: "div_ceil".into() }),
                ("c2".to_owned(), CandidateOutcome { ok: false, summary: "ran out of tool calls".into() }),
            ]),
            analyses: BTreeMap::from([("c1".to_owned(), vec![finding()])]),
            matrix: Some(RecordedMatrix { matrix: matrix(), hash: digest(0xe1) }),
            synthesis: Some(synthesis(Recommendation::Combine { hunks: hunks() })),
            adopted: Some(Adoption {
                choice: "combine".into(),
                hunks: hunks(),
                production_files: vec![ProductionFile {
                    path: "tests/regression.rs".into(),
                    fate: FileFate::Kept,
                    why: "production's test; combine 2 hunks does not change it".into(),
                }],
            }),
        }),
        decided_gates: vec![DecidedGate {
            id: gate_id(),
            kind: GateKind::Plan,
            reason: "approve the plan".into(),
            decision: Decision::Approve,
            note: Some("go".into()),
            choice: Some("adopt c1".into()),
            evidence_hash: Some(digest(0xe1)),
            superseded: true,
        }],
        notes: vec![
            EngineerNote { text: "use div_ceil".into(), gate: Some(GateKind::Plan), from: None, seq: 30 },
            EngineerNote {
                text: "@alice requested changes on the PR:\nCover zero.".into(),
                gate: None,
                from: Some("@alice".into()),
                seq: 41,
            },
        ],
        send_backs: vec![
            SendBack {
                to: StageKind::Plan,
                stage: None,
                gate: Some(GateKind::Plan),
                feedback: None,
                note: "use div_ceil".into(),
                resumed: true,
                outcome: Some("Round page_count up with div_ceil".into()),
            },
            SendBack {
                to: StageKind::Implement,
                stage: Some("code".into()),
                gate: None,
                feedback: None,
                note: "keep the old signature".into(),
                resumed: false,
                outcome: None,
            },
            SendBack {
                to: StageKind::Implement,
                stage: None,
                gate: None,
                feedback: Some("@alice".into()),
                note: "@alice requested changes on the PR:\nCover zero.".into(),
                resumed: false,
                outcome: None,
            },
        ],
        issue_comment: Some("https://github.com/ada/pagination/issues/7#issuecomment-1".into()),
        reviews_acted_on: vec!["review-88".into()],
        reworks: 1,
        rework: Some(Rework {
            from: "@alice".into(),
            note: "@alice requested changes on the PR:\nCover zero.".into(),
            seq: 41,
        }),
    }
}
