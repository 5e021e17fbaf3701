//! What the hub keeps only for a while, let go in the background.

use std::sync::Arc;
use std::time::Duration;

use crate::state::AppState;

/// Every `every`, each tenant's login attempt counts that have gone quiet are let go
/// (`Fulfillment::forget_stale_login_attempts`).
pub fn spawn_login_sweeper(app: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let Ok(tenants) = app.fulfillment.tenants().await else {
                continue;
            };
            for t in tenants {
                match app.fulfillment.forget_stale_login_attempts(&t.id).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::debug!(tenant = %t.slug, counts = n, "stale login attempt counts let go")
                    }
                    Err(e) => {
                        tracing::warn!(tenant = %t.slug, error = %e, "could not let go of stale login attempt counts")
                    }
                }
            }
        }
    })
}
