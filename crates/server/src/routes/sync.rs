use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde_json::{Value, json};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::data;
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ApiResult};
use crate::extract::{RawBody, TenantPath};
use crate::state::AppState;

/// Imports what changed in the tenant's Shopify store (progress as `batch_progress` events);
/// answers the counts. `503 shop_not_configured` until a store is connected.
#[utoipa::path(
    post, path = "/sync", tag = "sync",
    responses((status = 200, description = "what the import brought: counts", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals, crate::api_doc::CallRefusals)
)]
pub async fn start(State(app): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Permission::SyncRun)?;
    let report = app.fulfillment.sync(&caller.tenant.id).await?;
    Ok(data(report))
}

/// Admin only: deletes every order, shipment, label and order event of the tenant.
#[utoipa::path(
    delete, path = "/sync", tag = "sync",
    responses((status = 200, description = "`deleted_orders`", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals)
)]
pub async fn clear(State(app): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Permission::SyncClear)?;
    let n = app.fulfillment.clear_orders(&caller.tenant.id).await?;
    tracing::warn!(tenant = %caller.tenant.slug, user = %caller.user.username, orders = n, "all order data cleared");
    Ok(data(json!({"deleted_orders": n})))
}

/// Shopify's webhook receiver: the HMAC of the raw body is checked against the store's secret
/// (401, nothing kept, when it does not match), then that the body fits its topic and this
/// shop (422: the topic and shop headers are not signed), the delivery is kept in the inbox (a
/// redelivery of the same `X-Shopify-Webhook-Id` is acknowledged and dropped), answered 200 at
/// once, and processed in the background.
#[utoipa::path(
    post, path = "/webhooks/shopify", tag = "sync", security(()),
    params(
        ("X-Shopify-Hmac-Sha256" = String, Header, description = "base64 HMAC-SHA256 of the body with the app's secret"),
        ("X-Shopify-Topic" = String, Header),
        ("X-Shopify-Webhook-Id" = String, Header),
        ("X-Shopify-Shop-Domain" = Option<String>, Header),
    ),
    request_body(content = Object, description = "Shopify's body for the topic"),
    responses((status = 200, description = "`accepted`, and whether it was a `duplicate`", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals, crate::api_doc::CallRefusals)
)]
pub async fn webhook(
    State(app): State<Arc<AppState>>,
    TenantPath(tenant): TenantPath,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let settings = app.fulfillment.settings(&tenant.id).await?;
    let Some(secret) = settings.shopify.api_secret.as_ref() else {
        return Err(packbench_core::Error::ShopNotConfigured.into());
    };
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let signed = header("x-shopify-hmac-sha256")
        .is_some_and(|h| packbench_shopify::webhook::verify(secret.expose().as_bytes(), &body, h));
    if !signed {
        return Err(ApiError::new(
            packbench_core::ErrorCode::Unauthorized,
            "the webhook signature (X-Shopify-Hmac-Sha256) does not match this store's secret",
        ));
    }
    let (Some(id), Some(topic)) = (header("x-shopify-webhook-id"), header("x-shopify-topic"))
    else {
        return Err(ApiError::bad_request(
            "a webhook needs X-Shopify-Webhook-Id and X-Shopify-Topic",
        ));
    };
    let Some(shop) = settings.shopify.shop_domain.as_deref() else {
        return Err(packbench_core::Error::ShopNotConfigured.into());
    };
    packbench_shopify::webhook::fits(topic, shop, header("x-shopify-shop-domain"), &body)
        .map_err(|why| ApiError::invalid("body", format!("not taken as `{topic}`: {why}")))?;
    let new = app
        .fulfillment
        .receive_webhook(&tenant.id, id, topic, &body)
        .await?;
    if new {
        crate::webhooks::kick(app.clone(), tenant.id.clone());
    }
    Ok(data(json!({"accepted": true, "duplicate": !new})))
}

/// Admin only: the shop's privacy requests, newest first: what each asked, what the bench found
/// (a data request's answer, to pass on to the customer) or erased, and what still waits.
#[utoipa::path(
    get, path = "/privacy-requests", tag = "sync",
    responses((status = 200, description = "the shop's privacy requests, newest first", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn privacy_requests(
    State(app): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::PrivacyRead)?;
    let requests = app.fulfillment.privacy_requests(&caller.tenant.id).await?;
    Ok(data(requests))
}

/// Server-sent events for live screens: order changes, stock changes, progress; until the
/// session ends.
#[utoipa::path(
    get, path = "/events", tag = "sync",
    responses((status = 200, description = "server-sent events: order and stock changes, progress; until the session ends", content_type = "text/event-stream", body = crate::api_doc::LiveEventFrame), crate::api_doc::Refusals)
)]
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
    // The stream ends with its session (a logout, or the session's end), not only when the
    // client goes away.
    let ended = async move {
        app.session_ended(&caller.tenant.id, &caller.token_hash)
            .await
    };
    let stream = futures::StreamExt::take_until(stream, Box::pin(ended));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
