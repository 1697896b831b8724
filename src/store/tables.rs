//! The redb tables and the schema version that describes them.
//!
//! Keys are fixed-width integers (sequence numbers, ULIDs as `u128`) so that redb's ordering is
//! the log's order; values are JSON, except event records (see [`super::record`]).

use redb::TableDefinition;

/// The schema this build writes. Bump it when a table's format changes; a store with an older
/// schema is upgraded when it is opened ([`super::migrate`]).
///
/// 1. The first format.
/// 2. Task projections name their parts (`playbook`, `validation`, `exploration.matrix`,
///    `exploration.adopted` were JSON arrays); upgraded by rebuilding the projections from the log.
/// 3. The title-word index ([`TITLE_WORDS`]) and the tasks under way ([`ACTIVE`]); built with
///    the projections.
/// 4. Worktrees say whether their setup step succeeded (`set_up`), tasks which memory version
///    their agents saw; the setups allowed the network ([`SETUP_NETWORK`]) and the repository
///    memory ([`MEMORY`]) are tables of their own; rebuilt from the log.
/// 5. The tasks that have worktrees ([`WITH_WORKTREES`]); built with the projections. Task
///    projections hold their PR's CI checks (`ci`).
pub const SCHEMA_VERSION: u64 = 5;

/// seq → event record (version byte, prev hash, hash, canonical JSON body).
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

/// task id → task projection (JSON).
pub const TASKS: TableDefinition<u128, &[u8]> = TableDefinition::new("tasks");

/// (task id, seq) → (): the events of each task, in order, without scanning the log.
pub const TASK_EVENTS: TableDefinition<(u128, u64), ()> = TableDefinition::new("task_events");

/// (title word, task id) → (): the tasks whose title has each significant word
/// ([`crate::domain::title_words`]), so that a new task's similar ones are found without reading
/// every task.
pub const TITLE_WORDS: TableDefinition<(&str, u128), ()> = TableDefinition::new("title_words");

/// task id → (): the tasks not in a final state, so that what is under way is found without
/// reading the history.
pub const ACTIVE: TableDefinition<u128, ()> = TableDefinition::new("active");

/// task id → (): the tasks that have worktrees, so that an engine's start compares them with git
/// and the disk without reading the history.
pub const WITH_WORKTREES: TableDefinition<u128, ()> = TableDefinition::new("with_worktrees");

/// repository → the setup commands (JSON list) a human allowed the network to
/// ([`crate::protocol::EventKind::SetupNetworkAllowed`]), the latest allowance; rebuilt from the
/// log with the projections.
pub const SETUP_NETWORK: TableDefinition<&str, &[u8]> = TableDefinition::new("setup_network");

/// memory entry id → the entry's latest state (JSON), from
/// [`crate::protocol::EventKind::MemoryChanged`]; rebuilt from the log with the projections.
pub const MEMORY: TableDefinition<u128, &[u8]> = TableDefinition::new("memory");

/// exhibit id → the exhibit's latest state (JSON), from
/// [`crate::protocol::EventKind::ExhibitChanged`]; rebuilt from the log with the projections. A
/// store from before the museum has no such events, so it needs no upgrade: the table starts
/// empty.
pub const MUSEUM: TableDefinition<u128, &[u8]> = TableDefinition::new("museum");

/// version hash → the playbook or policy version's latest state (JSON), from
/// [`crate::protocol::EventKind::PlaybookChanged`]; rebuilt from the log with the projections. A
/// store from before the registry starts with it empty.
pub const PLAYBOOKS: TableDefinition<&str, &[u8]> = TableDefinition::new("playbooks");

/// task class → its autonomy's latest state (JSON), from
/// [`crate::protocol::EventKind::AutonomyChanged`]; rebuilt from the log with the projections.
pub const AUTONOMY: TableDefinition<&str, &[u8]> = TableDefinition::new("autonomy");

/// `META` key of the memory's version: the seq (u64, big-endian) of its last change.
pub const META_MEMORY_VERSION: &str = "memory_version";

/// Small named values: the schema version and the head of the chain.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// `META` key of the schema version (u64, big-endian).
pub const META_SCHEMA: &str = "schema_version";

/// `META` key of the upgrades the store went through (a JSON list of `StoreMigration`).
pub const META_MIGRATIONS: &str = "migrations";

/// `META` key of the head: the last seq (u64, big-endian) followed by its hash (32 bytes).
pub const META_HEAD: &str = "head";
