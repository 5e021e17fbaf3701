//! PostgreSQL: the connections the bench's hot path uses (loading an order, stock on hand,
//! saving a transition, claiming), handed back without a round trip.
//!
//! sqlx 0.8's pool pings every connection as it comes back (`return_to_pool` sends a Sync and
//! waits for the server's answer), so each statement through it cost two round trips: under
//! the pick/pack load those pings were ~15 % of the hub's CPU and woke a server process each
//! time. These connections are sqlx's PostgreSQL driver itself rather than its `Any` layer,
//! which copied every row and its column names into `AnyRow`s (allocations that were a
//! fifth of the hub's CPU). deadpool hands a connection out and takes it back as is; a statement
//! that fails
//! drops its connection instead (it may be broken), and the next use opens a new one.

use deadpool::managed::{self, Metrics, Object, RecycleResult};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgRow};
use sqlx::query::Query;
use sqlx::{Connection, Postgres};

use packbench_core::ports::StoreError;

use crate::rows::db;

pub(crate) struct Connector {
    options: PgConnectOptions,
}

impl managed::Manager for Connector {
    type Type = PgConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PgConnection, sqlx::Error> {
        PgConnection::connect_with(&self.options).await
    }

    async fn recycle(&self, _: &mut PgConnection, _: &Metrics) -> RecycleResult<sqlx::Error> {
        Ok(())
    }
}

#[derive(Clone)]
pub(crate) struct HotPath(managed::Pool<Connector>);

impl HotPath {
    pub(crate) fn new(options: PgConnectOptions, size: usize) -> Result<Self, StoreError> {
        managed::Pool::builder(Connector { options })
            .max_size(size)
            .runtime(deadpool::Runtime::Tokio1)
            .wait_timeout(Some(std::time::Duration::from_secs(10)))
            .build()
            .map(Self)
            .map_err(|e| StoreError::Backend(Box::new(e)))
    }

    async fn connection(&self) -> Result<Object<Connector>, StoreError> {
        self.0.get().await.map_err(|e| match e {
            managed::PoolError::Backend(e) => db(e),
            other => StoreError::Backend(other.to_string().into()),
        })
    }

    /// Opens every connection now, so the first operations after a start do not wait for
    /// them (a connection takes a few milliseconds: a server process and its login).
    pub(crate) async fn open_all(&self) -> Result<(), StoreError> {
        let size = self.0.status().max_size;
        let mut opened = Vec::with_capacity(size);
        for _ in 0..size {
            opened.push(self.connection().await?);
        }
        Ok(())
    }

    pub(crate) async fn fetch_all<'q>(
        &self,
        q: Query<'q, Postgres, PgArguments>,
    ) -> Result<Vec<PgRow>, StoreError> {
        let mut c = self.connection().await?;
        let r = q.fetch_all(&mut *c).await;
        settle(c, r)
    }
}

/// A connection whose statement failed may be broken: it leaves the pool (closed when
/// dropped) instead of going back.
fn settle<T>(c: Object<Connector>, r: Result<T, sqlx::Error>) -> Result<T, StoreError> {
    if r.is_err() {
        drop(Object::take(c));
    }
    r.map_err(db)
}
