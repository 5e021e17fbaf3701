//! `SqlStore`: the one implementation of [`Store`], over an `AnyPool`. This file holds the
//! connection, the checkpointer and the write helpers; each role of the port is implemented in
//! a file of its own: `accounts`, `orders`, `shipments`, `shop_sync`, `privacy`, `settings`,
//! `stock`, `idempotency`.

mod accounts;
mod idempotency;
mod orders;
mod privacy;
mod settings;
mod shipments;
mod shop_sync;
mod stock;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use packbench_core::domain::{Location, OrderId, ShipmentId, Sku, TenantId, UserId};
use packbench_core::model::{
    Actor, Order, Shipment, StockChange, StockLevel, StockMove, Timestamp,
};
use packbench_core::ports::{OrderToWork, StoreError, StoreResult};
use packbench_core::workflow::Transition;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

use crate::rows::{self, db, int, ms, opt_text, text, to_json};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time. Queueing writers here, in order, instead of letting
    /// them collide on the database lock (where SQLite's busy handler sleeps and retries) keeps
    /// write latency flat under load. Other processes still meet `busy_timeout`.
    write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
    _checkpointer: Option<Arc<Checkpointer>>,
    /// SQLite: the connection for the bench's hot path, on a thread of its own (see `work`).
    sqlite_work: Option<Arc<crate::work::WorkThread>>,
    /// PostgreSQL: connections for the bench's hot path (see `hot`).
    pg_hot: Option<crate::hot::HotPath>,
    /// PostgreSQL: where transitions queue to be written in groups (see `commit`), and its
    /// connection.
    pg_commit: Option<(Arc<crate::commit::Committer>, crate::hot::HotPath)>,
    /// PostgreSQL: where claims queue to be handed out in groups (see `claim`), and its
    /// connection.
    pg_claim: Option<(Arc<crate::claim::Claimer>, crate::hot::HotPath)>,
    /// The orders being worked, as last read or written (see `working`).
    working: Arc<crate::working::Working>,
    /// PostgreSQL: where each tenant's claims start (see `floor`).
    claim_floors: Option<Arc<crate::floor::ClaimFloors>>,
}

/// Copies SQLite's write-ahead log into the database file every two seconds, in two passes,
/// so the log starts over and the bench hardly waits for it:
/// - first beside the writers, on a connection of its own, again until what they add during
///   a pass is small: the slow part, the log's fsync (every frame written since the last
///   checkpoint: ~14 pages an operation, ~110 MB in two seconds at 2,000 operations a second),
///   the copy, and the database file's fsync;
/// - then on the work thread's connection (`crate::work`) while holding the write gate, so
///   nothing appends meanwhile: only the last few frames are left (1-4 ms), the checkpoint
///   has copied every frame, and the next write starts the log over from its beginning. The
///   log's file is rewritten in place, not grown, and keeps the size of the biggest log.
///
/// Measured in the load test with operations at 2,000 a second on a schedule: in one pass
/// under the gate, the work thread and every writer waited 40-60 ms every two seconds, and
/// cutting the log's file back each time (the rule before: past 64 MB) made it ~100 ms (op
/// p99 ~110 ms; 8 clients sending as fast as answered hid it: only their 8 operations
/// waited). Both passes and no cutting back: p99 2-4 ms. On a pool connection alone, beside
/// the writers, the log could never start over and grew. Done inside a commit (SQLite's
/// default), the same work would stall one random writer. Stops with the store.
struct Checkpointer(tokio::task::JoinHandle<()>);

/// Size of the log's file past which it is truncated, should a reader have kept the log from
/// starting over for long (it then grows). A log that starts over is rewritten in place and
/// its file keeps the size of the biggest log since: up to ~250 MB between two checkpoints
/// under the load test's heaviest load (8,000 operations a second, ~4 pages each). Truncating
/// a file that size under the gate took ~50 ms, and every write after it allocated its
/// blocks again.
const WAL_TRUNCATE_BYTES: u64 = 1 << 30;

/// `pragma wal_checkpoint(passive)`: (pages in the log, pages copied).
fn passive_checkpoint(c: &rusqlite::Connection) -> rusqlite::Result<(i64, i64)> {
    c.query_row("pragma wal_checkpoint(passive)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

/// Frames left for the pass under the gate, at most (each pass beside the writers leaves
/// what they wrote meanwhile, less each time).
const LEFT_FOR_THE_GATE: i64 = 256;

/// Passes beside the writers until what they add during one is small; answers the frames
/// copied.
fn catch_up(c: &rusqlite::Connection) -> rusqlite::Result<i64> {
    let mut before = 0;
    let mut copied = 0;
    for _ in 0..5 {
        let (log, done) = passive_checkpoint(c)?;
        copied += (done - before).max(0);
        // The log started over since the last pass: everything in it was new.
        let new = if done < before { log } else { log - before };
        before = done;
        if new <= LEFT_FOR_THE_GATE {
            break;
        }
    }
    Ok(copied)
}

impl Checkpointer {
    fn start(
        path: String,
        work: Arc<crate::work::WorkThread>,
        gate: Arc<tokio::sync::Mutex<()>>,
    ) -> Self {
        Self(tokio::spawn(async move {
            let mut beside = open_checkpoint_connection(path).await;
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tick.tick().await;
                let started = std::time::Instant::now();
                let mut beside_copied = 0;
                if let Some(c) = beside.take() {
                    match tokio::task::spawn_blocking(move || {
                        let done = catch_up(&c);
                        (c, done)
                    })
                    .await
                    {
                        Ok((c, done)) => {
                            match done {
                                Ok(copied) => beside_copied = copied,
                                Err(e) => {
                                    tracing::warn!(error = %e, "WAL checkpoint beside the writers failed")
                                }
                            }
                            beside = Some(c);
                        }
                        Err(_) => break,
                    }
                }
                let beside_ms = started.elapsed().as_millis() as u64;
                let _writers = gate.lock().await;
                let done = work
                    .run(move |c| -> rusqlite::Result<()> {
                        let started = std::time::Instant::now();
                        let (log, copied) = passive_checkpoint(c)?;
                        let file = c.path().map(|p| format!("{p}-wal"));
                        let size = file
                            .and_then(|f| std::fs::metadata(f).ok())
                            .map_or(0, |m| m.len());
                        if size > WAL_TRUNCATE_BYTES {
                            c.query_row("pragma wal_checkpoint(truncate)", [], |_| Ok(()))?;
                        }
                        tracing::debug!(
                            log_pages = log,
                            copied_pages = copied,
                            beside_ms,
                            beside_copied,
                            ms = started.elapsed().as_millis() as u64,
                            "WAL checkpoint"
                        );
                        Ok(())
                    })
                    .await;
                match done {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
                    Err(_) => break,
                }
            }
        }))
    }
}

/// The connection the first pass of each checkpoint runs on; `None` (and every checkpoint in
/// one pass, under the gate) if it cannot be opened.
async fn open_checkpoint_connection(path: String) -> Option<rusqlite::Connection> {
    let opened = tokio::task::spawn_blocking(move || {
        let c = rusqlite::Connection::open(&path)?;
        c.busy_timeout(Duration::from_secs(10))?;
        Ok::<_, rusqlite::Error>(c)
    })
    .await;
    match opened {
        Ok(Ok(c)) => Some(c),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "no connection for checkpoints beside the writers");
            None
        }
        Err(_) => None,
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A value bound to a dynamically built query.
enum Bind {
    Text(String),
    Int(i64),
    OptText(Option<String>),
}

/// Builds placeholders and their values in step: `$n`, or for bulk statements on SQLite plain
/// `?` (each used once, in order). SQLite looks a `$n` up by name in a list, so binding a
/// statement with thousands of named parameters costs their square; plain `?` has no name.
#[derive(Default)]
struct Args {
    binds: Vec<Bind>,
    anonymous: bool,
}

impl Args {
    /// For statements with many values, where every placeholder appears once and in order.
    fn bulk(backend: Backend) -> Self {
        Self {
            binds: Vec::new(),
            anonymous: backend == Backend::Sqlite,
        }
    }
    fn push(&mut self, b: Bind) -> String {
        self.binds.push(b);
        if self.anonymous {
            "?".to_owned()
        } else {
            format!("${}", self.binds.len())
        }
    }
    fn text(&mut self, v: impl Into<String>) -> String {
        self.push(Bind::Text(v.into()))
    }
    fn int(&mut self, v: i64) -> String {
        self.push(Bind::Int(v))
    }
    fn opt_text(&mut self, v: Option<String>) -> String {
        self.push(Bind::OptText(v))
    }
    /// The statement with its values bound, for the `Any` pool or PostgreSQL's hot path.
    fn query<'q, DB>(self, sql: &'q str) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
    where
        DB: sqlx::Database,
        String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        let mut q = sqlx::query(sql);
        for b in self.binds {
            q = match b {
                Bind::Text(s) => q.bind(s),
                Bind::Int(i) => q.bind(i),
                Bind::OptText(s) => q.bind(s),
            };
        }
        q
    }
}

pub(crate) const ORDER_COLUMNS_O: &str = "o.order_id, o.name, o.external_id, o.status, o.version, o.assigned_to, o.customer_name, o.ship_to, o.package, o.shipment_id, o.cancel_reason, o.labeling, o.created_at, o.updated_at";
/// One order and its lines in one query (the order's columns repeat on each line).
pub(crate) static ORDER_BY_ID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "select {ORDER_COLUMNS_O}, l.line_no, l.sku, l.barcode, l.title, l.quantity, l.picked
         from sales_order o left join order_line l on l.tenant_id = o.tenant_id and l.order_id = o.order_id
         where o.tenant_id = $1 and o.order_id = $2 order by l.line_no"
    )
});
/// Whether line `l`'s SKU has any stock recorded, as `stocked` (1 or 0).
pub(crate) const STOCKED: &str = "cast(case when exists (select 1 from stock s where s.tenant_id = l.tenant_id and s.sku_key = l.sku_key)
             then 1 else 0 end as bigint) as stocked";
/// `ORDER_BY_ID`, and for each line whether its SKU has any stock recorded (`stocked`, 1 or
/// 0): what an operation starts from, in one read.
pub(crate) static ORDER_TO_WORK: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "select {ORDER_COLUMNS_O}, l.line_no, l.sku, l.barcode, l.title, l.quantity, l.picked, {STOCKED}
         from sales_order o left join order_line l on l.tenant_id = o.tenant_id and l.order_id = o.order_id
         where o.tenant_id = $1 and o.order_id = $2 order by l.line_no"
    )
});
/// What a transition writes besides the order, its lines and its event.
struct AlsoWritten<'a> {
    /// Stock taken or given back.
    stock: &'a [StockMove],
    /// A label reservation's pending shipment.
    shipment: Option<&'a Shipment>,
}

const SHIPMENT_COLUMNS: &str = "shipment_id, order_id, status, carrier, service, tracking_number, estimated_delivery, package, ship_to, created_at, updated_at";

impl SqlStore {
    /// Opens (creating a SQLite file if needed) and migrates the database at `url`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, 8).await
    }

    pub async fn connect_with(url: &str, max_connections: u32) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| {
            StoreError::Backend(
                format!(
                    "unsupported database URL (use sqlite: or postgres://): {}",
                    redact(url)
                )
                .into(),
            )
        })?;
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:")
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        if backend == Backend::Sqlite
            && (path.is_empty() || path.contains(":memory:") || url.contains("mode=memory"))
        {
            // Each of the hub's connections would get a database of its own.
            return Err(StoreError::Backend(
                "a SQLite database must be a file, e.g. sqlite:///var/lib/packbench/hub.sqlite (in-memory databases are not supported)".into(),
            ));
        }
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { "&" } else { "?" })
            }
            _ => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // Not a round trip to the server before every statement (sqlx's default pings a
            // pooled connection each time it is handed out: a third of the hub's CPU on
            // PostgreSQL under load). A connection the server dropped fails its next statement
            // and is closed; the request answers 503 and the next one gets a new connection.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer. FULL syncs the log at
                        // every commit of this pool, so what it wrote survives a power cut,
                        // not only a process crash: label reservations and purchases, the
                        // webhook inbox, imports. (The bench's pick/pack path writes on its
                        // own connection with NORMAL, `work.rs`; a FULL commit syncs those
                        // earlier log frames too.) busy_timeout makes writers queue, not fail.
                        conn.execute("pragma journal_mode = wal").await?;
                        conn.execute("pragma synchronous = full").await?;
                        conn.execute("pragma busy_timeout = 10000").await?;
                        // Checkpoints run in the background (below), not inside a commit.
                        conn.execute("pragma wal_autocheckpoint = 0").await?;
                        conn.execute("pragma foreign_keys = on").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(db)?;
        let write_gate =
            (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        let mut store = Self {
            pool,
            backend,
            write_gate,
            _checkpointer: None,
            sqlite_work: None,
            pg_hot: None,
            pg_commit: None,
            pg_claim: None,
            working: Arc::default(),
            claim_floors: None,
        };
        store.migrate().await?;
        // The bench's work goes to a connection of our own on its own thread (see `work`),
        // and so do the checkpoints.
        if let (Backend::Sqlite, Some(gate)) = (backend, &store.write_gate) {
            let work = Arc::new(crate::work::WorkThread::open(&path, gate.clone())?);
            store._checkpointer = Some(Arc::new(Checkpointer::start(
                path.clone(),
                work.clone(),
                gate.clone(),
            )));
            store.sqlite_work = Some(work);
        }
        if backend == Backend::Postgres {
            let options: sqlx::postgres::PgConnectOptions = url.parse().map_err(db)?;
            let options = options.options([("plan_cache_mode", "force_generic_plan")]);
            let committing = crate::hot::HotPath::new(options.clone(), 1)?;
            store.pg_commit = Some((
                Arc::new(crate::commit::Committer::start(committing.clone())),
                committing,
            ));
            let claiming = crate::hot::HotPath::new(options.clone(), 1)?;
            store.pg_claim = Some((
                Arc::new(crate::claim::Claimer::start(claiming.clone())),
                claiming,
            ));
            store.pg_hot = Some(crate::hot::HotPath::new(options, max_connections as usize)?);
            store.claim_floors = Some(Arc::new(crate::floor::ClaimFloors::start(
                store.pool.clone(),
            )));
        }
        Ok(store)
    }

    /// A hot-path statement's rows, on PostgreSQL's own connections (`hot`). SQLite's hot
    /// path is the work thread, so only PostgreSQL comes here.
    async fn hot_fetch_all<'q>(
        &self,
        q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> StoreResult<Vec<sqlx::postgres::PgRow>> {
        match &self.pg_hot {
            Some(hot) => hot.fetch_all(q).await,
            None => Err(StoreError::Backend(
                "the PostgreSQL hot path was asked for on another database".into(),
            )),
        }
    }

    /// One order's rows (`ORDER_BY_ID` or `ORDER_TO_WORK`), read where the hot path reads.
    async fn order_rows(
        &self,
        sql: &'static str,
        stock: bool,
        tenant: &TenantId,
        id: &OrderId,
    ) -> StoreResult<rows::OrderRows> {
        if let Some(w) = &self.sqlite_work {
            let (tenant, id) = (tenant.as_str().to_owned(), id.as_str().to_owned());
            return w
                .run(move |c| crate::work::order_rows(c, sql, stock, &tenant, &id))
                .await?;
        }
        let fetched = self
            .hot_fetch_all(
                sqlx::query::<sqlx::Postgres>(sql)
                    .bind(tenant.as_str())
                    .bind(id.as_str()),
            )
            .await?;
        let mut order = rows::OrderRows::default();
        for r in &fetched {
            order.add(r, stock)?;
        }
        Ok(order)
    }

    /// One of an order's reasons (`sql` selects it as `reason`): `None` when the order is not
    /// here or the reason is not set.
    async fn order_reason(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        sql: &'static str,
    ) -> StoreResult<Option<String>> {
        let row = sqlx::query(sql)
            .bind(tenant.as_str())
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.map(|r| opt_text(&r, "reason")).transpose()?.flatten())
    }

    /// Held for the length of a write on SQLite; nothing on PostgreSQL.
    async fn writer(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Records a shipment inside a transaction (a label reservation's, or its own).
    /// Keeps the order cache honest after a write of `before`'s transition.
    fn after_save(&self, tenant: &TenantId, before: &Order, saved: &StoreResult<Order>) {
        match saved {
            Ok(order) => self.working.wrote(tenant.as_str(), before.version, order),
            Err(StoreError::Conflict(_)) => {
                self.working.forget(tenant.as_str(), before.id().as_str())
            }
            Err(_) => {}
        }
    }

    async fn insert_shipment_in(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &TenantId,
        s: &Shipment,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "insert into shipment (tenant_id, {SHIPMENT_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(tenant.as_str())
        .bind(s.id.as_str())
        .bind(s.order_id.as_ref().map(|o| o.as_str().to_owned()))
        .bind(s.status.as_str())
        .bind(s.carrier.as_str())
        .bind(s.service.as_str())
        .bind(s.tracking_number.as_ref().map(|t| t.as_str().to_owned()))
        .bind(s.estimated_delivery.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(to_json(&s.package))
        .bind(s.ship_to.as_ref().map(to_json))
        .bind(ms(s.created_at))
        .bind(ms(s.updated_at))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
        Ok(())
    }

    /// `save_transition`'s writes, on each database's fastest path.
    async fn save_transition_to_db(
        &self,
        tenant: &TenantId,
        before: &Order,
        t: &Transition,
        writes: AlsoWritten<'_>,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Order> {
        let AlsoWritten { stock, shipment } = writes;
        // A transition that moves no stock (picks, packs, assigns): the order, its changed
        // lines and the event, committed with the other transitions waiting by then (SQLite's
        // `work`, PostgreSQL's `commit`), at the version it started from.
        // A transition that takes or ends a label reservation is written in full below.
        if stock.is_empty() && shipment.is_none() && t.state.labeling == before.state.labeling {
            let change = crate::change::Change::of(tenant, before, t, actor, now);
            let saved = if let Some(w) = &self.sqlite_work {
                Some(
                    w.write(move |c| {
                        crate::work::save_transition(c, &change).map_err(crate::work::sqlite_err)
                    })
                    .await?,
                )
            } else if let Some((committer, _)) = &self.pg_commit {
                Some(committer.save(change).await?)
            } else {
                None
            };
            match saved {
                Some(false) => return Err(StoreError::Conflict(format!("order {}", t.state.id))),
                Some(true) => {
                    return Ok(Order {
                        state: t.state.clone(),
                        version: before.version + 1,
                        updated_at: now,
                        ..before.clone()
                    });
                }
                None => {}
            }
        }
        let _writer = self.writer().await;
        let next = &t.state;
        let mut tx = self.pool.begin().await.map_err(db)?;
        if let Some(s) = shipment {
            Self::insert_shipment_in(&mut tx, tenant, s).await?;
        }
        let updated = sqlx::query(
            "update sales_order set status = $3, version = version + 1, assigned_to = $4, package = $5, shipment_id = $6,
             cancel_reason = $7, updated_at = $8, labeling = $10 where tenant_id = $1 and order_id = $2 and version = $9",
        )
        .bind(tenant.as_str())
        .bind(next.id.as_str())
        .bind(next.status.as_str())
        .bind(next.assigned_to.as_ref().map(|u| u.as_str().to_owned()))
        .bind(next.package.as_ref().map(to_json))
        .bind(next.shipment_id.as_ref().map(|s| s.as_str().to_owned()))
        .bind(next.cancel_reason.clone())
        .bind(ms(now))
        .bind(before.version)
        .bind(next.labeling.as_ref().map(|s| s.as_str().to_owned()))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if updated.rows_affected() != 1 {
            tx.rollback().await.map_err(db)?;
            return Err(StoreError::Conflict(format!("order {}", next.id)));
        }
        for (old, new) in before.state.lines.iter().zip(&next.lines) {
            if old.picked != new.picked {
                sqlx::query("update order_line set picked = $4 where tenant_id = $1 and order_id = $2 and line_no = $3")
                    .bind(tenant.as_str())
                    .bind(next.id.as_str())
                    .bind(i64::from(new.line_no))
                    .bind(i64::from(new.picked))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
        let version = before.version + 1;
        Self::insert_event(
            &mut tx,
            tenant,
            &next.id,
            version,
            t.event_kind,
            &t.payload,
            actor,
            now,
        )
        .await?;
        if !stock.is_empty() {
            let shipment = next
                .shipment_id
                .as_ref()
                .or(before.state.shipment_id.as_ref());
            let first = Self::next_stock_seqs(&mut tx, tenant, stock.len() as i64).await?;
            for (i, m) in stock.iter().enumerate() {
                let change = StockChange::Adjust {
                    sku: m.sku.clone(),
                    location: m.location.clone(),
                    delta: m.delta,
                };
                Self::apply_stock(
                    &mut tx,
                    tenant,
                    first + i as i64,
                    &change,
                    t.event_kind,
                    Some(&next.id),
                    shipment,
                    actor,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(Order {
            state: next.clone(),
            version,
            updated_at: now,
            ..before.clone()
        })
    }

    /// Claims the oldest pending order in the database: the order with its stock flags.
    async fn claim_in_db(
        &self,
        tenant: &TenantId,
        user: &UserId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<OrderToWork>> {
        let claim = crate::change::Claim {
            tenant: tenant.as_str().to_owned(),
            user: user.as_str().to_owned(),
            by: actor.user_id.as_ref().map(|u| u.as_str().to_owned()),
            station: actor.station_id.clone(),
            at: ms(now),
        };
        if let Some(w) = &self.sqlite_work {
            return w.write(move |c| crate::work::claim(c, &claim)).await;
        }
        match &self.pg_claim {
            Some((claimer, _)) => claimer.claim(claim).await,
            None => Err(StoreError::Backend(
                "the PostgreSQL claimer was asked for on another database".into(),
            )),
        }
    }

    /// What a webhook delivery still holds of its body (empty once processed), for audits.
    pub async fn inbox_body(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
    ) -> StoreResult<Option<Vec<u8>>> {
        let row =
            sqlx::query("select body from webhook_inbox where tenant_id = $1 and webhook_id = $2")
                .bind(tenant.as_str())
                .bind(webhook_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        row.map(|r| r.try_get::<Vec<u8>, _>("body").map_err(db))
            .transpose()
    }

    /// Opens the connections the bench's operations use (PostgreSQL), for a hub about to
    /// serve: otherwise the first operations after a start each wait for one.
    pub async fn open_connections(&self) -> StoreResult<()> {
        match &self.pg_hot {
            Some(hot) => {
                hot.open_all().await?;
                if let Some((_, committing)) = &self.pg_commit {
                    committing.open_all().await?;
                }
                if let Some((_, claiming)) = &self.pg_claim {
                    claiming.open_all().await?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// PostgreSQL: raises `tenant`'s claim floor now, as the store does by itself every
    /// quarter second after claims (see `floor`). Nothing to do on SQLite.
    pub async fn raise_claim_floor(&self, tenant: &TenantId) -> StoreResult<()> {
        match self.backend {
            Backend::Postgres => crate::floor::raise(&self.pool, tenant.as_str()).await,
            Backend::Sqlite => Ok(()),
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies any migration not yet applied. Safe to run while a hub uses the database.
    pub async fn migrate(&self) -> StoreResult<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &crate::SQLITE_MIGRATOR,
            Backend::Postgres => &crate::POSTGRES_MIGRATOR,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))
    }

    /// Takes `n` stock event numbers for the tenant (locks the tenant's counter row).
    async fn next_stock_seqs(
        tx: &mut Transaction<'_, Any>,
        tenant: &TenantId,
        n: i64,
    ) -> StoreResult<i64> {
        let row = sqlx::query(
            "update tenant set stock_seq = stock_seq + $2 where tenant_id = $1 returning stock_seq",
        )
        .bind(tenant.as_str())
        .bind(n)
        .fetch_one(&mut **tx)
        .await
        .map_err(db)?;
        Ok(int(&row, "stock_seq")? - n + 1)
    }

    /// Applies one stock change inside a transaction and records it.
    #[allow(clippy::too_many_arguments)]
    async fn apply_stock(
        tx: &mut Transaction<'_, Any>,
        tenant: &TenantId,
        seq: i64,
        change: &StockChange,
        cause: &str,
        order: Option<&OrderId>,
        shipment: Option<&ShipmentId>,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<(String, Location, i64, i64)> {
        let (sku, location, set, delta) = match change {
            StockChange::Set {
                sku,
                location,
                on_hand,
            } => (sku, location, Some(*on_hand), 0),
            StockChange::Adjust {
                sku,
                location,
                delta,
            } => (sku, location, None, *delta),
        };
        let previous: i64 = sqlx::query(
            "select on_hand from stock where tenant_id = $1 and sku_key = $2 and location = $3",
        )
        .bind(tenant.as_str())
        .bind(sku.key())
        .bind(location.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(db)?
        .map(|r| int(&r, "on_hand"))
        .transpose()?
        .unwrap_or(0);
        let on_hand = set.unwrap_or(previous + delta);
        let delta = on_hand - previous;
        sqlx::query(
            "insert into stock (tenant_id, sku_key, sku, location, on_hand, updated_at) values ($1, $2, $3, $4, $5, $6)
             on conflict (tenant_id, sku_key, location) do update set on_hand = excluded.on_hand, updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(sku.key())
        .bind(sku.as_str())
        .bind(location.as_str())
        .bind(on_hand)
        .bind(ms(now))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
        sqlx::query(
            "insert into stock_event (tenant_id, seq, sku, location, delta, on_hand, cause, order_id, shipment_id, user_id, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(tenant.as_str())
        .bind(seq)
        .bind(sku.as_str())
        .bind(location.as_str())
        .bind(delta)
        .bind(on_hand)
        .bind(cause)
        .bind(order.map(|o| o.as_str().to_owned()))
        .bind(shipment.map(|s| s.as_str().to_owned()))
        .bind(actor.user_id.as_ref().map(|u| u.as_str().to_owned()))
        .bind(ms(now))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
        Ok((sku.as_str().to_owned(), location.clone(), on_hand, delta))
    }

    /// An order's lines, numbered from 1, nothing picked.
    async fn insert_lines(
        tx: &mut Transaction<'_, Any>,
        tenant: &TenantId,
        order: &OrderId,
        lines: &[packbench_core::model::NewOrderLine],
    ) -> StoreResult<()> {
        for (i, line) in lines.iter().enumerate() {
            sqlx::query(
                "insert into order_line (tenant_id, order_id, line_no, sku, sku_key, barcode, title, quantity, picked)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
            )
            .bind(tenant.as_str())
            .bind(order.as_str())
            .bind(i as i64 + 1)
            .bind(line.sku.as_str())
            .bind(line.sku.key())
            .bind(line.barcode.as_ref().map(|b| b.as_str().to_owned()))
            .bind(line.title.as_str())
            .bind(i64::from(line.quantity))
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_event(
        tx: &mut Transaction<'_, Any>,
        tenant: &TenantId,
        order: &OrderId,
        seq: i64,
        kind: &str,
        payload: &serde_json::Value,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "insert into order_event (tenant_id, order_id, seq, kind, user_id, station_id, payload, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant.as_str())
        .bind(order.as_str())
        .bind(seq)
        .bind(kind)
        .bind(actor.user_id.as_ref().map(|u| u.as_str().to_owned()))
        .bind(actor.station_id.clone())
        .bind(payload.to_string())
        .bind(ms(now))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
        Ok(())
    }

    /// A JSON document row found by its key columns (bound in order as `$1`, `$2`...).
    async fn document(&self, sql: &str, keys: &[&str]) -> StoreResult<Option<serde_json::Value>> {
        let mut q = sqlx::query(sql);
        for k in keys {
            q = q.bind(k.to_string());
        }
        let row = q.fetch_optional(&self.pool).await.map_err(db)?;
        row.map(|r| {
            serde_json::from_str(&text(&r, "document")?).map_err(|e| rows::corrupt(e.to_string()))
        })
        .transpose()
    }

    /// Upserts a JSON document: `sql` binds the keys, then the document, then the time.
    async fn put_document(
        &self,
        sql: &str,
        keys: &[&str],
        doc: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        let mut q = sqlx::query(sql);
        for k in keys {
            q = q.bind(k.to_string());
        }
        q.bind(doc.to_string())
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Units still needed by open orders, per SKU key.
    async fn demand(
        &self,
        tenant: &TenantId,
        sku: Option<&Sku>,
    ) -> StoreResult<HashMap<String, i64>> {
        let mut args = Args::default();
        let t = args.text(tenant.as_str());
        let mut sql = format!(
            "select l.sku_key, cast(sum(l.quantity) as bigint) as units from order_line l
             join sales_order o on o.tenant_id = l.tenant_id and o.order_id = l.order_id
             where l.tenant_id = {t} and o.status in ('pending', 'processing', 'picked', 'packed')"
        );
        if let Some(s) = sku {
            sql.push_str(&format!(" and l.sku_key = {}", args.text(s.key())));
        }
        sql.push_str(" group by l.sku_key");
        let rows = args.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        rows.iter()
            .map(|r| Ok((text(r, "sku_key")?, int(r, "units")?)))
            .collect()
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

/// Splits what open orders need of a SKU over its locations in natural order.
fn allocate(
    mut levels: Vec<(String, String, Location, i64)>,
    demand: &HashMap<String, i64>,
) -> Vec<StockLevel> {
    use packbench_core::domain::natural_cmp;
    levels.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| natural_cmp(a.2.as_str(), b.2.as_str()))
    });
    let mut left: HashMap<&str, i64> = HashMap::new();
    let mut out = Vec::with_capacity(levels.len());
    let count = levels.len();
    for (i, (key, sku, location, on_hand)) in levels.iter().enumerate() {
        let need = left
            .entry(key)
            .or_insert_with(|| demand.get(key).copied().unwrap_or(0));
        let last_of_sku = i + 1 == count || levels[i + 1].0 != *key;
        let take = if last_of_sku {
            *need
        } else {
            (*need).min((*on_hand).max(0))
        };
        *need -= take;
        out.push(StockLevel {
            sku: sku.clone(),
            location: location.clone(),
            on_hand: *on_hand,
            allocated: take,
            available: on_hand - take,
        });
    }
    out
}
