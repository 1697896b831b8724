use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::*;
use crate::config::ProviderKind;
use crate::orchestrator::driver::drive;
use crate::orchestrator::scheduler::Scheduler;
use crate::protocol::{Command, TaskSpec};
use crate::redact::Redactor;
use crate::tools::sandbox::SandboxLevel;

/// An environment with only `OPENAI_API_KEY` set, when `with_key`.
fn env(with_key: bool) -> impl Fn(&str) -> Option<String> {
    move |name: &str| (with_key && name == "OPENAI_API_KEY").then(|| "sk-test".to_owned())
}

fn right_hand() -> Vec<Role> {
    vec![Role::Planner, Role::Implementer, Role::Tester, Role::Reviewer, Role::Pr]
}

#[test]
fn a_provider_whose_key_variable_is_unset_cannot_be_used() {
    let config = Config::default();
    let blocked = check(&config, right_hand(), &env(false)).unwrap_err();
    assert_eq!(
        blocked,
        ModelUnavailable {
            provider: "openai".into(),
            problem: "OPENAI_API_KEY is not set".into(),
            env_var: Some("OPENAI_API_KEY".into()),
        }
    );
    assert_eq!(check(&config, right_hand(), &env(true)), Ok(()));
    // A local server needs no key.
    let mut local = Config::default();
    local.models.default_provider = "ollama".into();
    assert_eq!(check(&local, right_hand(), &env(false)), Ok(()));
}

#[test]
fn every_provider_the_roles_use_is_checked_once_in_order() {
    let mut config = Config::default();
    config.models.default_provider = "ollama".into();
    config.roles.entry(Role::Reviewer).or_default().provider = "anthropic".into();
    config.roles.entry(Role::Pr).or_default().provider = "nowhere".into();
    let all = providers_in_use(&config, right_hand(), &env(false));
    let names: Vec<&str> = all.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["ollama", "anthropic", "nowhere"]);
    assert_eq!(all[0].1, Ok(()));
    assert_eq!(all[1].1.as_ref().unwrap_err().problem, "ANTHROPIC_API_KEY is not set");
    assert_eq!(
        all[2].1.as_ref().unwrap_err().problem,
        "no provider named `nowhere` is configured (`providers.nowhere`)"
    );
    assert_eq!(check(&config, right_hand(), &env(false)).unwrap_err().provider, "anthropic");
}

#[test]
fn a_provider_without_its_script_url_or_model_cannot_be_used() {
    let mut config = Config::default();
    let scripted = config.providers.entry("demo".into()).or_default();
    scripted.kind = ProviderKind::Scripted;
    config.models.default_provider = "demo".into();
    assert_eq!(
        check(&config, right_hand(), &env(false)).unwrap_err().problem,
        "no script is set (`providers.demo.script`)"
    );
    config.providers.entry("demo".into()).or_default().script = "demo.toml".into();
    assert_eq!(check(&config, right_hand(), &env(false)), Ok(()));
    // vLLM ships without a model name.
    config.models.default_provider = "vllm".into();
    assert_eq!(
        check(&config, right_hand(), &env(false)).unwrap_err().problem,
        "no model is set (`providers.vllm.model`)"
    );
}

#[test]
fn only_a_missing_key_or_no_connection_makes_a_provider_unavailable() {
    let unreachable = ModelError::new(ModelErrorKind::Unreachable { url: "http://127.0.0.1:9/v1".into() }, "down");
    assert_eq!(
        from_error("local", &unreachable),
        Some(ModelUnavailable {
            provider: "local".into(),
            problem: "cannot connect to http://127.0.0.1:9/v1".into(),
            env_var: None
        })
    );
    let missing = ModelError::new(ModelErrorKind::MissingKey { env_var: "OPENAI_API_KEY".into() }, "unset");
    assert_eq!(from_error("openai", &missing).and_then(|u| u.env_var), Some("OPENAI_API_KEY".into()));
    for kind in [ModelErrorKind::RateLimited, ModelErrorKind::Auth { env_var: "K".into() }, ModelErrorKind::Protocol] {
        assert_eq!(from_error("openai", &ModelError::new(kind, "x")), None);
    }
}

/// A setup whose default provider needs a key from a variable no one sets.
fn setup_without_key(dir: &std::path::Path) -> EngineSetup {
    let mut config = Config::default();
    config.providers.entry("openai".into()).or_default().api_key_env = "AMBIDEX_TEST_KEY_NEVER_SET_4F2A".into();
    EngineSetup::new(config, dir, SandboxLevel::None, PathBuf::new()).unwrap_or_else(|err| panic!("{err}"))
}

#[test]
fn the_setup_decides_from_its_playbooks_roles_and_remembers_an_unreachable_provider_for_a_while() {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let setup = setup_without_key(dir.path());
    let roles = setup.model_roles();
    assert!(roles.contains(&Role::Planner) && roles.contains(&Role::Implementer), "{roles:?}");
    assert!(!roles.contains(&Role::Ci), "validation calls no model");
    assert_eq!(setup.readiness().unwrap_err().problem, "AMBIDEX_TEST_KEY_NEVER_SET_4F2A is not set");
    assert!(matches!(setup.provider_readiness().as_slice(), [(name, Err(_))] if name == "openai"));

    let mut config = Config::default();
    config.models.default_provider = "ollama".into();
    let setup =
        EngineSetup::new(config, dir.path(), SandboxLevel::None, PathBuf::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(setup.readiness(), Ok(()));
    let down = ModelUnavailable { provider: "ollama".into(), problem: "cannot connect to …".into(), env_var: None };
    setup.mark_unreachable(down.clone());
    assert_eq!(setup.readiness(), Err(down.clone()), "tasks wait after a failed connection");
    if let Some(long_ago) = Instant::now().checked_sub(UNREACHABLE_PAUSE + Duration::from_secs(1)) {
        *setup.unreachable.lock().unwrap_or_else(|p| p.into_inner()) = Some((long_ago, down));
        assert_eq!(setup.readiness(), Ok(()), "and try again after the pause");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_tasks_stay_queued_without_a_worktree_and_clients_are_told_why() {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let setup = setup_without_key(dir.path());
    let redactor = Arc::new(Redactor::from_env(std::iter::empty()));
    let engine = Arc::new(
        Engine::open_with(&dir.path().join("state/state.redb"), redactor, Some(setup))
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let (snapshot, mut updates) = engine.subscribe().unwrap_or_else(|e| panic!("{e}"));
    let why = snapshot.unavailable.unwrap_or_else(|| panic!("the snapshot says why tasks cannot run"));
    assert_eq!(why.env_var.as_deref(), Some("AMBIDEX_TEST_KEY_NEVER_SET_4F2A"));

    let mut spec = TaskSpec::titled("Fix page_count rounding for a partial last page");
    spec.description = "`page_count(11, 5)` returns 2 instead of 3 in src/lib.rs".into();
    spec.acceptance_criteria = vec!["page_count(11, 5) returns 3".into()];
    spec.repo = Some(dir.path().display().to_string());
    let events =
        engine.execute(Command::AddTask { spec }, Actor::local_human()).await.unwrap_or_else(|e| panic!("{e}"));
    let id = events.first().and_then(|e| e.task).unwrap_or_else(|| panic!("no task"));
    assert_eq!(engine.task(id).map(|t| t.status).ok(), Some(TaskStatus::Queued));

    let scheduler = Scheduler::spawn(engine.clone(), 2, |_, ending| panic!("nothing may run: {ending:?}"));
    let announced = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match updates.recv().await {
                Ok(Update::Readiness { unavailable }) => return unavailable,
                Ok(_) => continue,
                Err(err) => panic!("{err}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the scheduler announces why it starts nothing"));
    assert_eq!(announced, Some(why.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    scheduler.stop().await;

    // A run asked for directly ends before it starts, the task still queued.
    let ending = drive(engine.clone(), id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ending, Ending::Waiting(why));
    let task = engine.task(id).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(task.status, TaskStatus::Queued);
    assert!(task.worktrees.is_empty());
    assert!(!engine.worktrees_root().exists(), "no worktree directory was made");
}
