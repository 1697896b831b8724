use super::*;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init(dir.path().join("repo")).unwrap();
        Fixture { dir }
    }

    fn user_file(&self) -> PathBuf {
        self.dir.path().join("user.toml")
    }

    fn repo_file(&self) -> PathBuf {
        self.dir.path().join("repo/.ambidex/config.toml")
    }

    fn write_user(&self, text: &str) {
        std::fs::write(self.user_file(), text).unwrap();
    }

    fn write_repo(&self, text: &str) {
        std::fs::create_dir_all(self.repo_file().parent().unwrap()).unwrap();
        std::fs::write(self.repo_file(), text).unwrap();
    }

    fn options(&self) -> LoadOptions {
        LoadOptions {
            repo_dir: Some(self.dir.path().join("repo")),
            user_file: Some(self.user_file()),
            env: Vec::new(),
            flags: Vec::new(),
        }
    }
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn built_in_defaults_load_and_every_key_has_a_source() {
    let fixture = Fixture::new();
    let effective = load(&fixture.options()).unwrap();
    assert_eq!(effective.config, Config::default());
    assert!(effective.files.is_empty());
    let entries = effective.entries();
    assert!(entries.iter().any(|(k, _, s)| k == "providers.ollama.base_url" && *s == Source::BuiltIn));
    assert!(entries.iter().all(|(_, _, s)| *s == Source::BuiltIn));
}

#[test]
fn each_layer_overrides_the_one_below_and_is_named_as_the_source() {
    let fixture = Fixture::new();
    fixture.write_user("[tui]\ntheme = \"light\"\nbell = false\n[engine]\nchallengers = 3\n");
    fixture.write_repo("[tui]\ntheme = \"high-contrast\"\n[providers.openai]\nmodel = \"gpt-x\"\n");
    let mut options = fixture.options();
    options.env = env(&[("AMBIDEX_ENGINE__CHALLENGERS", "4"), ("AMBIDEX_STATE_DIR", "/tmp/from-env")]);
    options.flag("--state-dir", "state_dir", "/tmp/from-flag");
    let effective = load(&options).unwrap();
    let config = &effective.config;
    assert_eq!(config.tui.theme, "high-contrast");
    assert!(!config.tui.bell);
    assert_eq!(config.engine.challengers, super::Challengers::Count(4));
    assert_eq!(config.state_dir, "/tmp/from-flag");
    assert_eq!(config.providers["openai"].model, "gpt-x");
    // Keys the repo file did not touch keep the preset's values.
    assert_eq!(config.providers["openai"].base_url, "https://api.openai.com/v1");

    let source = |key: &str| effective.sources[key].clone();
    assert_eq!(source("tui.theme"), Source::RepoFile(fixture.repo_file()));
    assert_eq!(source("tui.bell"), Source::UserFile(fixture.user_file()));
    assert_eq!(source("engine.challengers"), Source::Env("AMBIDEX_ENGINE__CHALLENGERS".into()));
    assert_eq!(source("state_dir"), Source::Flag("--state-dir".into()));
    assert_eq!(source("providers.openai.base_url"), Source::BuiltIn);
    assert_eq!(effective.files, [fixture.user_file(), fixture.repo_file()]);
}

#[test]
fn an_unknown_key_in_a_file_names_file_line_and_key() {
    let fixture = Fixture::new();
    fixture.write_repo("[tui]\ntheme = \"dark\"\ncolour = \"red\"\n");
    let err = load(&fixture.options()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&fixture.repo_file().display().to_string()), "{text}");
    assert!(text.contains("line 3"), "{text}");
    assert!(text.contains("key `tui.colour`"), "{text}");
    assert!(text.contains("unknown field"), "{text}");
}

#[test]
fn a_bad_value_names_its_line_and_key() {
    let fixture = Fixture::new();
    fixture.write_user("[api]\nport = \"eighty\"\n");
    let text = load(&fixture.options()).unwrap_err().to_string();
    assert!(text.contains("line 2") && text.contains("key `api.port`"), "{text}");
}

#[test]
fn a_syntax_error_names_its_line() {
    let fixture = Fixture::new();
    fixture.write_user("[tui\ntheme = 1\n");
    let text = load(&fixture.options()).unwrap_err().to_string();
    assert!(text.contains("user file") && text.contains("line 1"), "{text}");
}

#[test]
fn bad_environment_and_flags_name_the_variable_or_flag() {
    let fixture = Fixture::new();
    let mut options = fixture.options();
    options.env = env(&[("AMBIDEX_NO_SUCH_KEY", "1")]);
    let text = load(&options).unwrap_err().to_string();
    assert!(text.contains("environment AMBIDEX_NO_SUCH_KEY") && text.contains("no_such_key"), "{text}");

    let mut options = fixture.options();
    options.flag("-c api.port=x", "api.port", "x");
    let text = load(&options).unwrap_err().to_string();
    assert!(text.contains("flag -c api.port=x") && text.contains("key `api.port`"), "{text}");
}

#[test]
fn references_to_missing_providers_say_where_they_were_set() {
    let fixture = Fixture::new();
    fixture.write_repo("[roles.implementer]\nprovider = \"nope\"\n");
    let text = load(&fixture.options()).unwrap_err().to_string();
    assert!(text.contains("roles.implementer.provider") && text.contains("repo file"), "{text}");
    assert!(text.contains("known providers: anthropic"), "{text}");
}

#[test]
fn an_unknown_role_is_an_error() {
    let fixture = Fixture::new();
    fixture.write_repo("[roles.wizard]\nprovider = \"openai\"\n");
    let text = load(&fixture.options()).unwrap_err().to_string();
    assert!(text.contains("wizard"), "{text}");
}

#[test]
fn roles_pick_their_provider_and_model() {
    let fixture = Fixture::new();
    fixture.write_repo(
        "[models]\ndefault_provider = \"ollama\"\n[roles.architect]\nprovider = \"anthropic\"\nmodel = \"big\"\n",
    );
    let config = load(&fixture.options()).unwrap().config;
    let (name, _, model) = config.provider_for(crate::protocol::Role::Architect).unwrap();
    assert_eq!((name, model.as_str()), ("anthropic", "big"));
    let (name, _, model) = config.provider_for(crate::protocol::Role::Implementer).unwrap();
    assert_eq!((name, model.as_str()), ("ollama", "qwen2.5-coder"));
}

#[test]
fn a_roles_tuning_overrides_its_providers_and_unset_options_stay_unset() {
    let mut config = Config::default();
    let openai = config.providers.get_mut("openai").unwrap();
    openai.max_output_tokens = Some(32_000);
    openai.reasoning_effort = Some("medium".into());
    config.models.default_provider = "openai".into();
    config.roles.insert(
        crate::protocol::Role::Reviewer,
        RoleConfig { reasoning_effort: Some("low".into()), ..RoleConfig::default() },
    );
    let reviewer = config.tuning_for(crate::protocol::Role::Reviewer, None);
    assert_eq!(reviewer.reasoning_effort.as_deref(), Some("low"));
    assert_eq!(reviewer.max_output_tokens, Some(32_000));
    assert_eq!(reviewer.temperature, None);
    let planner = config.tuning_for(crate::protocol::Role::Planner, None);
    assert_eq!(planner.reasoning_effort.as_deref(), Some("medium"));
    // A challenger on another provider takes that provider's options, not the role's provider's.
    let own = ChallengerConfig { provider: Some("anthropic".into()), ..ChallengerConfig::default() };
    assert_eq!(config.tuning_for(crate::protocol::Role::Challenger, Some(&own)).max_output_tokens, None);
}
