//! `SqlStore`: the one implementation of [`Store`](packbench_core::ports::Store), over an
//! `AnyPool`. This file holds the connection and the queries' shared parts; each role of the
//! port is implemented in a file of its own (`accounts`, `orders`, `shipments`, `shop_sync`,
//! `privacy`, `settings`, `stock`, `idempotency`), the writes several roles share are in
//! `write`, and SQLite's log checkpointer in `checkpoint`.

mod accounts;
mod checkpoint;
mod idempotency;
mod orders;
mod privacy;
mod settings;
mod shipments;
mod shop_sync;
mod stock;
mod write;

use std::sync::Arc;
use std::time::Duration;

use packbench_core::domain::{OrderId, TenantId};
use packbench_core::model::{Order, Shipment, StockMove, Timestamp};
use packbench_core::ports::{StoreError, StoreResult};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor, Row};

use crate::rows::{self, db, ms, opt_text, text};

use checkpoint::Checkpointer;

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
    /// SQLite: the connection for the bench's hot path, on a thread of its own (see `fast::sqlite_work`).
    sqlite_work: Option<Arc<crate::fast::sqlite_work::WorkThread>>,
    /// PostgreSQL: connections for the bench's hot path (see `fast::pg_connections`).
    pg_hot: Option<crate::fast::pg_connections::HotPath>,
    /// PostgreSQL: where transitions queue to be written in groups (see `fast::pg_group_commit`), and its
    /// connection.
    pg_commit: Option<(
        Arc<crate::fast::pg_group_commit::Committer>,
        crate::fast::pg_connections::HotPath,
    )>,
    /// PostgreSQL: where claims queue to be handed out in groups (see `fast::pg_group_claim`), and its
    /// connection.
    pg_claim: Option<(
        Arc<crate::fast::pg_group_claim::Claimer>,
        crate::fast::pg_connections::HotPath,
    )>,
    /// The orders being worked, as last read or written (see `fast::order_cache`).
    working: Arc<crate::fast::order_cache::Working>,
    /// PostgreSQL: where each tenant's claims start (see `fast::pg_claim_floor`).
    claim_floors: Option<Arc<crate::fast::pg_claim_floor::ClaimFloors>>,
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
        // The bench's work goes to a connection of our own on its own thread (see `fast::sqlite_work`),
        // and so do the checkpoints.
        if let (Backend::Sqlite, Some(gate)) = (backend, &store.write_gate) {
            let work = Arc::new(crate::fast::sqlite_work::WorkThread::open(
                &path,
                gate.clone(),
            )?);
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
            let committing = crate::fast::pg_connections::HotPath::new(options.clone(), 1)?;
            store.pg_commit = Some((
                Arc::new(crate::fast::pg_group_commit::Committer::start(
                    committing.clone(),
                )),
                committing,
            ));
            let claiming = crate::fast::pg_connections::HotPath::new(options.clone(), 1)?;
            store.pg_claim = Some((
                Arc::new(crate::fast::pg_group_claim::Claimer::start(
                    claiming.clone(),
                )),
                claiming,
            ));
            store.pg_hot = Some(crate::fast::pg_connections::HotPath::new(
                options,
                max_connections as usize,
            )?);
            store.claim_floors = Some(Arc::new(crate::fast::pg_claim_floor::ClaimFloors::start(
                store.pool.clone(),
            )));
        }
        Ok(store)
    }

    /// A hot-path statement's rows, on PostgreSQL's own connections (`fast::pg_connections`). SQLite's hot
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
                .run(move |c| crate::fast::sqlite_work::order_rows(c, sql, stock, &tenant, &id))
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
    /// quarter second after claims (see `fast::pg_claim_floor`). Nothing to do on SQLite.
    pub async fn raise_claim_floor(&self, tenant: &TenantId) -> StoreResult<()> {
        match self.backend {
            Backend::Postgres => {
                crate::fast::pg_claim_floor::raise(&self.pool, tenant.as_str()).await
            }
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
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}
