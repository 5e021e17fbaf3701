//! SQLite: one connection of our own, on its own thread, that runs a whole write per hand-off.
//!
//! sqlx's SQLite driver runs each connection on a worker thread and hands every statement to it
//! and back; a transition (begin, the order, its lines, the event, commit) was five hand-offs,
//! and under load those thread wake-ups were the hub's biggest cost. Here a job is a closure
//! over a `rusqlite::Connection` (rusqlite 0.32 links the same libsqlite3-sys as sqlx 0.8), run
//! on this thread, answered through a oneshot. Writers still queue on the store's async gate,
//! so this connection and sqlx's never wait on SQLite's busy handler for each other.

use packbench_core::ports::StoreError;

type Job = Box<dyn FnOnce(&mut rusqlite::Connection) + Send>;

pub(crate) struct SqliteWriter {
    jobs: std::sync::mpsc::Sender<Job>,
}

pub(crate) fn sqlite_err(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, ref m)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(m.clone().unwrap_or_default())
        }
        other => StoreError::Backend(Box::new(other)),
    }
}

impl SqliteWriter {
    pub(crate) fn open(path: &str) -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open(path).map_err(sqlite_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sqlite_err)?;
        conn.execute_batch(
            "pragma synchronous = normal; pragma foreign_keys = on; pragma wal_autocheckpoint = 0;",
        )
        .map_err(sqlite_err)?;
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("packbench-sqlite-writer".into())
            .spawn(move || {
                let mut conn = conn;
                for job in rx {
                    job(&mut conn);
                }
            })
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        Ok(Self { jobs: tx })
    }

    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |c| {
                let _ = tx.send(f(c));
            }))
            .map_err(|_| StoreError::Backend("the SQLite writer stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Backend("the SQLite writer stopped".into()))
    }
}
