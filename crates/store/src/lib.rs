//! The [`Store`](packbench_core::ports::Store) port on SQLite and PostgreSQL.
//!
//! One implementation serves both databases through sqlx's `Any` driver (the bench's hot path
//! uses each database's own, in `fast`: `sqlite_work` for SQLite, `pg_connections` for
//! PostgreSQL): the SQL is written once in the subset both dialects share (`$n` parameters,
//! `on conflict`, `returning`, `bigint` columns, timestamps as epoch milliseconds), and each
//! dialect has its own migrations under `migrations/`. Queries are checked at run time, so
//! building needs no database. `sql` is the plain SQL, one file per role of the port; `fast`
//! is the throughput layer.
//!
//! Concurrency rules, which hold on both databases:
//! - a write transaction starts with a write statement (never read-then-write), so SQLite
//!   takes its write lock at once and waits on `busy_timeout` instead of failing;
//! - a transition names the order version it read (optimistic locking): of two operators acting
//!   on one order at once, exactly one update matches and the other gets a conflict;
//! - locks are taken in one order: order row, then the tenant's stock counter, then stock rows;
//! - every write that changes an order's columns or lines moves its version on; operations
//!   may start from the state this store last read or wrote (`fast::order_cache`), which that
//!   version check keeps honest;
//! - a transition that moves no stock is committed with the others waiting by then
//!   (`fast::sqlite_work`, `fast::pg_group_commit`) and answered only after that commit; so is
//!   a claim (`fast::pg_group_claim`, one statement for every claim of a tenant waiting).

mod fast;
mod gate;
mod rows;
mod sealed;
mod sql;
pub mod testing;

pub use sealed::{KeyError, SealError, SecretKey};
pub use sql::{Backend, Paths, SqlStore};

use sqlx::migrate::Migrator;

/// The database URL of the SQLite file at `path`, on every OS. A Windows path goes with `/`
/// and without `//` (`sqlite:C:/Users/Ann Lee/...`): in `sqlite://C:\Users\...` sqlx takes
/// `C` for a host, and the file does not open.
pub fn sqlite_url(path: &std::path::Path) -> String {
    let path = path.to_string_lossy();
    if cfg!(windows) {
        format!("sqlite:{}", path.replace('\\', "/"))
    } else {
        format!("sqlite://{path}")
    }
}

/// The SQLite schema.
pub static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");
/// The PostgreSQL schema.
pub static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Each database's schema history has the same migrations by name (numbers may differ:
    /// `migrations/README.md`), so a change made on one is not forgotten on the other.
    #[test]
    fn migrations_have_twins() {
        let names = |m: &Migrator| -> BTreeSet<String> {
            m.iter().map(|m| m.description.to_string()).collect()
        };
        let (sqlite, postgres) = (names(&SQLITE_MIGRATOR), names(&POSTGRES_MIGRATOR));
        assert_eq!(
            sqlite.symmetric_difference(&postgres).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "migrations without a twin"
        );
    }
}
