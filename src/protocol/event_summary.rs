//! The one-line human summary of each event kind, for listings, logs and the control room.

use super::event::{EventKind, human_bytes};
use super::triage::Triage;

impl EventKind {
    /// A one-line human summary, for listings and logs.
    pub fn summary(&self) -> String {
        match self {
            EventKind::EngineStarted { version } => format!("engine {version} started"),
            EventKind::TaskCreated { spec } => format!("created: {}", spec.title),
            EventKind::TaskRevised { spec } => format!("revised: {}", spec.title),
            EventKind::IntakeAssessed { verdict, reasons, questions, .. } => {
                let detail = reasons.iter().chain(questions).cloned().collect::<Vec<_>>();
                if detail.is_empty() {
                    format!("intake: {verdict:?}")
                } else {
                    format!("intake: {verdict:?}: {}", detail.join("; "))
                }
            }
            EventKind::TaskTriaged(Triage { kind, risk, novelty, route, .. }) => {
                format!("triaged: {kind}, risk {risk}, novelty {novelty}, route {route}")
            }
            EventKind::StatusChanged { from, to, reason } => format!("{from} → {to}: {reason}"),
            EventKind::StageStarted { stage, role, .. } => format!("stage {stage} started ({role})"),
            EventKind::StageFinished { stage, ok, summary, .. } => {
                let outcome = if *ok { "ok" } else { "failed" };
                format!("stage {stage} {outcome}: {summary}")
            }
            EventKind::AgentMessage { text } => {
                let first = text.lines().next().unwrap_or_default();
                format!("message: {first}")
            }
            EventKind::ModelRetry { attempt, reason, delay_ms } => {
                format!("model retry after attempt {attempt} in {delay_ms} ms: {reason}")
            }
            EventKind::UsageRecorded { input_tokens, output_tokens, cost_micros } => {
                format!("usage: {input_tokens} in, {output_tokens} out, ${:.4}", *cost_micros as f64 / 1e6)
            }
            EventKind::GateOpened { gate, kind, reason, .. } => {
                format!("gate {} ({kind}) opened: {reason}", gate.short())
            }
            EventKind::GateDecided { gate, decision, note, choice } => {
                let choice = choice.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
                match note {
                    Some(note) => format!("gate {} {decision}{choice}: {note}", gate.short()),
                    None => format!("gate {} {decision}{choice}", gate.short()),
                }
            }
            EventKind::Note { text } => format!("note: {text}"),
            EventKind::Rewound { stage, abandoned, note, .. } => {
                let note = note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
                format!("rewound to the {stage} stage (the work set aside is on {abandoned}){note}")
            }
            EventKind::CheckpointRestored { stage, abandoned, .. } => {
                format!("the {stage} stage starts again from its checkpoint (what the worktree held is on {abandoned})")
            }
            EventKind::SentBack { gate_kind, to, note, .. } => {
                format!("sent back from the {gate_kind} gate to the {to} stage: {note}")
            }
            EventKind::ToolCalled(record) => {
                let outcome = match (record.ok, record.exit_code) {
                    (_, Some(code)) => format!("exit {code}"),
                    (true, None) => "ok".to_owned(),
                    (false, None) => "refused or failed".to_owned(),
                };
                let detail = match record.arguments.get("command").or_else(|| record.arguments.get("path")) {
                    Some(serde_json::Value::String(text)) => format!(" `{text}`"),
                    _ => String::new(),
                };
                format!("tool {}{detail}: {outcome}", record.tool)
            }
            EventKind::BudgetExceeded { scope, budget, limit, used } => {
                format!("{scope} budget `{budget}` exceeded: {used} of {limit}")
            }
            EventKind::WorktreeCreated { candidate, branch, .. } => format!("worktree {candidate} on {branch}"),
            EventKind::SetupRan { candidate, network, results, baseline } => {
                let outcome = match results.iter().find(|r| !r.ok) {
                    Some(failed) => format!("`{}` failed", failed.command),
                    None if results.is_empty() => "nothing to fetch".to_owned(),
                    None => format!("{} commands passed", results.len()),
                };
                let network = if *network { " with network" } else { "" };
                let kept =
                    if baseline.is_empty() { String::new() } else { format!("; baseline: {}", baseline.join(", ")) };
                format!("setup of {candidate}{network}: {outcome}{kept}")
            }
            EventKind::MemoryChanged { change, entry } => format!(
                "memory {} {}: {} ({})",
                entry.id.short(),
                serde_json::to_value(change).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                entry.text.lines().next().unwrap_or_default(),
                entry.kind
            ),
            EventKind::ExhibitChanged { change, exhibit } => format!(
                "exhibit {} {}: {}",
                exhibit.id.short(),
                serde_json::to_value(change).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                exhibit.title
            ),
            EventKind::PlaybookChanged { change, version } => format!(
                "{} {} {} ({}): {}",
                version.artifact,
                version.name,
                version.short(),
                version.status,
                serde_json::to_value(change).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
            ),
            EventKind::AutonomyChanged { change, state } => format!(
                "autonomy of {} {}: {} ({})",
                state.class,
                serde_json::to_value(change).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                state.proposed.unwrap_or(state.level),
                state.reason
            ),
            EventKind::MemoryUsed { version, entries } => {
                format!("memory version {version}: {} entries given to the agents", entries.len())
            }
            EventKind::SetupNetworkAllowed { repo, commands } => {
                format!("network allowed to the setup of {repo}: {}", commands.join("; "))
            }
            EventKind::WorktreeRemoved { candidate, path, bytes, .. } => {
                format!("worktree {candidate} removed: {path} ({})", human_bytes(*bytes))
            }
            EventKind::WorktreeIssue { issue, path, detail } => format!("worktree {issue}: {path} {detail}"),
            EventKind::PlaybookSelected { playbook, playbook_version, .. } => {
                format!("playbook {playbook} ({})", &playbook_version[..playbook_version.len().min(12)])
            }
            EventKind::PlanSubmitted { plan } => format!(
                "plan: {} ({} steps, {} files)",
                plan.summary.lines().next().unwrap_or_default(),
                plan.steps.len(),
                plan.expected_files.len()
            ),
            EventKind::ReviewSubmitted { review } => {
                format!("review: {:?}, {} findings", review.verdict, review.findings.len()).to_lowercase()
            }
            EventKind::ValidationRan { attempt, result } => format!(
                "validation (attempt {attempt}) `{}`: {}",
                result.command,
                if result.ok { "passed" } else { "failed" }
            ),
            EventKind::BreakerTripped { breaker, evidence } => format!("breaker {breaker}: {evidence}"),
            EventKind::PrDrafted { pr } => format!("PR drafted: {}", pr.title),
            EventKind::PrCreated { pr } => format!("PR ready: {} ({})", pr.title, pr.location),
            EventKind::ExplorationStarted { trigger, candidates, .. } => {
                let labels: Vec<String> = candidates.iter().map(|c| format!("{} ({})", c.label, c.strategy)).collect();
                format!("exploration started ({trigger}): {}", labels.join(", "))
            }
            EventKind::AcceptanceTestsWritten { tests, failing_on_base, passing_on_base, .. } => format!(
                "acceptance tests: {} written, {} fail on the base commit, {} weak",
                tests.len(),
                failing_on_base.len(),
                passing_on_base.len()
            ),
            EventKind::CandidateFinished { candidate, strategy, ok, summary } => {
                let outcome = if *ok { "finished" } else { "failed" };
                format!("candidate {candidate} ({strategy}) {outcome}: {}", summary.lines().next().unwrap_or_default())
            }
            EventKind::CandidateAnalyzed { candidate, findings } => {
                format!("failure analysis of {candidate}: {} findings", findings.len())
            }
            EventKind::EvidenceRecorded { matrix, hash } => {
                format!("evidence matrix: {} candidates ({})", matrix.rows.len(), &hash.to_string()[..12])
            }
            EventKind::SynthesisSubmitted { synthesis } => {
                format!("synthesis recommends: {}", synthesis.recommendation.label())
            }
            EventKind::ChangeAdopted { choice, hunks, .. } => {
                format!("production adopted {choice} ({} hunks)", hunks.len())
            }
            EventKind::BranchPushed { remote, branch, commit } => {
                format!("pushed {branch} to {remote} at {}", &commit[..commit.len().min(12)])
            }
            EventKind::CiChecked { report } => {
                format!("CI on {}: {}", &report.commit[..report.commit.len().min(12)], report.summary())
            }
            EventKind::ForgeRetry { forge, attempt, reason, delay_ms } => {
                format!("{forge} retry after attempt {attempt} in {delay_ms} ms: {reason}")
            }
            EventKind::IssueCommented { issue, url } => format!("commented on {issue}: {url}"),
            EventKind::PrFeedback { reviews, failed_checks, to } => {
                let failed = failed_checks.iter().filter(|c| c.state == super::CiState::Failed).count();
                let mut parts = Vec::new();
                if !reviews.is_empty() {
                    parts.push(format!("{} review(s) from {}", reviews.len(), super::feedback_from(reviews)));
                }
                if failed > 0 {
                    parts.push(format!("{failed} failed CI check(s)"));
                }
                format!("PR feedback ({}): back to the {to} stage", parts.join(", "))
            }
            EventKind::PrAnswered { url, commit } => {
                format!("answered on the PR with {}: {url}", &commit[..commit.len().min(12)])
            }
            EventKind::HookRan { hook, command, exit_code, timed_out, blocked, .. } => {
                let ended = match (timed_out, exit_code) {
                    (true, _) => "timed out".to_owned(),
                    (false, Some(code)) => format!("exit {code}"),
                    (false, None) => "killed".to_owned(),
                };
                let blocked = if *blocked { ", blocked the call" } else { "" };
                format!("{hook} hook `{command}`: {ended}{blocked}")
            }
            EventKind::ArtifactsStored { artifacts, failed } => {
                let total: u64 = artifacts.iter().map(|a| a.bytes).sum();
                let mut kinds: Vec<&str> = artifacts.iter().map(|a| a.kind.name()).collect();
                kinds.sort_unstable();
                kinds.dedup();
                let mut line =
                    format!("stored {} artifact(s), {} ({})", artifacts.len(), human_bytes(total), kinds.join(", "));
                if !failed.is_empty() {
                    line.push_str(&format!("; {} not stored: {}", failed.len(), failed.join("; ")));
                }
                line
            }
        }
    }
}
