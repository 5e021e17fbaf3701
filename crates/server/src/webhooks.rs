//! Background processing of kept webhook deliveries: one worker per tenant at a time; a
//! delivery that arrives while it runs is picked up by the same worker's next round, or by the
//! periodic sweep.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use packbench_core::domain::TenantId;

use crate::state::AppState;

/// Tenants with a worker running, and whether more arrived since it last looked.
fn running() -> &'static Mutex<HashMap<TenantId, bool>> {
    static RUNNING: OnceLock<Mutex<HashMap<TenantId, bool>>> = OnceLock::new();
    RUNNING.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Starts processing the tenant's inbox, or tells the running worker to look again.
pub fn kick(app: Arc<AppState>, tenant: TenantId) {
    let start = match running().lock() {
        Ok(mut r) => match r.get_mut(&tenant) {
            Some(more) => {
                *more = true;
                false
            }
            None => {
                r.insert(tenant.clone(), false);
                true
            }
        },
        Err(_) => false,
    };
    if !start {
        return;
    }
    tokio::spawn(async move {
        loop {
            if let Err(e) = app.fulfillment.process_inbox(&tenant).await {
                tracing::warn!(tenant = %tenant, error = %e, "webhook processing failed; will retry");
            }
            // Checked and cleared under the same lock `kick` sets it with: no delivery is missed.
            let Ok(mut r) = running().lock() else { return };
            match r.get_mut(&tenant) {
                Some(more) if *more => *more = false,
                _ => {
                    r.remove(&tenant);
                    return;
                }
            }
        }
    });
}

/// Every `every`, processes what any tenant's inbox still holds (deliveries that arrived while
/// a worker was finishing, or that failed).
pub fn spawn_sweeper(app: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    crate::housekeeping::every_tenant(app, every, |app, t| async move { kick(app, t.id) })
}

/// Every `every`, an incremental import for each tenant with a connected store: webhooks are
/// not guaranteed to arrive, so this is what makes the bench eventually right.
pub fn spawn_reconciler(app: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    crate::housekeeping::every_tenant(app, every, |app, t| async move {
        match app.fulfillment.sync(&t.id).await {
            Ok(_) | Err(packbench_core::Error::ShopNotConfigured) => {}
            Err(e) => tracing::warn!(tenant = %t.slug, error = %e, "reconcile import failed"),
        }
    })
}
