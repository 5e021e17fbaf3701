//! What every handler shares: the services, the live event stream and a cache of tenants
//! (they are looked up on every request and almost never change). The store is not here:
//! handlers reach it only through the services.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use packbench_core::domain::TenantId;
use packbench_core::model::{Tenant, Timestamp};
use packbench_core::ports::{Carriers, Clock, EventBus, LiveEvent, Session, Store, SystemClock};

use packbench_core::service::Fulfillment;
use tokio::sync::{RwLock, broadcast};

use crate::error::{ApiError, ApiResult};

/// Live events for every tenant; each subscriber keeps only its own tenant's.
pub struct Broadcast {
    tx: broadcast::Sender<(TenantId, LiveEvent)>,
}

impl Broadcast {
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(1024).0,
        }
    }
    pub fn subscribe(&self) -> broadcast::Receiver<(TenantId, LiveEvent)> {
        self.tx.subscribe()
    }
}

impl Default for Broadcast {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus for Broadcast {
    fn publish(&self, tenant: &TenantId, event: LiveEvent) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.tx.send((tenant.clone(), event));
    }
}

pub struct AppState {
    pub fulfillment: Fulfillment,
    pub events: Arc<Broadcast>,
    tenants: RwLock<HashMap<String, Tenant>>,
    /// Sessions checked in the last [`SESSION_FRESH_FOR`]: every request carries a token, and
    /// a bench sends many. Logout through this hub drops the entry at once; a logout through
    /// another hub sharing the database is seen here within that time.
    sessions: std::sync::Mutex<HashMap<(TenantId, String), (Instant, Session)>>,
    /// Token hashes of sessions ended through this hub, for the live streams they opened.
    ended: tokio::sync::broadcast::Sender<String>,
}

const SESSION_FRESH_FOR: Duration = Duration::from_secs(2);
/// How often a live stream checks that its session still lasts.
const SESSION_RECHECK: Duration = Duration::from_secs(15);
const SESSION_CACHE_MAX: usize = 10_000;

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> Self {
        // A ship call that gets no answer in 30 s is reconciled, never repeated.
        let carriers = Arc::new(packbench_ups::UpsAccounts::new(
            store.clone(),
            Duration::from_secs(30),
        ));
        let shops = Arc::new(packbench_shopify::ShopifyShops::new(store.clone()));
        Self::with(store, carriers, shops, Arc::new(SystemClock))
    }

    pub fn with(
        store: Arc<dyn Store>,
        carriers: Arc<dyn Carriers>,
        shops: Arc<dyn packbench_core::ports::Shops>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let events = Arc::new(Broadcast::new());
        let fulfillment = Fulfillment::new(store, carriers, events.clone(), clock)
            .with_shops(shops)
            .with_label_converter(Arc::new(packbench_labels::converter::Converter));
        Self {
            fulfillment,
            events,
            tenants: RwLock::new(HashMap::new()),
            sessions: std::sync::Mutex::new(HashMap::new()),
            ended: tokio::sync::broadcast::channel(64).0,
        }
    }

    /// The live session of a token hash, if any.
    pub async fn session(
        &self,
        tenant: &TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> ApiResult<Option<Session>> {
        let key = (tenant.clone(), token_hash.to_owned());
        if let Ok(cache) = self.sessions.lock()
            && let Some((at, s)) = cache.get(&key)
            && at.elapsed() < SESSION_FRESH_FOR
            && s.expires_at > now
        {
            return Ok(Some(s.clone()));
        }
        let found = self.fulfillment.session(tenant, token_hash, now).await?;
        if let Ok(mut cache) = self.sessions.lock() {
            if cache.len() >= SESSION_CACHE_MAX {
                cache.clear();
            }
            match &found {
                Some(s) => cache.insert(key, (Instant::now(), s.clone())),
                None => cache.remove(&key),
            };
        }
        Ok(found)
    }

    /// Ends a session here and in the database.
    pub async fn end_session(&self, tenant: &TenantId, token_hash: &str) -> ApiResult<()> {
        if let Ok(mut cache) = self.sessions.lock() {
            cache.remove(&(tenant.clone(), token_hash.to_owned()));
        }
        self.fulfillment.end_session(tenant, token_hash).await?;
        let _ = self.ended.send(token_hash.to_owned());
        Ok(())
    }

    /// Resolves when the session of `token_hash` ends: at once when it is logged out through
    /// this hub, otherwise when a check finds it ended or expired (every
    /// [`SESSION_RECHECK`]: a logout through another hub, the end of a shift).
    pub async fn session_ended(&self, tenant: &TenantId, token_hash: &str) {
        let mut ended = self.ended.subscribe();
        loop {
            tokio::select! {
                heard = ended.recv() => match heard {
                    Ok(h) if h == token_hash => return,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = tokio::time::sleep(SESSION_RECHECK) => {}
            }
            let now = self.fulfillment.clock().now();
            if !matches!(self.session(tenant, token_hash, now).await, Ok(Some(_))) {
                return;
            }
        }
    }

    /// The tenant with this slug; unknown tenants are a 404.
    pub async fn tenant(&self, slug: &str) -> ApiResult<Tenant> {
        if let Some(t) = self.tenants.read().await.get(slug) {
            return Ok(t.clone());
        }
        let found = self.fulfillment.tenant_by_slug(slug).await?;
        let t =
            found.ok_or_else(|| ApiError::not_found(format!("no tenant `{slug}` on this hub")))?;
        self.tenants
            .write()
            .await
            .insert(slug.to_owned(), t.clone());
        Ok(t)
    }
}
