//! SQLite: one connection of our own, on its own thread, for the bench's hot path: a whole
//! unit of work per hand-off, and the writes of everyone waiting committed together.
//!
//! sqlx's SQLite driver runs each connection on a worker thread and hands every statement to it
//! and back; a transition (begin, the order, its lines, the event, commit) was five hand-offs,
//! and under load those thread wake-ups were the hub's biggest cost. Here a job is a closure
//! over a `rusqlite::Connection` (rusqlite 0.32 links the same libsqlite3-sys as sqlx 0.8), run
//! on this thread, answered through a oneshot.
//!
//! Reads ([`WorkThread::run`]): the order and stock on hand an operation starts from. They
//! matter as much as the writes: in WAL mode a connection throws its page cache away whenever
//! another connection has committed, so reading on sqlx's pool after every write re-read the
//! same pages from the file. This connection makes the bench's writes, so its cache stays warm.
//!
//! Writes ([`WorkThread::write`]): transitions that move no stock, and claims. They queue for
//! the committer, which takes the store's write gate (so this connection and sqlx's never meet
//! SQLite's busy handler), then runs every write waiting by then in one transaction, each
//! under a savepoint of its own, and commits once: group commit. A commit has a fixed cost
//! (the log's frames and index, the lock) and appends every page it touched to the log; the
//! writes of one moment share some pages (the event table's last page, the queue index around
//! the orders being worked), so a group costs less than its writes one by one. Under 8
//! clients groups average ~2.5 writes (BENCHMARKS.md). A write is answered only once its
//! group has committed; one that fails is undone alone (its savepoint) and the others still
//! commit.

use packbench_core::domain::Location;

use packbench_core::ports::{OrderToWork, StoreError};
use rusqlite::{Connection, params};

use crate::fast::hot_writes::{Change, Claim, Event};
use crate::gate::WriteGate;
use crate::rows::{self, constraint, sqlite_err};

type Job = Box<dyn FnOnce(&mut rusqlite::Connection) + Send>;

/// A write waiting for its group: given the connection inside the group's transaction (or why
/// the transaction could not begin), it does its work and says how to answer.
type Step = Box<dyn FnOnce(Result<&Connection, &rusqlite::Error>) -> Answer + Send>;

/// Answers a write's caller, given why its group failed to commit, if it did.
type Reply = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;

struct Answer {
    /// Its writes stay in the group (else its savepoint is rolled back).
    kept: bool,
    send: Reply,
}

/// Most writes committed together; more wait for the next group.
const MAX_GROUP: usize = 64;

pub(crate) struct WorkThread {
    jobs: std::sync::mpsc::Sender<Job>,
    steps: tokio::sync::mpsc::UnboundedSender<Step>,
}

/// The same error for each write of a group that shares it.
fn shared_err(e: &rusqlite::Error) -> StoreError {
    match constraint(e) {
        Some(m) => StoreError::Conflict(m),
        None => StoreError::Backend(e.to_string().into()),
    }
}

fn stopped<E>(_: E) -> StoreError {
    StoreError::Backend("the SQLite work thread stopped".into())
}

impl WorkThread {
    /// Opens `path` on a new thread; writes take `gate` while they run. Needs a Tokio runtime
    /// (the committer is a task).
    pub(crate) fn open(path: &str, gate: WriteGate) -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open(path).map_err(sqlite_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sqlite_err)?;
        conn.execute_batch(
            // 16 MB of page cache: the open orders, their lines and stock stay in memory.
            "pragma synchronous = normal; pragma foreign_keys = on; pragma wal_autocheckpoint = 0;
             pragma cache_size = -16000;",
        )
        .map_err(sqlite_err)?;
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("packbench-sqlite-work".into())
            .spawn(move || {
                let mut conn = conn;
                for job in rx {
                    job(&mut conn);
                }
            })
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let (steps, waiting) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(commit_groups(waiting, tx.clone(), gate));
        Ok(Self { jobs: tx, steps })
    }

    /// Runs `f` on the thread, outside any write: for reads, and for the checkpointer (which
    /// holds the write gate itself).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |c| {
                let _ = tx.send(f(c));
            }))
            .map_err(stopped)?;
        rx.await.map_err(stopped)
    }

    /// Runs `f` in the next group's transaction and answers once that has committed. An error
    /// from `f` undoes what `f` wrote, and only that. The caller must not hold the write gate.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, StoreError>>();
        let step: Step = Box::new(move |conn| match conn.map_err(shared_err).and_then(f) {
            Ok(done) => Answer {
                kept: true,
                send: Box::new(move |failed| {
                    let _ = tx.send(match failed {
                        None => Ok(done),
                        Some(e) => Err(shared_err(e)),
                    });
                }),
            },
            Err(e) => Answer {
                kept: false,
                send: Box::new(move |_| {
                    let _ = tx.send(Err(e));
                }),
            },
        });
        self.steps.send(step).map_err(stopped)?;
        rx.await.map_err(stopped)?
    }
}

/// The committer: waits for a write, takes the write gate, gathers every write queued by then
/// and runs them as one group on the work thread. Ends when the store is dropped.
async fn commit_groups(
    mut waiting: tokio::sync::mpsc::UnboundedReceiver<Step>,
    jobs: std::sync::mpsc::Sender<Job>,
    gate: WriteGate,
) {
    while let Some(first) = waiting.recv().await {
        let _turn = gate.turn().await;
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match waiting.try_recv() {
                Ok(step) => group.push(step),
                Err(_) => break,
            }
        }
        let (done, committed) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |c| {
            run_group(c, group);
            let _ = done.send(());
        });
        if jobs.send(job).is_err() {
            break;
        }
        // A job that panicked drops its group: those callers hear that the thread stopped.
        let _ = committed.await;
    }
}

/// One transaction for the whole group; a savepoint per write.
fn run_group(c: &mut Connection, group: Vec<Step>) {
    if let Err(e) = c.execute_batch("begin immediate") {
        for step in group {
            (step(Err(&e)).send)(Some(&e));
        }
        return;
    }
    let mut answers = Vec::with_capacity(group.len());
    let mut broken: Option<rusqlite::Error> = None;
    for step in group {
        let answer = match &broken {
            Some(e) => step(Err(e)),
            None => match c.execute_batch("savepoint step") {
                Err(e) => {
                    let answer = step(Err(&e));
                    broken = Some(e);
                    answer
                }
                Ok(()) => {
                    let answer = step(Ok(c));
                    let closed = if answer.kept {
                        c.execute_batch("release step")
                    } else {
                        c.execute_batch("rollback to step; release step")
                    };
                    if let Err(e) = closed {
                        broken = Some(e);
                    }
                    answer
                }
            },
        };
        answers.push(answer);
    }
    let failed = match broken {
        Some(e) => Some(e),
        None => c.execute_batch("commit").err(),
    };
    if failed.is_some() && !c.is_autocommit() {
        let _ = c.execute_batch("rollback");
    }
    for answer in answers {
        (answer.send)(failed.as_ref());
    }
}

/// One order's rows (`sql` is `ORDER_BY_ID` or, with `stock`, `ORDER_TO_WORK`).
pub(crate) fn order_rows(
    c: &Connection,
    sql: &str,
    stock: bool,
    tenant: &str,
    id: &str,
) -> Result<rows::OrderRows, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(sqlite_err)?;
    let mut found = stmt.query(params![tenant, id]).map_err(sqlite_err)?;
    let mut order = rows::OrderRows::default();
    while let Some(row) = found.next().map_err(sqlite_err)? {
        order.add(row, stock)?;
    }
    Ok(order)
}

/// Stock on hand of one SKU (by its key), per location.
pub(crate) fn on_hand(
    c: &Connection,
    tenant: &str,
    sku_key: &str,
) -> Result<Vec<(Location, i64)>, StoreError> {
    let mut stmt = c
        .prepare_cached("select location, on_hand from stock where tenant_id = ?1 and sku_key = ?2")
        .map_err(sqlite_err)?;
    let mut rows = stmt.query(params![tenant, sku_key]).map_err(sqlite_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_err)? {
        out.push((
            rows::location(&rows::text(row, "location")?)?,
            rows::int(row, "on_hand")?,
        ));
    }
    Ok(out)
}

fn insert_event(
    c: &Connection,
    tenant: &str,
    order: &str,
    seq: i64,
    e: &Event,
    at: i64,
) -> rusqlite::Result<()> {
    c.prepare_cached("insert into order_event (tenant_id, order_id, seq, kind, user_id, station_id, payload, created_at) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?
        .execute(params![tenant, order, seq, e.kind, e.user, e.station, e.payload, at])?;
    Ok(())
}

/// Saves `ch` (inside the caller's transaction); `Ok(false)` when the order moved on (another operator won).
pub(crate) fn save_transition(c: &Connection, ch: &Change) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached("update sales_order set status = ?3, version = version + 1, assigned_to = ?4, package = ?5, shipment_id = ?6, cancel_reason = ?7, updated_at = ?8 where tenant_id = ?1 and order_id = ?2 and version = ?9")?
        .execute(params![ch.tenant, ch.order, ch.status, ch.assigned, ch.package, ch.shipment, ch.cancel_reason, ch.at, ch.version])?;
    if n != 1 {
        return Ok(false);
    }
    for (no, picked) in &ch.lines {
        c.prepare_cached("update order_line set picked = ?4 where tenant_id = ?1 and order_id = ?2 and line_no = ?3")?
            .execute(params![ch.tenant, ch.order, no, picked])?;
    }
    insert_event(c, &ch.tenant, &ch.order, ch.version + 1, &ch.event, ch.at)?;
    Ok(true)
}

/// Hands the oldest pending order that is not on hold to `cl.user`, with its `assigned` event,
/// and answers it; `None` when the queue is empty. Runs inside the caller's transaction.
pub(crate) fn claim(c: &Connection, cl: &Claim) -> Result<Option<OrderToWork>, StoreError> {
    let claimed = c
        .prepare_cached(
            "update sales_order set status = 'processing', assigned_to = ?2, version = version + 1, updated_at = ?3
             where tenant_id = ?1 and status = 'pending' and hold_reason is null and order_id = (
                select order_id from sales_order where tenant_id = ?1 and status = 'pending'
                and hold_reason is null order by created_at, order_id limit 1)
             returning order_id, version",
        )
        .map_err(sqlite_err)?
        .query_row(params![cl.tenant, cl.user, cl.at], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        });
    let (id, version) = match claimed {
        Ok(found) => found,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
        Err(e) => return Err(sqlite_err(e)),
    };
    let event = Event {
        kind: "assigned",
        user: cl.by.clone(),
        station: cl.station.clone(),
        payload: serde_json::json!({"user_id": cl.user, "auto": true}).to_string(),
    };
    insert_event(c, &cl.tenant, &id, version, &event, cl.at).map_err(sqlite_err)?;
    Ok(order_rows(c, &rows::ORDER_TO_WORK, true, &cl.tenant, &id)?.into_work())
}
