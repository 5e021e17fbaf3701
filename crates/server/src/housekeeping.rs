//! The hub's rounds: work done every so often for each tenant, and what the hub keeps only for
//! a while, let go.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use packbench_core::model::Tenant;

use crate::state::AppState;

/// Every `every`, `work` for each tenant in turn. A round that cannot read the tenants is
/// skipped; a round that runs late delays the next rather than bunching them.
pub(crate) fn every_tenant<F, Fut>(
    app: Arc<AppState>,
    every: Duration,
    work: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Arc<AppState>, Tenant) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Ok(tenants) = app.fulfillment.tenants().await else {
                continue;
            };
            for t in tenants {
                work(app.clone(), t).await;
            }
        }
    })
}

/// Every `every`, each tenant's login attempt counts that have gone quiet are let go
/// (`Fulfillment::forget_stale_login_attempts`).
pub fn spawn_login_sweeper(app: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    every_tenant(app, every, |app, t| async move {
        match app.fulfillment.forget_stale_login_attempts(&t.id).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(tenant = %t.slug, counts = n, "stale login attempt counts let go")
            }
            Err(e) => {
                tracing::warn!(tenant = %t.slug, error = %e, "could not let go of stale login attempt counts")
            }
        }
    })
}
