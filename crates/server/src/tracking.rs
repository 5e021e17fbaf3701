//! The tracking poller: asks the carrier about every shipment in transit, on an interval, so
//! orders reach `delivered` (and exceptions are raised) without anyone pressing a button; and
//! label purchases a stopped hub left reserved are settled.

use std::sync::Arc;
use std::time::Duration;

use crate::state::AppState;

/// At most this many shipments per tenant per round (oldest first), to stay gentle on UPS.
const PER_ROUND: u32 = 200;

/// One round over every tenant; answers how many shipments were asked about.
pub async fn poll_once(app: &AppState) -> usize {
    let tenants = match app.fulfillment.tenants().await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "tracking poller cannot list tenants");
            return 0;
        }
    };
    let mut asked = 0;
    for tenant in tenants {
        if !app.fulfillment.has_carrier(&tenant.id).await {
            continue;
        }
        // Label purchases a stopped hub left reserved: adopted, or voided for cancelled orders.
        match app.fulfillment.settle_abandoned_labels(&tenant.id).await {
            Ok((_, failed)) => {
                for (order, e) in failed {
                    tracing::warn!(tenant = %tenant.slug, %order, error = %e, "could not settle a label purchase");
                }
            }
            Err(e) => {
                tracing::warn!(tenant = %tenant.slug, error = %e, "cannot look for label purchases to settle")
            }
        }
        let Ok(shipments) = app
            .fulfillment
            .shipments_in_transit(&tenant.id, PER_ROUND)
            .await
        else {
            continue;
        };
        for s in shipments {
            asked += 1;
            if let Err(e) = app.fulfillment.track(&tenant.id, &s.id).await {
                tracing::warn!(tenant = %tenant.slug, shipment = %s.id, error = %e, "tracking refresh failed");
            }
        }
    }
    asked
}

/// Polls every `every` until the process ends.
pub fn spawn_poller(app: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            poll_once(&app).await;
        }
    })
}
