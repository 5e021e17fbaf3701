//! SQLite: one connection of our own, on its own thread, for the bench's hot path: a whole
//! unit of work per hand-off.
//!
//! sqlx's SQLite driver runs each connection on a worker thread and hands every statement to it
//! and back; a transition (begin, the order, its lines, the event, commit) was five hand-offs,
//! and under load those thread wake-ups were the hub's biggest cost. Here a job is a closure
//! over a `rusqlite::Connection` (rusqlite 0.32 links the same libsqlite3-sys as sqlx 0.8), run
//! on this thread, answered through a oneshot. Writers still queue on the store's async gate,
//! so this connection and sqlx's never wait on SQLite's busy handler for each other.
//!
//! What runs here: transitions that move no stock, claims, and the reads an operation starts
//! from (the order, stock on hand). The reads matter as much as the writes: in WAL mode a
//! connection throws its page cache away whenever another connection has committed, so reading
//! on sqlx's pool after every write re-read the same pages from the file. This connection
//! makes the bench's writes, so its cache stays warm for the bench's reads.

use packbench_core::domain::Location;
use packbench_core::model::Order;
use packbench_core::ports::StoreError;
use rusqlite::{Connection, params};

use crate::rows;

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
            // 16 MB of page cache: the open orders, their lines and stock stay in memory.
            "pragma synchronous = normal; pragma foreign_keys = on; pragma wal_autocheckpoint = 0;
             pragma cache_size = -16000;",
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

/// One order and its lines, or `None`.
pub(crate) fn order(c: &Connection, tenant: &str, id: &str) -> Result<Option<Order>, StoreError> {
    let mut stmt = c
        .prepare_cached(&crate::sql::ORDER_BY_ID)
        .map_err(sqlite_err)?;
    let mut rows = stmt.query(params![tenant, id]).map_err(sqlite_err)?;
    let mut order: Option<Order> = None;
    while let Some(row) = rows.next().map_err(sqlite_err)? {
        let o = match &mut order {
            Some(o) => o,
            None => order.insert(rows::order(row, Vec::new())?),
        };
        if rows::opt_int(row, "line_no")?.is_some() {
            o.state.lines.push(rows::order_line(row)?);
        }
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

/// An order event, as written with a transition or a claim.
pub(crate) struct Event {
    pub kind: &'static str,
    pub user: Option<String>,
    pub station: Option<String>,
    pub payload: String,
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

/// A transition that moves no stock: the order's new columns, its changed lines
/// (`(line_no, picked)`), and its event; written only if the order is still at `version`.
pub(crate) struct Change {
    pub tenant: String,
    pub order: String,
    pub version: i64,
    pub status: &'static str,
    pub assigned: Option<String>,
    pub package: Option<String>,
    pub shipment: Option<String>,
    pub cancel_reason: Option<String>,
    pub lines: Vec<(i64, i64)>,
    pub event: Event,
    pub at: i64,
}

/// Saves `ch` in one transaction; `Ok(false)` when the order moved on (another operator won).
pub(crate) fn save_transition(c: &mut Connection, ch: &Change) -> rusqlite::Result<bool> {
    let tx = c.transaction()?;
    let n = tx
        .prepare_cached("update sales_order set status = ?3, version = version + 1, assigned_to = ?4, package = ?5, shipment_id = ?6, cancel_reason = ?7, updated_at = ?8 where tenant_id = ?1 and order_id = ?2 and version = ?9")?
        .execute(params![ch.tenant, ch.order, ch.status, ch.assigned, ch.package, ch.shipment, ch.cancel_reason, ch.at, ch.version])?;
    if n != 1 {
        return Ok(false);
    }
    for (no, picked) in &ch.lines {
        tx.prepare_cached("update order_line set picked = ?4 where tenant_id = ?1 and order_id = ?2 and line_no = ?3")?
            .execute(params![ch.tenant, ch.order, no, picked])?;
    }
    insert_event(&tx, &ch.tenant, &ch.order, ch.version + 1, &ch.event, ch.at)?;
    tx.commit()?;
    Ok(true)
}

/// Auto-assign: who takes the oldest pending order, and when.
pub(crate) struct Claim {
    pub tenant: String,
    pub user: String,
    /// The actor, for the event: the same user when they claim for themselves.
    pub by: Option<String>,
    pub station: Option<String>,
    pub at: i64,
}

/// Hands the oldest pending order that is not on hold to `cl.user`, with its `assigned` event,
/// and answers it; `None` when the queue is empty. The caller holds the write gate.
pub(crate) fn claim(c: &mut Connection, cl: &Claim) -> Result<Option<Order>, StoreError> {
    let tx = c.transaction().map_err(sqlite_err)?;
    let claimed = tx
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
    insert_event(&tx, &cl.tenant, &id, version, &event, cl.at).map_err(sqlite_err)?;
    let order = order(&tx, &cl.tenant, &id)?;
    tx.commit().map_err(sqlite_err)?;
    Ok(order)
}
