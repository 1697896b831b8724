//! The PostgreSQL backend's read side: each query in one statement or one read-only,
//! repeatable-read transaction, so it sees one committed state like a redb snapshot.

use std::sync::Arc;

use postgres::{Client, IsolationLevel, Row, Transaction};
use serde::de::DeserializeOwned;

use super::super::error::StoreError;
use super::super::migrate::StoreMigration;
use super::super::page::{MAX_PAGE, TaskPage, TaskQuery};
use super::super::read::{SIMILAR_MAX, SIMILAR_PER_WORD};
use super::super::record;
use super::super::snapshots::Snapshots;
use super::super::verify::{ChainWalk, Verification};
use super::super::writer::Head;
use super::connection::{Connection, PgFailure};
use super::{RecordKind, id_bytes, task_id};
use crate::domain::{Task, TaskBrief, TaskWorktrees, title_words};
use crate::protocol::{AutonomyState, Digest, Event, Exhibit, MemoryEntry, PlaybookVersion, TaskId};

/// Events read per round trip while walking the chain.
const VERIFY_CHUNK: i32 = 10_000;

/// Reads of one PostgreSQL store.
#[derive(Clone)]
pub(crate) struct PgSnapshots {
    pub(crate) connection: Arc<Connection>,
}

/// Decodes a stored JSON value; `what` names it in the error.
fn decode<T: DeserializeOwned>(bytes: &[u8], what: impl FnOnce() -> String) -> Result<T, PgFailure> {
    serde_json::from_slice(bytes).map_err(|err| PgFailure::Damaged(format!("{}: {err}", what())))
}

/// A task projection row's body, decoded as `T` (the task or a part of it).
pub(crate) fn projection<T: DeserializeOwned>(row: &Row, id_column: usize, body_column: usize) -> Result<T, PgFailure> {
    let id: Vec<u8> = row.get(id_column);
    decode(row.get(body_column), || match task_id(&id) {
        Ok(id) => format!("projection of task {id}"),
        Err(_) => "a task projection".into(),
    })
}

pub(crate) fn event(row: &Row) -> Result<Event, PgFailure> {
    let seq: i64 = row.get(0);
    record::decode(row.get(1)).map_err(|err| PgFailure::Damaged(format!("event #{seq}: {err}")))
}

fn snapshot(client: &mut Client) -> Result<Transaction<'_>, postgres::Error> {
    client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start()
}

pub(crate) fn head(client: &mut impl postgres::GenericClient) -> Result<Head, PgFailure> {
    head_of(&client.query_one("SELECT seq, hash FROM ambidex_head", &[])?)
}

/// The head in a row whose first columns are `seq, hash`.
pub(crate) fn head_of(row: &Row) -> Result<Head, PgFailure> {
    let hash: Vec<u8> = row.get(1);
    let hash: [u8; 32] = hash.try_into().map_err(|_| PgFailure::Damaged("the recorded head's hash".into()))?;
    Ok(Head { seq: row.get::<_, i64>(0) as u64, hash: Digest(hash) })
}

fn records<T: DeserializeOwned>(client: &mut Client, kind: RecordKind) -> Result<Vec<T>, PgFailure> {
    let rows = client.query("SELECT body FROM ambidex_records WHERE kind = $1 ORDER BY key", &[&kind.as_str()])?;
    rows.iter().map(|row| decode(row.get(0), || format!("a {} record", kind.as_str()))).collect()
}

fn tasks_where(client: &mut Client, filter: &str) -> Result<Vec<Task>, PgFailure> {
    let rows = client.query(&format!("SELECT id, body FROM ambidex_tasks {filter} ORDER BY id"), &[])?;
    rows.iter().map(|row| projection(row, 0, 1)).collect()
}

impl PgSnapshots {
    fn run<T: Send + 'static>(
        &self,
        query: impl Fn(&mut Client) -> Result<T, PgFailure> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.connection.run(query)
    }
}

impl Snapshots for PgSnapshots {
    fn migrations(&self) -> Result<Vec<StoreMigration>, StoreError> {
        self.run(|client| Ok(super::schema::history(client)?))
    }

    fn head(&self) -> Result<Head, StoreError> {
        self.run(head)
    }

    fn tasks(&self) -> Result<Vec<Task>, StoreError> {
        self.run(|client| tasks_where(client, ""))
    }

    fn unfinished_tasks(&self) -> Result<Vec<Task>, StoreError> {
        self.run(|client| tasks_where(client, "WHERE NOT settled"))
    }

    fn task_ids(&self) -> Result<Vec<TaskId>, StoreError> {
        self.run(|client| {
            let rows = client.query("SELECT id FROM ambidex_tasks ORDER BY id", &[])?;
            rows.iter().map(|row| task_id(row.get(0))).collect()
        })
    }

    fn task_worktrees(&self) -> Result<Vec<TaskWorktrees>, StoreError> {
        self.run(|client| {
            let rows = client.query("SELECT id, body FROM ambidex_tasks WHERE has_worktrees ORDER BY id", &[])?;
            rows.iter().map(|row| projection(row, 0, 1)).collect()
        })
    }

    fn current_tasks(&self, finished: usize) -> Result<Vec<Task>, StoreError> {
        self.run(move |client| {
            let mut txn = snapshot(client)?;
            let rows = txn.query(
                "(SELECT id, body FROM ambidex_tasks WHERE NOT settled) \
                 UNION ALL (SELECT id, body FROM ambidex_tasks WHERE settled ORDER BY id DESC LIMIT $1) \
                 ORDER BY id",
                &[&(finished as i64)],
            )?;
            txn.commit()?;
            rows.iter().map(|row| projection(row, 0, 1)).collect()
        })
    }

    fn task_page(&self, query: &TaskQuery) -> Result<TaskPage, StoreError> {
        let query = query.clone();
        self.run(move |client| {
            let limit = if query.limit == 0 { MAX_PAGE } else { query.limit.min(MAX_PAGE) };
            let before = query.before.map(id_bytes);
            let statuses: Vec<String> = query.statuses.iter().map(|status| super::status_name(*status)).collect();
            let mut txn = snapshot(client)?;
            let total: i64 = txn.query_one("SELECT count(*) FROM ambidex_tasks", &[])?.get(0);
            let rows = txn.query(
                "SELECT id, body FROM ambidex_tasks \
                 WHERE ($1::bytea IS NULL OR id < $1) \
                   AND (cardinality($2::text[]) = 0 OR status = ANY($2)) \
                   AND ($3::text IS NULL OR repo = $3) \
                 ORDER BY id DESC LIMIT $4",
                &[&before, &statuses, &query.repo, &(limit as i64 + 1)],
            )?;
            txn.commit()?;
            let mut page = TaskPage { total: total as u64, ..TaskPage::default() };
            for row in &rows {
                if page.tasks.len() == limit {
                    page.next = page.tasks.last().map(|task: &Task| task.id);
                    break;
                }
                page.tasks.push(projection(row, 0, 1)?);
            }
            Ok(page)
        })
    }

    fn similar_tasks(&self, title: &str) -> Result<Vec<TaskBrief>, StoreError> {
        let words: Vec<String> = title_words(title).into_iter().collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        self.run(move |client| {
            let rows = client.query(
                "SELECT id, body, cardinality(ARRAY(SELECT unnest(title_words) INTERSECT SELECT unnest($1::text[]))) \
                 FROM ambidex_tasks WHERE title_words && $1 ORDER BY id DESC LIMIT $2",
                &[&words, &((SIMILAR_PER_WORD * words.len()) as i64)],
            )?;
            let mut out = Vec::new();
            for row in rows.iter().filter(|row| 2 * row.get::<_, i32>(2) as usize >= words.len()).take(SIMILAR_MAX) {
                out.push(projection(row, 0, 1)?);
            }
            Ok(out)
        })
    }

    fn setup_network(&self, repo: &str) -> Result<Option<Vec<String>>, StoreError> {
        let key = repo.as_bytes().to_vec();
        self.run(move |client| {
            let row = client.query_opt(
                "SELECT body FROM ambidex_records WHERE kind = $1 AND key = $2",
                &[&RecordKind::SetupNetwork.as_str(), &key],
            )?;
            // An allowance that does not read is no allowance: the gate asks again.
            Ok(row.and_then(|row| serde_json::from_slice(row.get(0)).ok()))
        })
    }

    fn memory(&self) -> Result<Vec<MemoryEntry>, StoreError> {
        self.run(|client| records(client, RecordKind::Memory))
    }

    fn museum(&self) -> Result<Vec<Exhibit>, StoreError> {
        self.run(|client| records(client, RecordKind::Museum))
    }

    fn playbooks(&self) -> Result<Vec<PlaybookVersion>, StoreError> {
        let mut versions: Vec<PlaybookVersion> = self.run(|client| records(client, RecordKind::Playbook))?;
        versions.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.hash.cmp(&b.hash)));
        Ok(versions)
    }

    fn autonomy(&self) -> Result<Vec<AutonomyState>, StoreError> {
        let mut states: Vec<AutonomyState> = self.run(|client| records(client, RecordKind::Autonomy))?;
        states.sort_by_key(|state| state.class);
        Ok(states)
    }

    fn memory_version(&self) -> Result<u64, StoreError> {
        self.run(|client| Ok(client.query_one("SELECT memory_version FROM ambidex_head", &[])?.get::<_, i64>(0) as u64))
    }

    fn task(&self, id: TaskId) -> Result<Option<Task>, StoreError> {
        self.run(move |client| {
            let row = client.query_opt("SELECT id, body FROM ambidex_tasks WHERE id = $1", &[&id_bytes(id)])?;
            row.map(|row| projection(&row, 0, 1)).transpose()
        })
    }

    fn task_ids_matching(&self, fragment: &str) -> Result<Vec<TaskId>, StoreError> {
        let ids = self.task_ids()?;
        Ok(ids.into_iter().filter(|id| id.matches_suffix(fragment)).collect())
    }

    fn task_events(&self, id: TaskId) -> Result<Vec<Event>, StoreError> {
        self.run(move |client| {
            let rows = client
                .query("SELECT seq, record FROM ambidex_events WHERE task = $1 ORDER BY seq", &[&id_bytes(id)])?;
            rows.iter().map(event).collect()
        })
    }

    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |client| {
            let rows = client.query(
                "SELECT seq, record FROM ambidex_events WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&(after.min(i64::MAX as u64) as i64), &limit],
            )?;
            rows.iter().map(event).collect()
        })
    }

    fn verify(&self) -> Result<Verification, StoreError> {
        self.run(|client| {
            let mut txn = snapshot(client)?;
            let statement = txn.prepare("SELECT seq, record FROM ambidex_events ORDER BY seq")?;
            let portal = txn.bind(&statement, &[])?;
            let mut walk = ChainWalk::default();
            loop {
                let rows = txn.query_portal(&portal, VERIFY_CHUNK)?;
                for row in &rows {
                    if let Some(broken) = walk.step(row.get::<_, i64>(0) as u64, row.get(1)) {
                        return Ok(broken);
                    }
                }
                if rows.len() < VERIFY_CHUNK as usize {
                    break;
                }
            }
            let head = head(&mut txn)?;
            txn.commit()?;
            Ok(walk.finish(head))
        })
    }
}
