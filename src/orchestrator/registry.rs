//! The playbook registry in the engine. Every playbook, exploration playbook and policy the
//! engine loads is recorded the first time its text is seen (active, replacing the active version
//! of its name); proposals come from a person or from the Left Hand's repeated wins; promotion,
//! retirement and rollback are a human's decisions, refused to anyone else. New tasks run with the
//! active versions, and each task records the exact ones it ran with.

use jiff::Timestamp;

use super::{Engine, EngineError, EngineSetup};
use crate::domain::Task;
use crate::playbooks::Policy;
use crate::playbooks::left_hand::{LeftHand, Strategy};
use crate::playbooks::playbook::{Playbook, Playbooks};
use crate::protocol::{
    Actor, Artifact, Author, EventKind, NewEvent, PlaybookChange, PlaybookVersion, RegistryEdit, StageKind, TaskId,
    TaskKind, VersionStatus,
};

/// Longest proposal text accepted, in bytes.
pub const MAX_TEXT: usize = 256 * 1024;

fn refused<T>(why: impl Into<String>) -> Result<T, EngineError> {
    Err(EngineError::Refused(why.into()))
}

fn changed(change: PlaybookChange, version: &PlaybookVersion, actor: &Actor) -> NewEvent {
    NewEvent::global(actor.clone(), EventKind::PlaybookChanged { change, version: Box::new(version.clone()) })
}

/// The registry as the store holds it.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    versions: Vec<PlaybookVersion>,
}

impl Registry {
    /// The registry of `versions` (oldest first).
    pub fn new(versions: Vec<PlaybookVersion>) -> Registry {
        Registry { versions }
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[PlaybookVersion] {
        &self.versions
    }

    /// The version `reference` names: a hash or a unique prefix of one (at least 4 characters).
    pub fn find(&self, reference: &str) -> Result<&PlaybookVersion, EngineError> {
        let reference = reference.trim().to_ascii_lowercase();
        if reference.len() < 4 {
            return refused(format!("`{reference}` is too short to name a version: give at least 4 characters"));
        }
        let mut found = self.versions.iter().filter(|v| v.hash.starts_with(&reference));
        match (found.next(), found.next()) {
            (Some(version), None) => Ok(version),
            (Some(_), Some(_)) => refused(format!("`{reference}` names more than one version; give more characters")),
            (None, _) => refused(format!("no version {reference}; `ambidex playbook list --all` shows them")),
        }
    }

    /// The version with this exact hash.
    pub fn get(&self, hash: &str) -> Option<&PlaybookVersion> {
        self.versions.iter().find(|v| v.hash == hash)
    }

    /// The active version of `name`.
    pub fn active(&self, artifact: Artifact, name: &str) -> Option<&PlaybookVersion> {
        self.versions.iter().find(|v| v.artifact == artifact && v.name == name && v.status == VersionStatus::Active)
    }

    /// The active production playbook new tasks of `class` run with: the most specific one.
    pub fn active_for(&self, class: TaskKind) -> Option<&PlaybookVersion> {
        self.versions
            .iter()
            .filter(|v| v.status == VersionStatus::Active && v.serves(class))
            .min_by_key(|v| v.classes.len())
    }

    /// Every version of `name`, oldest first.
    pub fn history(&self, name: &str) -> Vec<&PlaybookVersion> {
        self.versions.iter().filter(|v| v.name == name).collect()
    }

    fn put(&mut self, version: PlaybookVersion) {
        match self.versions.iter_mut().find(|v| v.hash == version.hash) {
            Some(held) => *held = version,
            None => self.versions.push(version),
        }
    }

    /// Makes `version` active, retiring the active version of its name; returns the events.
    fn activate(&mut self, mut version: PlaybookVersion, change: PlaybookChange, actor: &Actor) -> Vec<NewEvent> {
        let mut events = Vec::new();
        if let Some(mut old) = self.active(version.artifact, &version.name).filter(|v| v.hash != version.hash).cloned()
        {
            old.status = VersionStatus::Retired;
            old.decision = Some(format!("replaced by {}", version.short()));
            events.push(changed(PlaybookChange::Retired, &old, actor));
            self.put(old);
        }
        version.status = VersionStatus::Active;
        events.push(changed(change, &version, actor));
        self.put(version);
        events
    }

    /// Records every version the engine loaded that the registry has not seen: each becomes
    /// active, with the active version of its name as its parent.
    pub fn record_loaded(&mut self, playbooks: &Playbooks, policy: &Policy, now: Timestamp) -> Vec<NewEvent> {
        let mut loaded: Vec<Loaded<'_>> = playbooks
            .all()
            .map(|p| Loaded {
                artifact: Artifact::Playbook,
                name: &p.name,
                classes: p.kinds.clone(),
                hash: &p.version,
                text: &p.text,
                origin: &p.origin,
            })
            .collect();
        let left = &playbooks.left_hand;
        let (exploration, rules) = (Artifact::Exploration, Artifact::Policy);
        loaded.push(Loaded {
            artifact: exploration,
            name: &left.name,
            classes: Vec::new(),
            hash: &left.version,
            text: &left.text,
            origin: &left.origin,
        });
        loaded.push(Loaded {
            artifact: rules,
            name: "policy",
            classes: Vec::new(),
            hash: &policy.version,
            text: &policy.text,
            origin: &policy.origin,
        });
        let mut events = Vec::new();
        for Loaded { artifact, name, classes, hash, text, origin } in loaded {
            if text.is_empty() || self.get(hash).is_some() {
                continue;
            }
            let version = PlaybookVersion {
                hash: hash.to_owned(),
                artifact,
                name: name.to_owned(),
                classes,
                parent: self.active(artifact, name).map(|v| v.hash.clone()),
                author: Author::File { path: origin.to_owned() },
                summary: String::new(),
                created: now,
                status: VersionStatus::Active,
                decision: None,
                evaluation: None,
                retirement: Vec::new(),
                text: text.to_owned(),
            };
            events.extend(self.activate(version, PlaybookChange::Recorded, &Actor::Orchestrator));
        }
        events
    }

    /// The playbooks new tasks run with: those loaded, with each active registry version in
    /// place of the loaded one of its name (a promoted proposal), and a retired class-specific
    /// one left out.
    pub fn effective(&self, loaded: &Playbooks) -> Playbooks {
        let mut playbooks = loaded.clone();
        for version in self.versions.iter().filter(|v| v.artifact == Artifact::Playbook) {
            let in_use = playbooks.get(&version.name).is_some_and(|p| p.version == version.hash);
            match version.status {
                VersionStatus::Active if !in_use => {
                    if let Ok(playbook) = Playbook::parse(&version.text, &format!("registry {}", version.short())) {
                        playbooks.insert(playbook);
                    }
                }
                VersionStatus::Retired if in_use && self.active(Artifact::Playbook, &version.name).is_none() => {
                    playbooks.remove(&version.name);
                }
                _ => {}
            }
        }
        playbooks
    }

    /// The events that carry out `edit`. Promotion, retirement and rollback are a human's only.
    pub fn edit_events(
        &mut self,
        edit: RegistryEdit,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Vec<NewEvent>, EngineError> {
        let human = |what: &str| {
            if matches!(actor, Actor::Human { .. }) {
                Ok(())
            } else {
                refused(format!("only a person may {what}; Ambidex never does it on its own ({actor} asked)"))
            }
        };
        match edit {
            RegistryEdit::Propose { text, summary } => {
                let author = match actor {
                    Actor::Human { name } => Author::Person { name: name.clone().unwrap_or_else(|| "a person".into()) },
                    other => Author::Person { name: other.to_string() },
                };
                let version = self.proposal(&text, author, summary, now)?;
                Ok(vec![changed(PlaybookChange::Proposed, &version, actor)])
            }
            RegistryEdit::Evaluated { version, evaluation } => {
                let mut version = self.find(&version)?.clone();
                version.evaluation = Some(evaluation);
                self.put(version.clone());
                Ok(vec![changed(PlaybookChange::Evaluated, &version, actor)])
            }
            RegistryEdit::Promote { version, note } => {
                human("promote a playbook version")?;
                let mut version = self.find(&version)?.clone();
                if version.status != VersionStatus::Proposed {
                    return refused(format!(
                        "version {} is {}: only a proposal can be promoted",
                        version.short(),
                        version.status
                    ));
                }
                if version.evaluation.is_none() {
                    return refused(format!(
                        "version {} has no shadow evaluation: run `ambidex playbook evaluate {}` first, so the \
                         promotion gate has evidence to show",
                        version.short(),
                        version.short()
                    ));
                }
                version.decision = Some(decided("promoted", actor, &note));
                Ok(self.activate(version, PlaybookChange::Promoted, actor))
            }
            RegistryEdit::Reject { version, reason } => {
                let mut version = self.find(&version)?.clone();
                if version.status != VersionStatus::Proposed {
                    return refused(format!(
                        "version {} is {}: only a proposal can be rejected",
                        version.short(),
                        version.status
                    ));
                }
                version.status = VersionStatus::Rejected;
                version.decision = Some(decided("rejected", actor, &reason));
                self.put(version.clone());
                Ok(vec![changed(PlaybookChange::Rejected, &version, actor)])
            }
            RegistryEdit::Retire { version, reason } => {
                human("retire a playbook version")?;
                let version = self.find(&version)?.clone();
                if version.status != VersionStatus::Active {
                    return refused(format!(
                        "version {} is {}: only an active version can be retired",
                        version.short(),
                        version.status
                    ));
                }
                Ok(self.retire(version, &decided("retired", actor, &reason), actor))
            }
            RegistryEdit::Rollback { class } => {
                human("roll a playbook back")?;
                let Some(current) = self.active_for(class).cloned() else {
                    return refused(format!("no active playbook serves {class} tasks"));
                };
                let restores = current.parent.as_deref().and_then(|p| self.get(p)).filter(|p| p.name == current.name);
                let next = restores.map(|p| p.short().to_owned());
                if next.is_none()
                    && self.versions.iter().filter(|v| v.status == VersionStatus::Active && v.serves(class)).count() < 2
                {
                    return refused(format!(
                        "{} {} is the only version {class} tasks could run with: there is nothing to roll back to",
                        current.name,
                        current.short()
                    ));
                }
                Ok(self.retire(current, &decided("rolled back", actor, ""), actor))
            }
        }
    }

    /// Retires `version`; its parent of the same name, when retired, becomes active again.
    fn retire(&mut self, mut version: PlaybookVersion, why: &str, actor: &Actor) -> Vec<NewEvent> {
        version.status = VersionStatus::Retired;
        version.decision = Some(why.to_owned());
        version.retirement.clear();
        self.put(version.clone());
        let mut events = vec![changed(PlaybookChange::Retired, &version, actor)];
        let parent = version.parent.as_deref().and_then(|p| self.get(p)).cloned();
        if let Some(mut parent) = parent.filter(|p| p.name == version.name && p.status == VersionStatus::Retired) {
            parent.status = VersionStatus::Active;
            parent.decision = Some(format!("restored: {why}"));
            self.put(parent.clone());
            events.push(changed(PlaybookChange::Restored, &parent, actor));
        }
        events
    }

    /// A checked proposal of a production playbook's `text`: its parent is the active version
    /// of its name or, for a new name, the active version serving its first class.
    fn proposal(
        &mut self,
        text: &str,
        author: Author,
        summary: String,
        now: Timestamp,
    ) -> Result<PlaybookVersion, EngineError> {
        if text.len() > MAX_TEXT {
            return refused(format!("the proposal is {} bytes; at most {MAX_TEXT} are accepted", text.len()));
        }
        let playbook = Playbook::parse(text, "the proposal").map_err(|err| EngineError::Refused(err.to_string()))?;
        if let Some(held) = self.get(&playbook.version) {
            return refused(format!("this text is already version {} ({})", held.short(), held.status));
        }
        let parent = self
            .active(Artifact::Playbook, &playbook.name)
            .or_else(|| playbook.kinds.first().and_then(|&class| self.active_for(class)))
            .map(|v| v.hash.clone());
        let version = PlaybookVersion {
            hash: playbook.version.clone(),
            artifact: Artifact::Playbook,
            name: playbook.name,
            classes: playbook.kinds,
            parent,
            author,
            summary,
            created: now,
            status: VersionStatus::Proposed,
            decision: None,
            evaluation: None,
            retirement: Vec::new(),
            text: text.to_owned(),
        };
        self.put(version.clone());
        Ok(version)
    }

    /// The proposal of `strategy` as `class`'s production playbook after it won `tasks`, unless
    /// one was made for it already: the active playbook for the class, narrowed to the class,
    /// with the strategy's brief at the head of its implementation stage's prompt.
    pub fn strategy_proposal(
        &mut self,
        playbooks: &Playbooks,
        strategy: &Strategy,
        class: TaskKind,
        tasks: Vec<TaskId>,
        now: Timestamp,
    ) -> Option<NewEvent> {
        let name = format!("{}_{}", class.as_str(), strategy.name);
        if self.versions.iter().any(|v| v.name == name && v.status != VersionStatus::Retired) {
            return None;
        }
        let base = playbooks.for_kind(class)?;
        let text = derive_text(base, &name, class, strategy)?;
        let summary = format!(
            "the Left Hand's {} strategy won the promotion gate on {} {class} tasks; proposed as the {class} playbook",
            strategy.name,
            tasks.len()
        );
        let author = Author::Strategy { strategy: strategy.name.clone(), class, tasks };
        let mut version = self.proposal(&text, author, summary, now).ok()?;
        if version.parent.is_none() {
            version.parent = self.get(&base.version).map(|v| v.hash.clone());
            self.put(version.clone());
        }
        Some(changed(PlaybookChange::Proposed, &version, &Actor::Orchestrator))
    }
}

/// A version the engine loaded from a file.
struct Loaded<'a> {
    artifact: Artifact,
    name: &'a str,
    classes: Vec<TaskKind>,
    hash: &'a str,
    text: &'a str,
    origin: &'a str,
}

fn decided(what: &str, actor: &Actor, note: &str) -> String {
    if note.trim().is_empty() { format!("{what} by {actor}") } else { format!("{what} by {actor}: {}", note.trim()) }
}

/// `base`'s text renamed to `name`, serving `class` only, with the strategy's brief first in the
/// implementation stage's prompt; `None` when the edit does not give a playbook that says so.
fn derive_text(base: &Playbook, name: &str, class: TaskKind, strategy: &Strategy) -> Option<String> {
    let mut table: toml::Table = toml::from_str(&base.text).ok()?;
    table.insert("name".into(), toml::Value::String(name.to_owned()));
    table.insert("kinds".into(), toml::Value::Array(vec![toml::Value::String(class.as_str().to_owned())]));
    table.insert(
        "description".into(),
        toml::Value::String(format!("{} — with the Left Hand's {} strategy", base.description, strategy.name)),
    );
    let implement = base.first_of(StageKind::Implement)?.name.clone();
    let stages = table.get_mut("stage")?.as_array_mut()?;
    let stage = stages.iter_mut().find(|s| s.get("name").and_then(toml::Value::as_str) == Some(implement.as_str()))?;
    let prompt = stage.get("prompt").and_then(toml::Value::as_str).unwrap_or_default().to_owned();
    let brief = strategy.brief.trim();
    stage.as_table_mut()?.insert(
        "prompt".into(),
        toml::Value::String(format!("Work this way (the {} strategy):\n{brief}\n\n{prompt}", strategy.name)),
    );
    let text = format!(
        "# Proposed by Ambidex from the Left Hand's `{}` strategy, derived from {} {}.\n{}",
        strategy.name,
        base.name,
        base.version.get(..12).unwrap_or(&base.version),
        toml::to_string(&table).ok()?
    );
    let derived = Playbook::parse(&text, "the derived proposal").ok()?;
    let prompt = &derived.first_of(StageKind::Implement)?.prompt;
    (derived.name == name && derived.kinds == [class] && prompt.contains(brief)).then_some(text)
}

/// The strategy named `name` in the exploration playbook.
pub fn strategy<'a>(left: &'a LeftHand, name: &str) -> Option<&'a Strategy> {
    left.strategies.iter().find(|s| s.name == name)
}

impl Engine {
    /// The playbook registry.
    pub fn registry(&self) -> Result<Registry, EngineError> {
        Ok(Registry::new(self.reader().playbooks()?))
    }

    /// The exact playbook version `task` recorded (from the files loaded, or the registry when
    /// a promotion or rollback changed what is loaded since); for a task without one, the
    /// playbook new tasks of its class run with.
    pub(crate) fn playbook_for(
        &self,
        setup: &EngineSetup,
        task: &Task,
        class: TaskKind,
    ) -> Result<Playbook, EngineError> {
        let registry = self.registry()?;
        if let Some(recorded) = &task.playbook {
            if let Some(loaded) = setup.playbooks.get(&recorded.name).filter(|p| p.version == recorded.version) {
                return Ok(loaded.clone());
            }
            if let Some(version) = registry.get(&recorded.version) {
                return Playbook::parse(&version.text, &format!("registry {}", version.short()))
                    .map_err(|err| EngineError::Refused(err.to_string()));
            }
        }
        let effective = registry.effective(&setup.playbooks);
        task.playbook
            .as_ref()
            .and_then(|recorded| effective.get(&recorded.name))
            .or_else(|| effective.for_kind(class))
            .cloned()
            .ok_or_else(|| EngineError::Refused(format!("no playbook for task kind {class}")))
    }

    /// Proposes each strategy that has won the promotion gate on `[learning] proposal_wins`
    /// tasks of `class` as that class's playbook, once.
    pub async fn propose_from_wins(&self, class: TaskKind) -> Result<Vec<NewEvent>, EngineError> {
        let Ok(setup) = self.setup() else { return Ok(Vec::new()) };
        let wins = {
            let mut fold = super::lock(&self.metrics);
            fold.catch_up(&self.reader())?;
            fold.strategy_wins(class)
        };
        let needed = setup.policy.learning.proposal_wins.max(1) as usize;
        let mut registry = self.registry()?;
        let effective = registry.effective(&setup.playbooks);
        let now = Timestamp::now();
        let events: Vec<NewEvent> = wins
            .into_iter()
            .filter(|(_, tasks)| tasks.len() >= needed)
            .filter_map(|(name, tasks)| {
                let strategy = strategy(&effective.left_hand, &name)?;
                registry.strategy_proposal(&effective, strategy, class, tasks, now)
            })
            .collect();
        self.append(events.clone()).await?;
        Ok(events)
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
