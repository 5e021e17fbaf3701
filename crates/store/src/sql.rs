//! `SqlStore`: the one implementation of [`Store`], over an `AnyPool`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use packbench_core::domain::{
    Location, OrderId, Role, ShipmentId, Sku, TenantId, TenantSlug, UserId,
};
use packbench_core::model::{
    Actor, IdempotencyStart, LabelFormat, NewOrder, Order, OrderEvent, OrderFilter, OrderSummary,
    Page, PrivacyKind, PrivacyRequest, REDACTED, Shipment, ShipmentFilter, StockChange, StockEvent,
    StockLevel, StockMove, Tenant, Timestamp, UNFINISHED_REQUEST_INTERRUPTED_AFTER, User,
};
use packbench_core::ports::{
    LoginFailures, OrderToWork, PushState, Session, Store, StoreError, StoreResult, TrackingEvent,
    TrackingKind,
};
use packbench_core::workflow::{OrderStatus, Transition};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

use crate::rows::{self, db, int, ms, opt_int, opt_text, text, to_json, ts};

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

#[async_trait]
impl Store for SqlStore {
    async fn create_tenant(
        &self,
        slug: &TenantSlug,
        name: &str,
        now: Timestamp,
    ) -> StoreResult<Tenant> {
        let _writer = self.writer().await;
        let id = TenantId::generate();
        sqlx::query("insert into tenant (tenant_id, slug, name, stock_seq, created_at) values ($1, $2, $3, 0, $4)")
            .bind(id.as_str())
            .bind(slug.as_str())
            .bind(name)
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .map_err(|e| match db(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("tenant `{slug}` already exists")),
                other => other,
            })?;
        Ok(Tenant {
            id,
            slug: slug.clone(),
            name: name.to_owned(),
        })
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = sqlx::query("select tenant_id, slug, name from tenant order by slug")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(Tenant {
                    id: TenantId::parse(&text(r, "tenant_id")?)
                        .map_err(|e| rows::corrupt(e.to_string()))?,
                    slug: TenantSlug::parse(&text(r, "slug")?)
                        .map_err(|e| rows::corrupt(e.to_string()))?,
                    name: text(r, "name")?,
                })
            })
            .collect()
    }

    async fn tenant_by_slug(&self, slug: &str) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query("select tenant_id, slug, name from tenant where slug = $1")
            .bind(slug)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| {
            Ok(Tenant {
                id: TenantId::parse(&text(&r, "tenant_id")?)
                    .map_err(|e| rows::corrupt(e.to_string()))?,
                slug: TenantSlug::parse(&text(&r, "slug")?)
                    .map_err(|e| rows::corrupt(e.to_string()))?,
                name: text(&r, "name")?,
            })
        })
        .transpose()
    }

    async fn create_user(
        &self,
        tenant: &TenantId,
        username: &str,
        password_hash: &str,
        role: Role,
        now: Timestamp,
    ) -> StoreResult<User> {
        let _writer = self.writer().await;
        let id = UserId::generate();
        sqlx::query(
            "insert into app_user (tenant_id, user_id, username, password_hash, role, created_at) values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("user `{username}` already exists")),
            other => other,
        })?;
        Ok(User {
            id,
            username: username.to_owned(),
            role,
        })
    }

    async fn credentials(
        &self,
        tenant: &TenantId,
        username: &str,
    ) -> StoreResult<Option<(User, String)>> {
        let row = sqlx::query("select user_id, username, role, password_hash from app_user where tenant_id = $1 and username = $2")
            .bind(tenant.as_str())
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| Ok((rows::user(&r)?, text(&r, "password_hash")?)))
            .transpose()
    }

    async fn user(&self, tenant: &TenantId, id: &UserId) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "select user_id, username, role from app_user where tenant_id = $1 and user_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| rows::user(&r)).transpose()
    }

    async fn set_password(
        &self,
        tenant: &TenantId,
        user: &UserId,
        password_hash: &str,
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        sqlx::query("update app_user set password_hash = $3 where tenant_id = $1 and user_id = $2")
            .bind(tenant.as_str())
            .bind(user.as_str())
            .bind(password_hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn login_failures(
        &self,
        tenant: &TenantId,
        username: &str,
    ) -> StoreResult<LoginFailures> {
        let row = sqlx::query("select failures, locked_until from login_failure where tenant_id = $1 and username = $2")
            .bind(tenant.as_str())
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        match row {
            None => Ok(LoginFailures::default()),
            Some(r) => Ok(LoginFailures {
                count: int(&r, "failures")? as u32,
                locked_until: opt_int(&r, "locked_until")?.map(rows::ts).transpose()?,
            }),
        }
    }

    async fn set_login_failures(
        &self,
        tenant: &TenantId,
        username: &str,
        f: LoginFailures,
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        if f.count == 0 && f.locked_until.is_none() {
            sqlx::query("delete from login_failure where tenant_id = $1 and username = $2")
                .bind(tenant.as_str())
                .bind(username)
                .execute(&self.pool)
                .await
                .map_err(db)?;
            return Ok(());
        }
        sqlx::query(
            "insert into login_failure (tenant_id, username, failures, locked_until) values ($1, $2, $3, $4)
             on conflict (tenant_id, username) do update set failures = excluded.failures, locked_until = excluded.locked_until",
        )
        .bind(tenant.as_str())
        .bind(username)
        .bind(i64::from(f.count))
        .bind(f.locked_until.map(ms))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn create_session(
        &self,
        tenant: &TenantId,
        token_hash: &str,
        user: &UserId,
        station_id: Option<&str>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        sqlx::query(
            "insert into session (tenant_id, token_hash, user_id, station_id, created_at, expires_at) values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.as_str())
        .bind(token_hash)
        .bind(user.as_str())
        .bind(station_id.map(str::to_owned))
        .bind(ms(now))
        .bind(ms(expires_at))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn session(
        &self,
        tenant: &TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "select u.user_id, u.username, u.role, s.station_id, s.expires_at from session s
             join app_user u on u.tenant_id = s.tenant_id and u.user_id = s.user_id
             where s.tenant_id = $1 and s.token_hash = $2 and s.revoked_at is null and s.expires_at > $3",
        )
        .bind(tenant.as_str())
        .bind(token_hash)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            Ok(Session {
                user: rows::user(&r)?,
                station_id: opt_text(&r, "station_id")?,
                expires_at: rows::time(&r, "expires_at")?,
            })
        })
        .transpose()
    }

    async fn end_session(
        &self,
        tenant: &TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        sqlx::query("update session set revoked_at = $3 where tenant_id = $1 and token_hash = $2 and revoked_at is null")
            .bind(tenant.as_str())
            .bind(token_hash)
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn insert_order(
        &self,
        tenant: &TenantId,
        order: &NewOrder,
        now: Timestamp,
    ) -> StoreResult<Order> {
        let _writer = self.writer().await;
        let id = OrderId::generate();
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "insert into sales_order (tenant_id, order_id, name, external_id, status, version, customer_name, ship_to, created_at, updated_at, hold_reason, shop_order_id)
             values ($1, $2, $3, $4, 'pending', 1, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(order.name.as_str())
        .bind(order.external_id.clone())
        .bind(order.customer_name.clone())
        .bind(order.ship_to.as_ref().map(to_json))
        .bind(ms(order.created_at))
        .bind(ms(now))
        .bind(order.hold.clone())
        .bind(order.shop_order_id.clone())
        .execute(&mut *tx)
        .await
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("order {} already imported", order.name)),
            other => other,
        })?;
        Self::insert_lines(&mut tx, tenant, &id, &order.lines).await?;
        let payload = serde_json::json!({"name": order.name, "external_id": order.external_id, "lines": order.lines.len()});
        Self::insert_event(
            &mut tx,
            tenant,
            &id,
            1,
            "imported",
            &payload,
            &Actor::system(),
            now,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        self.order(tenant, &id)
            .await?
            .ok_or(StoreError::NotFound("order"))
    }

    async fn import_orders(
        &self,
        tenant: &TenantId,
        orders: &[NewOrder],
        now: Timestamp,
    ) -> StoreResult<Vec<Option<OrderId>>> {
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let ids: Vec<OrderId> = orders.iter().map(|_| OrderId::generate()).collect();
        let mut inserted = std::collections::HashSet::new();
        for (chunk_ids, chunk) in ids.chunks(200).zip(orders.chunks(200)) {
            let mut a = Args::bulk(self.backend);
            let values: Vec<String> = chunk_ids
                .iter()
                .zip(chunk)
                .map(|(id, o)| {
                    format!(
                        "({}, {}, {}, {}, 'pending', 1, {}, {}, {}, {}, {}, {})",
                        a.text(tenant.as_str()),
                        a.text(id.as_str()),
                        a.text(o.name.as_str()),
                        a.opt_text(o.external_id.clone()),
                        a.opt_text(o.customer_name.clone()),
                        a.opt_text(o.ship_to.as_ref().map(to_json)),
                        a.int(ms(o.created_at)),
                        a.int(ms(now)),
                        a.opt_text(o.hold.clone()),
                        a.opt_text(o.shop_order_id.clone()),
                    )
                })
                .collect();
            // Orders already here (same external id or name) are skipped; the ids returned are
            // the ones created.
            let sql = format!(
                "insert into sales_order (tenant_id, order_id, name, external_id, status, version, customer_name, ship_to, created_at, updated_at, hold_reason, shop_order_id)
                 values {} on conflict do nothing returning order_id",
                values.join(", ")
            );
            for row in a.query(&sql).fetch_all(&mut *tx).await.map_err(db)? {
                inserted.insert(text(&row, "order_id")?);
            }
        }
        let created: Vec<Option<OrderId>> = ids
            .into_iter()
            .map(|id| inserted.contains(id.as_str()).then_some(id))
            .collect();
        // Orders already here follow the shop's hold: held ones get it, released ones lose it.
        for (hold, chunk) in [(true, orders), (false, orders)] {
            let ext: Vec<&str> = chunk
                .iter()
                .zip(&created)
                .filter(|(o, c)| c.is_none() && o.hold.is_some() == hold)
                .filter_map(|(o, _)| o.external_id.as_deref())
                .collect();
            for part in ext.chunks(400) {
                let mut a = Args::bulk(self.backend);
                let reason = a.opt_text(hold.then(|| "on hold in Shopify".to_string()));
                let t = a.text(tenant.as_str());
                let list: Vec<String> = part.iter().map(|e| a.text(*e)).collect();
                let sql = format!(
                    "update sales_order set hold_reason = {reason} where tenant_id = {t} and external_id in ({})",
                    list.join(", ")
                );
                a.query(&sql).execute(&mut *tx).await.map_err(db)?;
            }
        }
        // Lines and events of the new orders, many rows per statement.
        let new: Vec<(&OrderId, &NewOrder)> = created
            .iter()
            .zip(orders)
            .filter_map(|(id, o)| id.as_ref().map(|id| (id, o)))
            .collect();
        let lines: Vec<(&OrderId, usize, &packbench_core::model::NewOrderLine)> = new
            .iter()
            .flat_map(|(id, o)| o.lines.iter().enumerate().map(move |(i, l)| (*id, i, l)))
            .collect();
        for chunk in lines.chunks(400) {
            let mut a = Args::bulk(self.backend);
            let values: Vec<String> = chunk
                .iter()
                .map(|(id, i, l)| {
                    format!(
                        "({}, {}, {}, {}, {}, {}, {}, {}, 0)",
                        a.text(tenant.as_str()),
                        a.text(id.as_str()),
                        a.int(*i as i64 + 1),
                        a.text(l.sku.as_str()),
                        a.text(l.sku.key()),
                        a.opt_text(l.barcode.as_ref().map(|b| b.as_str().to_owned())),
                        a.text(l.title.as_str()),
                        a.int(i64::from(l.quantity)),
                    )
                })
                .collect();
            let sql = format!(
                "insert into order_line (tenant_id, order_id, line_no, sku, sku_key, barcode, title, quantity, picked) values {}",
                values.join(", ")
            );
            a.query(&sql).execute(&mut *tx).await.map_err(db)?;
        }
        for chunk in new.chunks(400) {
            let mut a = Args::bulk(self.backend);
            let values: Vec<String> = chunk
                .iter()
                .map(|(id, o)| {
                    let payload = serde_json::json!({"name": o.name, "external_id": o.external_id, "lines": o.lines.len()});
                    format!(
                        "({}, {}, 1, 'imported', null, null, {}, {})",
                        a.text(tenant.as_str()),
                        a.text(id.as_str()),
                        a.text(payload.to_string()),
                        a.int(ms(now)),
                    )
                })
                .collect();
            let sql = format!(
                "insert into order_event (tenant_id, order_id, seq, kind, user_id, station_id, payload, created_at) values {}",
                values.join(", ")
            );
            a.query(&sql).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn replace_order_lines(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        lines: &[packbench_core::model::NewOrderLine],
        now: Timestamp,
    ) -> StoreResult<()> {
        let _changing = self.working.changing();
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let row = sqlx::query(
            "update sales_order set version = version + 1, updated_at = $3
             where tenant_id = $1 and order_id = $2 returning version",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound("order"))?;
        let version = int(&row, "version")?;
        sqlx::query("delete from order_line where tenant_id = $1 and order_id = $2")
            .bind(tenant.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Self::insert_lines(&mut tx, tenant, id, lines).await?;
        let payload = serde_json::json!({"lines": lines.len()});
        Self::insert_event(
            &mut tx,
            tenant,
            id,
            version,
            "edited_in_shop",
            &payload,
            &Actor::system(),
            now,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn clear_order_review(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let _changing = self.working.changing();
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let row = sqlx::query(
            "update sales_order set review_reason = null, version = version + 1, updated_at = $3
             where tenant_id = $1 and order_id = $2 and review_reason is not null returning version",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(db)?;
            // No flag to clear, or no such order.
            return match self.order(tenant, id).await? {
                Some(_) => Ok(false),
                None => Err(StoreError::NotFound("order")),
            };
        };
        let version = int(&row, "version")?;
        Self::insert_event(
            &mut tx,
            tenant,
            id,
            version,
            "review_cleared",
            &serde_json::json!({}),
            actor,
            now,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn set_order_review(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        reason: Option<&str>,
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        sqlx::query(
            "update sales_order set review_reason = $3 where tenant_id = $1 and order_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(reason.map(str::to_owned))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn order_review(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Option<String>> {
        self.order_reason(tenant, id, "select review_reason as reason from sales_order where tenant_id = $1 and order_id = $2").await
    }

    async fn order_hold(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Option<String>> {
        self.order_reason(
            tenant,
            id,
            "select hold_reason as reason from sales_order where tenant_id = $1 and order_id = $2",
        )
        .await
    }

    async fn order_by_external_id(
        &self,
        tenant: &TenantId,
        external_id: &str,
    ) -> StoreResult<Option<OrderId>> {
        let row = sqlx::query(
            "select order_id from sales_order where tenant_id = $1 and external_id = $2",
        )
        .bind(tenant.as_str())
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            OrderId::parse(&text(&r, "order_id")?).map_err(|e| rows::corrupt(e.to_string()))
        })
        .transpose()
    }

    async fn order(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Option<Order>> {
        Ok(self
            .order_rows(&ORDER_BY_ID, false, tenant, id)
            .await?
            .into_order())
    }

    async fn order_to_work(
        &self,
        tenant: &TenantId,
        id: &OrderId,
    ) -> StoreResult<Option<OrderToWork>> {
        if let Some(kept) = self.working.get(tenant.as_str(), id.as_str()) {
            return Ok(Some(kept));
        }
        let since = self.working.generation();
        let read = self
            .order_rows(&ORDER_TO_WORK, true, tenant, id)
            .await?
            .into_work();
        if let Some(w) = &read {
            self.working.read(tenant.as_str(), since, w);
        }
        Ok(read)
    }

    async fn orders(&self, tenant: &TenantId, f: &OrderFilter) -> StoreResult<Page<OrderSummary>> {
        let mut a = Args::default();
        let mut sql = format!(
            "select order_id, name, status, customer_name, assigned_to, created_at, updated_at from sales_order o where tenant_id = {}",
            a.text(tenant.as_str())
        );
        if let Some(s) = f.status {
            sql += &format!(" and status = {}", a.text(s.as_str()));
        }
        if let Some(q) = &f.q {
            let like = format!(
                "%{}%",
                q.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let p = a.text(like);
            sql += &format!(
                " and (lower(name) like {p} escape '\\' or lower(coalesce(customer_name, '')) like {p} escape '\\' or lower(order_id) like {p} escape '\\')"
            );
        }
        if let Some(sku) = &f.sku {
            sql += &format!(
                " and exists (select 1 from order_line l where l.tenant_id = o.tenant_id and l.order_id = o.order_id and l.sku_key = {})",
                a.text(sku.key())
            );
        }
        if let Some(u) = &f.assigned_to {
            sql += &format!(" and assigned_to = {}", a.text(u.as_str()));
        }
        if let Some(t) = f.created_from {
            sql += &format!(" and created_at >= {}", a.int(ms(t)));
        }
        if let Some(t) = f.created_to {
            sql += &format!(" and created_at < {}", a.int(ms(t)));
        }
        if let Some((t, id)) = &f.after {
            let (pt, pt2, pi) = (a.int(ms(*t)), a.int(ms(*t)), a.text(id.as_str()));
            sql += &format!(" and (created_at > {pt} or (created_at = {pt2} and order_id > {pi}))");
        }
        let limit = f.limit.clamp(1, 500);
        sql += &format!(
            " order by created_at, order_id limit {}",
            a.int(i64::from(limit) + 1)
        );
        let fetched = a.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        let mut items: Vec<OrderSummary> = fetched
            .iter()
            .map(rows::order_summary)
            .collect::<StoreResult<_>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|o| (o.created_at, o.id.as_str().to_owned()))
        } else {
            None
        };
        if !items.is_empty() {
            let mut a = Args::default();
            let t = a.text(tenant.as_str());
            let ids: Vec<String> = items.iter().map(|o| a.text(o.id.as_str())).collect();
            let sql = format!(
                "select order_id, cast(count(*) as bigint) as lines, cast(sum(quantity) as bigint) as units, cast(sum(picked) as bigint) as picked
                 from order_line where tenant_id = {t} and order_id in ({}) group by order_id",
                ids.join(", ")
            );
            let counts = a.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
            let mut by_id: HashMap<String, (i64, i64, i64)> = HashMap::new();
            for r in &counts {
                by_id.insert(
                    text(r, "order_id")?,
                    (int(r, "lines")?, int(r, "units")?, int(r, "picked")?),
                );
            }
            for o in &mut items {
                if let Some((l, u, p)) = by_id.get(o.id.as_str()) {
                    o.line_count = *l as u32;
                    o.units = *u as u32;
                    o.picked_units = *p as u32;
                }
            }
        }
        Ok(Page { items, next })
    }

    async fn status_counts(&self, tenant: &TenantId) -> StoreResult<Vec<(OrderStatus, i64)>> {
        let rows = sqlx::query("select status, cast(count(*) as bigint) as n from sales_order where tenant_id = $1 group by status")
            .bind(tenant.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| Ok((rows::status(&text(r, "status")?)?, int(r, "n")?)))
            .collect()
    }

    async fn order_events(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Vec<OrderEvent>> {
        let rows = sqlx::query(
            "select seq, kind, user_id, station_id, payload, created_at from order_event where tenant_id = $1 and order_id = $2 order by seq",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(rows::order_event).collect()
    }

    async fn save_transition(
        &self,
        tenant: &TenantId,
        before: &Order,
        t: &Transition,
        stock: &[StockMove],
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Order> {
        // A transition that moves stock may change which SKUs have stock recorded.
        let _changing = (!stock.is_empty()).then(|| self.working.changing());
        let saved = self
            .save_transition_to_db(
                tenant,
                before,
                t,
                AlsoWritten {
                    stock,
                    shipment: None,
                },
                actor,
                now,
            )
            .await;
        self.after_save(tenant, before, &saved);
        saved
    }

    async fn reserve_label(
        &self,
        tenant: &TenantId,
        before: &Order,
        t: &Transition,
        shipment: &Shipment,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Order> {
        let saved = self
            .save_transition_to_db(
                tenant,
                before,
                t,
                AlsoWritten {
                    stock: &[],
                    shipment: Some(shipment),
                },
                actor,
                now,
            )
            .await;
        self.after_save(tenant, before, &saved);
        saved
    }

    async fn orders_labeling(&self, tenant: &TenantId) -> StoreResult<Vec<OrderId>> {
        let rows = sqlx::query(
            "select order_id from sales_order where tenant_id = $1 and labeling is not null order by updated_at, order_id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows::order_ids(&rows)
    }

    async fn claim_next(
        &self,
        tenant: &TenantId,
        user: &UserId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Order>> {
        let since = self.working.generation();
        let claimed = self.claim_in_db(tenant, user, actor, now).await?;
        if let Some(w) = &claimed {
            self.working.read(tenant.as_str(), since, w);
            if let Some(floors) = &self.claim_floors {
                floors.claimed(tenant.as_str());
            }
        }
        Ok(claimed.map(|w| w.order))
    }

    async fn clear_orders(&self, tenant: &TenantId) -> StoreResult<u64> {
        let _changing = self.working.changing();
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Deleted first and looked at after: a reservation that committed before the delete
        // reached its row is seen (PostgreSQL re-reads a row it waited for), one after it
        // finds no order to reserve.
        let deleted =
            sqlx::query("delete from sales_order where tenant_id = $1 returning labeling")
                .bind(tenant.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        let buying = deleted
            .iter()
            .filter(|r| opt_text(*r, "labeling").ok().flatten().is_some())
            .count();
        if buying > 0 {
            tx.rollback().await.map_err(db)?;
            return Err(StoreError::Conflict(format!(
                "labels are being bought for {buying} order(s); wait for them to finish"
            )));
        }
        let n = deleted.len() as u64;
        for table in [
            "order_line",
            "order_event",
            "label",
            "shipment",
            "tracking_event",
            "idempotency_key",
            "sync_state",
            "shop_push",
        ] {
            sqlx::query(&format!("delete from {table} where tenant_id = $1"))
                .bind(tenant.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    async fn insert_shipment(&self, tenant: &TenantId, s: &Shipment) -> StoreResult<()> {
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        Self::insert_shipment_in(&mut tx, tenant, s).await?;
        tx.commit().await.map_err(db)
    }

    async fn update_shipment(&self, tenant: &TenantId, s: &Shipment) -> StoreResult<()> {
        let _writer = self.writer().await;
        let r = sqlx::query(
            "update shipment set status = $3, tracking_number = $4, estimated_delivery = $5, package = $6, updated_at = $7
             where tenant_id = $1 and shipment_id = $2",
        )
        .bind(tenant.as_str())
        .bind(s.id.as_str())
        .bind(s.status.as_str())
        .bind(s.tracking_number.as_ref().map(|t| t.as_str().to_owned()))
        .bind(s.estimated_delivery.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(to_json(&s.package))
        .bind(ms(s.updated_at))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("shipment"));
        }
        Ok(())
    }

    async fn shipment(&self, tenant: &TenantId, id: &ShipmentId) -> StoreResult<Option<Shipment>> {
        let row = sqlx::query(&format!(
            "select {SHIPMENT_COLUMNS} from shipment where tenant_id = $1 and shipment_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| rows::shipment(&r)).transpose()
    }

    async fn shipments(
        &self,
        tenant: &TenantId,
        f: &ShipmentFilter,
    ) -> StoreResult<Page<Shipment>> {
        let mut a = Args::default();
        let mut sql = format!(
            "select {SHIPMENT_COLUMNS} from shipment where tenant_id = {}",
            a.text(tenant.as_str())
        );
        if let Some(o) = &f.order_id {
            sql += &format!(" and order_id = {}", a.text(o.as_str()));
        }
        if let Some(s) = f.status {
            sql += &format!(" and status = {}", a.text(s.as_str()));
        }
        if let Some(t) = f.since {
            sql += &format!(" and updated_at >= {}", a.int(ms(t)));
        }
        if let Some((t, id)) = &f.after {
            let (pt, pt2, pi) = (a.int(ms(*t)), a.int(ms(*t)), a.text(id.as_str()));
            sql +=
                &format!(" and (created_at > {pt} or (created_at = {pt2} and shipment_id > {pi}))");
        }
        let limit = f.limit.clamp(1, 500);
        sql += &format!(
            " order by created_at, shipment_id limit {}",
            a.int(i64::from(limit) + 1)
        );
        let fetched: Vec<AnyRow> = a.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        let mut items: Vec<Shipment> = fetched
            .iter()
            .map(rows::shipment)
            .collect::<StoreResult<_>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|s| (s.created_at, s.id.as_str().to_owned()))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn put_label(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        format: LabelFormat,
        bytes: &[u8],
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        sqlx::query(
            "insert into label (tenant_id, shipment_id, format, content) values ($1, $2, $3, $4)
             on conflict (tenant_id, shipment_id, format) do update set content = excluded.content",
        )
        .bind(tenant.as_str())
        .bind(shipment.as_str())
        .bind(format.as_str())
        .bind(bytes.to_vec())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn label(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        format: LabelFormat,
    ) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query(
            "select content from label where tenant_id = $1 and shipment_id = $2 and format = $3",
        )
        .bind(tenant.as_str())
        .bind(shipment.as_str())
        .bind(format.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| r.try_get::<Vec<u8>, _>("content").map_err(db))
            .transpose()
    }

    async fn set_push_state(
        &self,
        tenant: &TenantId,
        order: &OrderId,
        state: &PushState,
        now: Timestamp,
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        sqlx::query(
            "insert into shop_push (tenant_id, order_id, state, reason, fulfillment_id, updated_at)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (tenant_id, order_id) do update set state = excluded.state,
               reason = excluded.reason, fulfillment_id = excluded.fulfillment_id,
               updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(order.as_str())
        .bind(state.state.as_str())
        .bind(state.reason.clone())
        .bind(state.fulfillment_id.clone())
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn push_state(
        &self,
        tenant: &TenantId,
        order: &OrderId,
    ) -> StoreResult<Option<PushState>> {
        let row = sqlx::query(
            "select state, reason, fulfillment_id from shop_push where tenant_id = $1 and order_id = $2",
        )
        .bind(tenant.as_str())
        .bind(order.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            Ok(PushState {
                state: text(&r, "state")?,
                reason: opt_text(&r, "reason")?,
                fulfillment_id: opt_text(&r, "fulfillment_id")?,
            })
        })
        .transpose()
    }

    async fn unsynced_shipped_orders(
        &self,
        tenant: &TenantId,
        limit: u32,
    ) -> StoreResult<Vec<OrderId>> {
        let rows = sqlx::query(
            "select o.order_id from sales_order o
             left join shop_push p on p.tenant_id = o.tenant_id and p.order_id = o.order_id
             where o.tenant_id = $1 and o.status in ('shipped', 'delivered')
               and o.external_id is not null and (p.state is null or p.state <> 'synced')
             order by o.updated_at, o.order_id limit $2",
        )
        .bind(tenant.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows::order_ids(&rows)
    }

    async fn inbox_put(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        topic: &str,
        body: &[u8],
        now: Timestamp,
    ) -> StoreResult<bool> {
        let _writer = self.writer().await;
        let done = sqlx::query(
            "insert into webhook_inbox (tenant_id, webhook_id, topic, body, received_at)
             values ($1, $2, $3, $4, $5) on conflict (tenant_id, webhook_id) do nothing",
        )
        .bind(tenant.as_str())
        .bind(webhook_id)
        .bind(topic)
        .bind(body.to_vec())
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn inbox_pending(
        &self,
        tenant: &TenantId,
        limit: u32,
    ) -> StoreResult<Vec<(String, String, Vec<u8>)>> {
        let rows = sqlx::query(
            "select webhook_id, topic, body from webhook_inbox
             where tenant_id = $1 and processed_at is null order by received_at, webhook_id limit $2",
        )
        .bind(tenant.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok((
                    text(r, "webhook_id")?,
                    text(r, "topic")?,
                    r.try_get::<Vec<u8>, _>("body").map_err(db)?,
                ))
            })
            .collect()
    }

    async fn inbox_done(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        sqlx::query(
            "update webhook_inbox set processed_at = $3, body = $4 where tenant_id = $1 and webhook_id = $2",
        )
        .bind(tenant.as_str())
        .bind(webhook_id)
        .bind(ms(now))
        .bind(Vec::<u8>::new())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn put_privacy_request(
        &self,
        tenant: &TenantId,
        r: &PrivacyRequest,
    ) -> StoreResult<bool> {
        let _writer = self.writer().await;
        let done = sqlx::query(
            "insert into privacy_request (tenant_id, request_id, kind, customer_id, shop_order_ids, received_at, completed_at, result)
             values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (tenant_id, request_id) do nothing",
        )
        .bind(tenant.as_str())
        .bind(r.id.as_str())
        .bind(r.kind.as_str())
        .bind(r.customer_id.clone())
        .bind(serde_json::json!(r.shop_order_ids).to_string())
        .bind(ms(r.received_at))
        .bind(r.completed_at.map(ms))
        .bind(r.result.as_ref().map(|v| v.to_string()))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn privacy_requests(
        &self,
        tenant: &TenantId,
        open: bool,
    ) -> StoreResult<Vec<PrivacyRequest>> {
        let rows = sqlx::query(&format!(
            "select request_id, kind, customer_id, shop_order_ids, received_at, completed_at, result
             from privacy_request where tenant_id = $1 {} order by received_at desc, request_id",
            if open { "and completed_at is null" } else { "" }
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let json = |col: &str| -> StoreResult<Option<serde_json::Value>> {
                    opt_text(r, col)?
                        .map(|t| serde_json::from_str(&t).map_err(|e| rows::corrupt(e.to_string())))
                        .transpose()
                };
                let kind = text(r, "kind")?;
                Ok(PrivacyRequest {
                    id: text(r, "request_id")?,
                    kind: PrivacyKind::parse(&kind)
                        .ok_or_else(|| rows::corrupt(format!("privacy request kind {kind}")))?,
                    customer_id: opt_text(r, "customer_id")?,
                    shop_order_ids: serde_json::from_value(
                        json("shop_order_ids")?.unwrap_or_default(),
                    )
                    .map_err(|e| rows::corrupt(e.to_string()))?,
                    received_at: rows::time(r, "received_at")?,
                    completed_at: opt_int(r, "completed_at")?.map(ts).transpose()?,
                    result: json("result")?,
                })
            })
            .collect()
    }

    async fn update_privacy_request(
        &self,
        tenant: &TenantId,
        id: &str,
        result: &serde_json::Value,
        completed_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        sqlx::query(
            "update privacy_request set result = $3, completed_at = $4 where tenant_id = $1 and request_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(result.to_string())
        .bind(completed_at.map(ms))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn orders_from_shop(
        &self,
        tenant: &TenantId,
        shop_order_ids: Option<&[String]>,
    ) -> StoreResult<Vec<OrderId>> {
        let mut a = Args::default();
        let t = a.text(tenant.as_str());
        let which = match shop_order_ids {
            None => "shop_order_id is not null".to_owned(),
            Some([]) => return Ok(Vec::new()),
            Some(ids) => {
                let list: Vec<String> = ids.iter().map(|i| a.text(i.as_str())).collect();
                format!("shop_order_id in ({})", list.join(", "))
            }
        };
        let sql = format!(
            "select order_id from sales_order where tenant_id = {t} and {which} order by created_at, order_id"
        );
        a.query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                OrderId::parse(&text(r, "order_id")?).map_err(|e| rows::corrupt(e.to_string()))
            })
            .collect()
    }

    async fn redact_order(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let _changing = self.working.changing();
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let row = sqlx::query(
            "update sales_order set customer_name = $3, ship_to = null, version = version + 1, updated_at = $4
             where tenant_id = $1 and order_id = $2
               and (ship_to is not null or customer_name is null or customer_name <> $3)
             returning version",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(REDACTED)
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(db)?;
            return Ok(false);
        };
        let version = int(&row, "version")?;
        let labels = sqlx::query(
            "delete from label where tenant_id = $1
               and shipment_id in (select shipment_id from shipment where tenant_id = $1 and order_id = $2)",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        sqlx::query("update shipment set ship_to = null where tenant_id = $1 and order_id = $2")
            .bind(tenant.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Self::insert_event(
            &mut tx,
            tenant,
            id,
            version,
            "customer_redacted",
            &serde_json::json!({"label_images_erased": labels}),
            &Actor::system(),
            now,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn sync_watermark(&self, tenant: &TenantId) -> StoreResult<Option<Timestamp>> {
        let row = sqlx::query("select watermark from sync_state where tenant_id = $1")
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| rows::time(&r, "watermark")).transpose()
    }

    async fn set_sync_watermark(&self, tenant: &TenantId, at: Timestamp) -> StoreResult<()> {
        let _writer = self.writer().await;
        sqlx::query(
            "insert into sync_state (tenant_id, watermark) values ($1, $2)
             on conflict (tenant_id) do update set watermark = excluded.watermark",
        )
        .bind(tenant.as_str())
        .bind(ms(at))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn put_tracking_events(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        events: &[TrackingEvent],
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("delete from tracking_event where tenant_id = $1 and shipment_id = $2")
            .bind(tenant.as_str())
            .bind(shipment.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        for (seq, e) in events.iter().enumerate() {
            sqlx::query(
                "insert into tracking_event
                 (tenant_id, shipment_id, seq, at, kind, code, description, location)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(tenant.as_str())
            .bind(shipment.as_str())
            .bind(seq as i64)
            .bind(ms(e.at))
            .bind(e.kind.as_str())
            .bind(e.code.as_str())
            .bind(e.description.as_str())
            .bind(e.location.clone())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn tracking_events(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
    ) -> StoreResult<Vec<TrackingEvent>> {
        let rows = sqlx::query(
            "select at, kind, code, description, location from tracking_event
             where tenant_id = $1 and shipment_id = $2 order by seq",
        )
        .bind(tenant.as_str())
        .bind(shipment.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(TrackingEvent {
                    at: rows::time(r, "at")?,
                    kind: TrackingKind::parse(&text(r, "kind")?),
                    code: text(r, "code")?,
                    description: text(r, "description")?,
                    location: opt_text(r, "location")?,
                })
            })
            .collect()
    }

    async fn settings(&self, tenant: &TenantId) -> StoreResult<Option<serde_json::Value>> {
        self.document(
            "select document from tenant_setting where tenant_id = $1",
            &[tenant.as_str()],
        )
        .await
    }

    async fn put_settings(
        &self,
        tenant: &TenantId,
        doc: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.put_document(
            "insert into tenant_setting (tenant_id, document, updated_at) values ($1, $2, $3)
             on conflict (tenant_id) do update set document = excluded.document, updated_at = excluded.updated_at",
            &[tenant.as_str()],
            doc,
            now,
        )
        .await
    }

    async fn device_settings(
        &self,
        tenant: &TenantId,
        station: &str,
    ) -> StoreResult<Option<serde_json::Value>> {
        self.document(
            "select document from device_setting where tenant_id = $1 and station_id = $2",
            &[tenant.as_str(), station],
        )
        .await
    }

    async fn put_device_settings(
        &self,
        tenant: &TenantId,
        station: &str,
        doc: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.put_document(
            "insert into device_setting (tenant_id, station_id, document, updated_at) values ($1, $2, $3, $4)
             on conflict (tenant_id, station_id) do update set document = excluded.document, updated_at = excluded.updated_at",
            &[tenant.as_str(), station],
            doc,
            now,
        )
        .await
    }

    async fn on_hand(&self, tenant: &TenantId, sku: &Sku) -> StoreResult<Vec<(Location, i64)>> {
        if let Some(w) = &self.sqlite_work {
            let (tenant, sku) = (tenant.as_str().to_owned(), sku.key());
            return w
                .run(move |c| crate::work::on_hand(c, &tenant, &sku))
                .await?;
        }
        let rows = self
            .hot_fetch_all(
                sqlx::query::<sqlx::Postgres>(
                    "select location, on_hand from stock where tenant_id = $1 and sku_key = $2",
                )
                .bind(tenant.as_str())
                .bind(sku.key()),
            )
            .await?;
        rows.iter()
            .map(|r| Ok((rows::location(&text(r, "location")?)?, int(r, "on_hand")?)))
            .collect()
    }

    async fn stock(
        &self,
        tenant: &TenantId,
        sku: Option<&Sku>,
        location: Option<&Location>,
    ) -> StoreResult<Vec<StockLevel>> {
        let mut a = Args::default();
        let mut sql = format!(
            "select sku_key, sku, location, on_hand from stock where tenant_id = {}",
            a.text(tenant.as_str())
        );
        if let Some(s) = sku {
            sql += &format!(" and sku_key = {}", a.text(s.key()));
        }
        let fetched = a.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        let levels = fetched
            .iter()
            .map(|r| {
                Ok((
                    text(r, "sku_key")?,
                    text(r, "sku")?,
                    rows::location(&text(r, "location")?)?,
                    int(r, "on_hand")?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        if levels.is_empty() {
            return Ok(Vec::new());
        }
        let demand = self.demand(tenant, sku).await?;
        let mut out = allocate(levels, &demand);
        if let Some(l) = location {
            out.retain(|s| s.location == *l);
        }
        Ok(out)
    }

    async fn change_stock(
        &self,
        tenant: &TenantId,
        changes: &[StockChange],
        cause: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Vec<StockLevel>> {
        let _changing = self.working.changing();
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let first = Self::next_stock_seqs(&mut tx, tenant, changes.len() as i64).await?;
        let mut touched = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            let (sku, location, ..) = Self::apply_stock(
                &mut tx,
                tenant,
                first + i as i64,
                c,
                cause,
                None,
                None,
                actor,
                now,
            )
            .await?;
            touched.push((sku, location));
        }
        tx.commit().await.map_err(db)?;
        let mut out = Vec::new();
        for (sku, location) in touched {
            let sku = rows::sku(&sku)?;
            out.extend(self.stock(tenant, Some(&sku), Some(&location)).await?);
        }
        out.dedup_by(|a, b| a.sku == b.sku && a.location == b.location);
        Ok(out)
    }

    async fn stock_events(
        &self,
        tenant: &TenantId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<StockEvent>> {
        let rows = sqlx::query(
            "select seq, sku, location, delta, on_hand, cause, order_id, shipment_id, user_id, created_at from stock_event
             where tenant_id = $1 and seq > $2 order by seq limit $3",
        )
        .bind(tenant.as_str())
        .bind(after_seq)
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(rows::stock_event).collect()
    }

    async fn shipment_stock_moves(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
    ) -> StoreResult<Vec<StockMove>> {
        let rows = sqlx::query(
            "select sku, location, delta from stock_event where tenant_id = $1 and shipment_id = $2 and cause = 'shipped' order by seq",
        )
        .bind(tenant.as_str())
        .bind(shipment.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(StockMove {
                    sku: rows::sku(&text(r, "sku")?)?,
                    location: rows::location(&text(r, "location")?)?,
                    delta: int(r, "delta")?,
                })
            })
            .collect()
    }

    async fn idempotency_start(
        &self,
        tenant: &TenantId,
        key: &str,
        user: &UserId,
        fingerprint: &str,
        now: Timestamp,
    ) -> StoreResult<IdempotencyStart> {
        let _writer = self.writer().await;
        let inserted = sqlx::query(
            "insert into idempotency_key (tenant_id, idem_key, user_id, fingerprint, created_at) values ($1, $2, $3, $4, $5)
             on conflict (tenant_id, idem_key) do nothing",
        )
        .bind(tenant.as_str())
        .bind(key)
        .bind(user.as_str())
        .bind(fingerprint)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if inserted.rows_affected() == 1 {
            return Ok(IdempotencyStart::Proceed);
        }
        let row = sqlx::query("select fingerprint, status_code, response, created_at from idempotency_key where tenant_id = $1 and idem_key = $2")
            .bind(tenant.as_str())
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        let Some(row) = row else {
            // Abandoned between our insert and our read: the caller may simply retry.
            return Ok(IdempotencyStart::InProgress);
        };
        if text(&row, "fingerprint")? != fingerprint {
            return Ok(IdempotencyStart::Mismatch);
        }
        match (
            opt_int(&row, "status_code")?,
            row.try_get::<Option<Vec<u8>>, _>("response").map_err(db)?,
        ) {
            (Some(status), Some(body)) => Ok(IdempotencyStart::Replay {
                status: status as u16,
                body,
            }),
            _ => {
                let since = rows::time(&row, "created_at")?;
                if now - since > UNFINISHED_REQUEST_INTERRUPTED_AFTER {
                    Ok(IdempotencyStart::Interrupted { since })
                } else {
                    Ok(IdempotencyStart::InProgress)
                }
            }
        }
    }

    async fn idempotency_finish(
        &self,
        tenant: &TenantId,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> StoreResult<()> {
        let _writer = self.writer().await;
        sqlx::query("update idempotency_key set status_code = $3, response = $4 where tenant_id = $1 and idem_key = $2")
            .bind(tenant.as_str())
            .bind(key)
            .bind(i64::from(status))
            .bind(body.to_vec())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn idempotency_abandon(&self, tenant: &TenantId, key: &str) -> StoreResult<()> {
        let _writer = self.writer().await;
        sqlx::query("delete from idempotency_key where tenant_id = $1 and idem_key = $2 and status_code is null")
            .bind(tenant.as_str())
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}
