use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde_json::{Value, json};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::data;
use crate::auth::{Caller, Permission};
use crate::error::ApiResult;
use crate::extract::TenantPath;
use crate::state::AppState;

/// Imports what changed in the tenant's Shopify store (progress as `batch_progress` events);
/// answers the counts. `503 shop_not_configured` until a store is connected.
pub async fn start(State(app): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Permission::SyncRun)?;
    let report = app.fulfillment.sync(&caller.tenant.id).await?;
    Ok(data(report))
}

/// Admin only: deletes every order, shipment, label and order event of the tenant.
pub async fn clear(State(app): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Permission::SyncClear)?;
    let n = app.fulfillment.clear_orders(&caller.tenant.id).await?;
    tracing::warn!(tenant = %caller.tenant.slug, user = %caller.user.username, orders = n, "all order data cleared");
    Ok(data(json!({"deleted_orders": n})))
}

/// Shopify's webhook receiver. Verification and processing come with the Shopify issue; until
/// then nothing is accepted (Shopify retries deliveries that are not answered 2xx).
pub async fn webhook(TenantPath(_tenant): TenantPath) -> ApiResult<Json<Value>> {
    Err(packbench_core::Error::ShopNotConfigured.into())
}

/// Server-sent events for live screens: order changes, stock changes, progress.
pub async fn events(
    State(app): State<Arc<AppState>>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let tenant = caller.tenant.id.clone();
    let stream = BroadcastStream::new(app.events.subscribe()).filter_map(move |msg| match msg {
        Ok((t, e)) if t == tenant => {
            let kind = serde_json::to_value(&e)
                .ok()
                .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned));
            Event::default()
                .event(kind.unwrap_or_else(|| "message".into()))
                .json_data(&e)
                .ok()
                .map(Ok)
        }
        Ok(_) => None,
        // The client fell behind: tell it to reload rather than silently miss changes.
        Err(_) => Some(Ok(Event::default().event("lagged").data("reload"))),
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
