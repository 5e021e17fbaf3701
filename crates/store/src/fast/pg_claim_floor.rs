//! PostgreSQL: raising each tenant's claim floor (migration 0009) behind the claims.
//!
//! A claim reads the floor and walks the queue index from there; the walk passes the index
//! entries of every order claimed since the floor last moved (PostgreSQL keeps them until a
//! vacuum), each a visit to the order's row. So the floor is raised to the oldest claimable
//! order after every [`CLAIMS_PER_RAISE`] claims of a tenant (or a quarter second after its
//! last claim): a claim walks past a few dozen entries at most.
//!
//! The raise is one transaction: lock the floor row (waiting for any order becoming
//! claimable, whose trigger holds it), then, in the next statement's snapshot, move it up to
//! the oldest order still pending and not on hold. See the migration for why no claimable
//! order is ever left below it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::Notify;

use packbench_core::ports::StoreError;

use crate::rows::db;

/// Claims of one tenant after which its floor is raised at once.
const CLAIMS_PER_RAISE: u32 = 16;
/// How long a tenant that claimed fewer waits for its raise.
const AT_LEAST_EVERY: Duration = Duration::from_millis(250);

/// Tenants that claimed since their floor was last raised (and how many times), and the
/// task raising them. Stops with the store.
pub(crate) struct ClaimFloors {
    claimed: Arc<Mutex<HashMap<String, u32>>>,
    wake: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl ClaimFloors {
    pub(crate) fn start(pool: AnyPool) -> Self {
        let claimed: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        let wake = Arc::new(Notify::new());
        let (pending, woken) = (claimed.clone(), wake.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(AT_LEAST_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = woken.notified() => {}
                }
                let tenants: Vec<String> = {
                    let mut map = pending.lock().unwrap_or_else(|e| e.into_inner());
                    map.drain().map(|(t, _)| t).collect()
                };
                for tenant in tenants {
                    if let Err(e) = raise(&pool, &tenant).await {
                        tracing::warn!(error = %e, "could not raise the claim floor; claims still work, walking further");
                    }
                }
            }
        });
        Self {
            claimed,
            wake,
            task,
        }
    }

    /// `tenant` claimed an order: its floor is raised soon.
    pub(crate) fn claimed(&self, tenant: &str) {
        let mut map = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        let n = match map.get_mut(tenant) {
            Some(n) => n,
            None => map.entry(tenant.to_owned()).or_insert(0),
        };
        *n += 1;
        if *n == CLAIMS_PER_RAISE {
            self.wake.notify_one();
        }
    }
}

impl Drop for ClaimFloors {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Raises `tenant`'s floor to its oldest claimable order (if that is above it).
pub(crate) async fn raise(pool: &AnyPool, tenant: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("select 1 from claim_floor where tenant_id = $1 for update")
        .bind(tenant)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    // A new statement, a new snapshot: it has every order that became claimable before the
    // lock was taken.
    sqlx::query(
        "update claim_floor f set created_at = o.created_at, order_id = o.order_id
         from (select created_at, order_id from sales_order
               where tenant_id = $1 and status = 'pending' and hold_reason is null
                 and (created_at, order_id) >= (
                   (select created_at from claim_floor where tenant_id = $1),
                   (select order_id from claim_floor where tenant_id = $1))
               order by created_at, order_id limit 1) o
         where f.tenant_id = $1 and (o.created_at, o.order_id) > (f.created_at, f.order_id)",
    )
    .bind(tenant)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)
}
