//! SQLite's write gate: one writer at a time in this process, in the order they came.
//!
//! SQLite has one writer at a time. Queueing writers here instead of letting them collide on
//! the database lock (where SQLite's busy handler sleeps and retries) keeps write latency flat
//! under load. Every connection of this store that writes takes a [`Turn`] first: sqlx's
//! (through `sql::Write`), the work thread's committer and the checkpointer. Other processes
//! still meet `busy_timeout`. PostgreSQL has no gate.

use std::sync::Arc;

#[derive(Clone, Default)]
pub(crate) struct WriteGate(Arc<tokio::sync::Mutex<()>>);

/// This writer's turn: the others wait until it is dropped.
pub(crate) struct Turn(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>);

impl WriteGate {
    pub(crate) async fn turn(&self) -> Turn {
        Turn(self.0.clone().lock_owned().await)
    }
}
