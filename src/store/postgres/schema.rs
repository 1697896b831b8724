//! The PostgreSQL schema, as numbered migrations applied in order under an advisory lock, so
//! that many processes opening one database at once upgrade it exactly once.
//!
//! The tables mirror the redb ones: the hash-chained log with each event's stored record (the
//! same bytes redb keeps, so both backends verify alike), the task projections with the columns
//! their indexes need, and one table of keyed records for the other projections.

use postgres::Client;

use super::super::migrate::StoreMigration;

/// The migrations, oldest first; the number of each is its place in this list, counted from 1.
/// Never change one that has shipped: add the next.
const MIGRATIONS: &[&str] = &[
    // 1. The first format.
    r#"
    CREATE TABLE ambidex_events (
        seq bigint PRIMARY KEY,
        task bytea,
        record bytea NOT NULL
    );
    CREATE INDEX ambidex_events_task ON ambidex_events (task, seq) WHERE task IS NOT NULL;
    CREATE TABLE ambidex_head (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        seq bigint NOT NULL,
        hash bytea NOT NULL,
        last_at text NOT NULL,
        memory_version bigint NOT NULL
    );
    INSERT INTO ambidex_head (seq, hash, last_at, memory_version)
        VALUES (0, decode(repeat('00', 32), 'hex'), '1970-01-01T00:00:00Z', 0);
    CREATE TABLE ambidex_tasks (
        id bytea PRIMARY KEY,
        status text NOT NULL,
        repo text,
        settled boolean NOT NULL,
        has_worktrees boolean NOT NULL,
        title_words text[] NOT NULL,
        body bytea NOT NULL
    );
    CREATE INDEX ambidex_tasks_under_way ON ambidex_tasks (id) WHERE NOT settled;
    CREATE INDEX ambidex_tasks_with_worktrees ON ambidex_tasks (id) WHERE has_worktrees;
    CREATE INDEX ambidex_tasks_title_words ON ambidex_tasks USING gin (title_words);
    CREATE TABLE ambidex_records (
        kind text NOT NULL,
        key bytea NOT NULL,
        body bytea NOT NULL,
        PRIMARY KEY (kind, key)
    );
    "#,
    // 2. Leases: which worker runs which task, until when (the shared work queue).
    r#"
    CREATE TABLE ambidex_leases (
        task bytea PRIMARY KEY,
        worker text NOT NULL,
        expires_at timestamptz NOT NULL
    );
    CREATE INDEX ambidex_leases_worker ON ambidex_leases (worker);
    "#,
];

/// The schema this build writes.
pub(crate) const SCHEMA_VERSION: u64 = MIGRATIONS.len() as u64;

/// What opening found.
pub(crate) enum Prepared {
    /// The schema is this build's (upgraded now when `migrations` is not empty).
    Current { migrations: Vec<StoreMigration> },
    /// A newer build wrote it.
    Newer { found: u64 },
}

/// Creates or upgrades the schema in one transaction.
pub(crate) fn prepare(client: &mut Client) -> Result<Prepared, postgres::Error> {
    let mut txn = client.transaction()?;
    // One opener at a time: the others wait here, then find the schema current.
    txn.execute("SELECT pg_advisory_xact_lock(hashtext('ambidex_schema'))", &[])?;
    txn.batch_execute(
        "CREATE TABLE IF NOT EXISTS ambidex_migrations (version bigint PRIMARY KEY, applied_at text NOT NULL)",
    )?;
    let found: i64 = txn.query_one("SELECT coalesce(max(version), 0) FROM ambidex_migrations", &[])?.get(0);
    let found = found as u64;
    if found > SCHEMA_VERSION {
        return Ok(Prepared::Newer { found });
    }
    let mut migrations = Vec::new();
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as u64 + 1;
        txn.batch_execute(sql)?;
        let at = jiff::Timestamp::now();
        txn.execute(
            "INSERT INTO ambidex_migrations (version, applied_at) VALUES ($1, $2)",
            &[&(version as i64), &at.to_string()],
        )?;
        migrations.push(StoreMigration { from: version - 1, to: version, at, events: 0, tasks: 0 });
    }
    txn.commit()?;
    Ok(Prepared::Current { migrations })
}

/// The migrations this database went through, oldest first.
pub(crate) fn history(client: &mut Client) -> Result<Vec<StoreMigration>, postgres::Error> {
    let rows = client.query("SELECT version, applied_at FROM ambidex_migrations ORDER BY version", &[])?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let version = row.get::<_, i64>(0) as u64;
            let at = row.get::<_, String>(1).parse().ok()?;
            Some(StoreMigration { from: version - 1, to: version, at, events: 0, tasks: 0 })
        })
        .collect())
}
