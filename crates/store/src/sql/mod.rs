//! `SqlStore`: the one implementation of [`Store`](packbench_core::ports::Store), over sqlx's
//! `Any` pools. This file holds the connections, the [`Write`] every pool write goes through,
//! and the queries' shared parts; each role of the port is implemented in a file of its own
//! (`accounts`, `orders`, `shipments`, `shop_sync`, `privacy`, `settings`, `stock`,
//! `idempotency`), and the writes several roles share are in `write`. Which way the bench's
//! operations go, fast (`crate::fast`) or plain, is chosen here ([`Paths`]).

mod accounts;
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

use crate::gate::{Turn, WriteGate};
use crate::rows::{self, db, ms, opt_text, text};

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

/// Which way the bench's operations (reads of an order to work, transitions, claims) reach
/// the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paths {
    /// Through the throughput layer (`fast`): the order cache, SQLite's work thread,
    /// PostgreSQL's own connections and group commits. What a hub runs.
    #[default]
    Fast,
    /// One transaction per operation on sqlx's pool, nothing kept in memory: the reference
    /// the fast path is held to (the store's behaviour suite runs on both) and measured
    /// against (`packbench-load --plain`).
    Plain,
}

#[derive(Clone)]
pub struct SqlStore {
    /// Reads. On SQLite its connections are read-only (`pragma query_only`), so a write that
    /// does not go through [`SqlStore::write`] fails in every test instead of slipping past
    /// the gate and the order cache.
    pool: AnyPool,
    /// Writes, only through [`SqlStore::write`]. SQLite: one connection (the gate lets one
    /// writer at a time in anyway). PostgreSQL: the same pool as reads.
    writes: AnyPool,
    backend: Backend,
    /// SQLite's write gate (see `gate`); `None` on PostgreSQL.
    gate: Option<WriteGate>,
    paths: Paths,
    _checkpointer: Option<Arc<crate::fast::sqlite_checkpoint::Checkpointer>>,
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
    /// The orders being worked, as last read or written (see `fast::order_cache`); `None` on
    /// the plain path.
    working: Option<Arc<crate::fast::order_cache::Working>>,
    /// PostgreSQL: where each tenant's claims start (see `fast::pg_claim_floor`).
    claim_floors: Option<Arc<crate::fast::pg_claim_floor::ClaimFloors>>,
    /// What seals the settings' secrets (`crate::sealed`). Without one, secrets are refused,
    /// never written in plain text.
    secret_key: Option<Arc<crate::sealed::SecretKey>>,
}

/// What a write may change, as far as the order cache is concerned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Touches {
    /// Orders (their columns or lines) or stock: everything the order cache keeps is retired
    /// when the write ends, however it ends.
    OrdersOrStock,
    /// One order's transition or claim, moving no stock: the cache follows the order
    /// (`after_save`, or a claim's read kept) instead of being retired.
    OneTransition,
    /// Nothing an order to work holds: accounts, settings, shipments and labels, sync
    /// state, idempotency records, the webhook inbox, new orders, an order's review or hold
    /// flags.
    NoOrderOrStock,
}

/// Leave to write through sqlx's pool: SQLite's gate held for as long as it lives, and the
/// order cache retired when it is dropped (after the write's commit) if the write said it
/// [`Touches::OrdersOrStock`]. The only way to the pool that writes.
pub(crate) struct Write<'s> {
    writes: &'s AnyPool,
    _turn: Option<Turn>,
    _retire: Option<crate::fast::order_cache::Changing<'s>>,
}

impl<'s> Write<'s> {
    /// Where the write's statements run (one at a time, or in a transaction begun on it).
    pub(crate) fn pool(&self) -> &'s AnyPool {
        self.writes
    }

    pub(crate) async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        self.writes.begin().await.map_err(db)
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

/// What a transition writes besides the order, its lines and its event.
struct AlsoWritten<'a> {
    /// Stock taken or given back.
    stock: &'a [StockMove],
    /// A label reservation's pending shipment.
    shipment: Option<&'a Shipment>,
}

const SHIPMENT_COLUMNS: &str = "shipment_id, order_id, status, carrier, service, tracking_number, estimated_delivery, package, ship_to, created_at, updated_at";
/// What a shipment is read with: its columns as written, and what is recorded of it later.
const SHIPMENT_READ: &str = "shipment_id, order_id, status, carrier, service, tracking_number, estimated_delivery, package, ship_to, created_at, updated_at, boxed_at";

impl SqlStore {
    /// Opens (creating a SQLite file if needed) and migrates the database at `url`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, Paths::Fast).await
    }

    /// [`SqlStore::connect`], with the bench's operations on `paths`.
    pub async fn connect_with(url: &str, paths: Paths) -> StoreResult<Self> {
        let max_connections = 8;
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
        if backend == Backend::Sqlite {
            create_private(&path);
        }
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { "&" } else { "?" })
            }
            _ => url.to_owned(),
        };
        let open = |connections: u32, read_only: bool| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(Duration::from_secs(10))
                // Not a round trip to the server before every statement (sqlx's default pings
                // a pooled connection each time it is handed out: a third of the hub's CPU on
                // PostgreSQL under load). A connection the server dropped fails its next
                // statement and is closed; the request answers 503 and the next one gets a
                // new connection.
                .test_before_acquire(false)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            // WAL lets readers run beside the writer. FULL syncs the log at
                            // every commit of this pool, so what it wrote survives a power
                            // cut, not only a process crash: label reservations and
                            // purchases, the webhook inbox, imports. (The bench's pick/pack
                            // path writes on its own connection with NORMAL,
                            // `fast::sqlite_work`; a FULL commit syncs those earlier log
                            // frames too.) busy_timeout makes writers queue, not fail.
                            conn.execute("pragma journal_mode = wal").await?;
                            conn.execute("pragma synchronous = full").await?;
                            conn.execute("pragma busy_timeout = 10000").await?;
                            if paths == Paths::Fast {
                                // Checkpoints run in the background
                                // (`fast::sqlite_checkpoint`), not inside a commit.
                                conn.execute("pragma wal_autocheckpoint = 0").await?;
                            }
                            conn.execute("pragma foreign_keys = on").await?;
                            if read_only {
                                conn.execute("pragma query_only = on").await?;
                            }
                        }
                        Ok(())
                    })
                })
                .connect(&url)
        };
        let (pool, writes) = match backend {
            Backend::Sqlite => {
                let writes = open(1, false).await.map_err(db)?;
                (open(max_connections, true).await.map_err(db)?, writes)
            }
            Backend::Postgres => {
                let pool = open(max_connections, false).await.map_err(db)?;
                (pool.clone(), pool)
            }
        };
        let gate = (backend == Backend::Sqlite).then(WriteGate::default);
        let mut store = Self {
            pool,
            writes,
            backend,
            gate,
            paths,
            _checkpointer: None,
            sqlite_work: None,
            pg_hot: None,
            pg_commit: None,
            pg_claim: None,
            working: None,
            claim_floors: None,
            secret_key: None,
        };
        store.migrate().await?;
        if paths == Paths::Plain {
            return Ok(store);
        }
        store.working = Some(Arc::default());
        // The bench's work goes to a connection of our own on its own thread (see
        // `fast::sqlite_work`), and so do the checkpoints.
        if let (Backend::Sqlite, Some(gate)) = (backend, &store.gate) {
            let work = Arc::new(crate::fast::sqlite_work::WorkThread::open(
                &path,
                gate.clone(),
            )?);
            store._checkpointer = Some(Arc::new(
                crate::fast::sqlite_checkpoint::Checkpointer::start(
                    path.clone(),
                    work.clone(),
                    gate.clone(),
                ),
            ));
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

    /// The store, sealing the settings' secrets with `key` (`crate::sealed`), for a database
    /// this process just made (tests, tools). A hub or station opening a database that may
    /// hold secrets already uses [`SqlStore::sealed_with`].
    pub fn with_secret_key(mut self, key: crate::sealed::SecretKey) -> Self {
        self.secret_key = Some(Arc::new(key));
        self
    }

    /// The store, its secrets under `key`: secrets kept in plain text before sealing existed
    /// are sealed now, and a key other than the database's is refused at once, naming both key
    /// ids. Answers the store and how many tenants' secrets were sealed now. How every hub and
    /// station opens its database.
    pub async fn sealed_with(self, key: crate::sealed::SecretKey) -> StoreResult<(Self, usize)> {
        let store = self.with_secret_key(key);
        let sealed = store.seal_stored_secrets().await?;
        Ok((store, sealed))
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

    /// One order's rows (`ORDER_BY_ID` or `ORDER_TO_WORK`), read where the hot path reads
    /// (on the plain path, on the pool).
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
        let mut order = rows::OrderRows::default();
        if self.pg_hot.is_some() {
            let fetched = self
                .hot_fetch_all(
                    sqlx::query::<sqlx::Postgres>(sql)
                        .bind(tenant.as_str())
                        .bind(id.as_str()),
                )
                .await?;
            for r in &fetched {
                order.add(r, stock)?;
            }
        } else {
            let fetched = sqlx::query(sql)
                .bind(tenant.as_str())
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
            for r in &fetched {
                order.add(r, stock)?;
            }
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

    /// Leave to write through the pool (see [`Write`]): waits for SQLite's gate.
    pub(crate) async fn write(&self, touches: Touches) -> Write<'_> {
        let turn = match &self.gate {
            Some(gate) => Some(gate.turn().await),
            None => None,
        };
        Write {
            writes: &self.writes,
            _turn: turn,
            _retire: match (&self.working, touches) {
                (Some(working), Touches::OrdersOrStock) => Some(working.changing()),
                _ => None,
            },
        }
    }

    /// Which way the bench's operations reach the database.
    pub fn paths(&self) -> Paths {
        self.paths
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Keeps the order cache honest after a write of `before`'s transition.
    fn after_save(&self, tenant: &TenantId, before: &Order, saved: &StoreResult<Order>) {
        let Some(working) = &self.working else {
            return;
        };
        match saved {
            Ok(order) => working.wrote(tenant.as_str(), before.version, order),
            Err(StoreError::Conflict(_)) => working.forget(tenant.as_str(), before.id().as_str()),
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

    /// The pool that writes, for tools and tests that run SQL of their own. What they
    /// write bypasses the write gate and the order cache: only for a store no hub serves.
    pub fn pool_for_tools(&self) -> &AnyPool {
        &self.writes
    }

    /// Applies any migration not yet applied. Safe to run while a hub uses the database.
    pub async fn migrate(&self) -> StoreResult<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &crate::SQLITE_MIGRATOR,
            Backend::Postgres => &crate::POSTGRES_MIGRATOR,
        };
        migrator
            .run(&self.writes)
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
        let w = self.write(Touches::NoOrderOrStock).await;
        let mut q = sqlx::query(sql);
        for k in keys {
            q = q.bind(k.to_string());
        }
        q.bind(doc.to_string())
            .bind(ms(now))
            .execute(w.pool())
            .await
            .map_err(db)?;
        Ok(())
    }
}

/// A new SQLite file, readable and writable by its owner only: it holds the warehouse's
/// credentials and its customers' addresses. SQLite gives the log files it makes beside it
/// the same mode. An existing file is left as it is; a path that cannot be created is left
/// for the connection to report.
fn create_private(path: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gate and the order cache are kept only if every write goes through
    /// [`SqlStore::write`]; on SQLite the read pool refuses anything else.
    #[tokio::test]
    async fn on_sqlite_a_write_that_skips_the_gate_is_refused() {
        let store = SqlStore::connect(&crate::testing::sqlite_url())
            .await
            .unwrap();
        let skipped = sqlx::query("update tenant set stock_seq = stock_seq + 1")
            .execute(&store.pool)
            .await;
        let e = skipped.expect_err("the read pool wrote");
        assert!(e.to_string().contains("readonly"), "{e}");
        let w = store.write(Touches::NoOrderOrStock).await;
        sqlx::query("update tenant set stock_seq = stock_seq + 1")
            .execute(w.pool())
            .await
            .unwrap();
    }

    /// The database holds secrets and addresses: only its owner may read it, or its log.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_file_is_its_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let url = crate::testing::sqlite_url();
        let path = url.trim_start_matches("sqlite://").to_owned();
        let store = SqlStore::connect(&url).await.unwrap();
        let w = store.write(Touches::NoOrderOrStock).await;
        sqlx::query("update tenant set stock_seq = stock_seq + 1")
            .execute(w.pool())
            .await
            .unwrap();
        for file in [path.clone(), format!("{path}-wal")] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{file}: {mode:o}");
        }
    }
}
