use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use packbench_core::model::OrderFilter;
use packbench_core::workflow::OrderStatus;
use serde_json::json;

use super::data;
use crate::auth::{Caller, Permission};
use crate::dto::{BatchShip, BatchShipBody, BatchSyncBody, PickListBody, PickListRequest};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;

/// One pick list for many orders (default: every pending or processing order), sorted by
/// location; JSON, or a printable PDF with `"format": "pdf"` or `Accept: application/pdf`.
#[utoipa::path(
    post, path = "/batches/pick-list", tag = "batches",
    request_body = crate::dto::PickListBody,
    responses((status = 200, description = "the pick list by location", content((crate::api_doc::Answer = "application/json"), (Vec<u8> = "application/pdf"))), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals)
)]
pub async fn pick_list(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PickListBody>,
) -> ApiResult<Response> {
    caller.require(Permission::OrdersRead)?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let PickListRequest { orders, pdf } = body.parse(accept)?;
    let ids = match orders {
        Some(ids) => ids,
        None => {
            app.fulfillment
                .open_unpicked_orders(&caller.tenant.id, 500)
                .await?
        }
    };
    let list = app.fulfillment.pick_list(&caller.tenant.id, &ids).await?;
    if pdf {
        let now = app.fulfillment.clock().now();
        let pdf = packbench_labels::pick_list_pdf(&list, caller.tenant.slug.as_str(), now);
        return Ok((
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (
                    header::CONTENT_DISPOSITION,
                    "inline; filename=\"pick-list.pdf\"",
                ),
            ],
            pdf,
        )
            .into_response());
    }
    Ok(data(list).into_response())
}

/// Labels for many packed orders (default: every packed order), with a result per order.
/// Orders already shipped are reported, not shipped twice.
#[utoipa::path(
    post, path = "/batches/ship", tag = "batches",
    request_body = crate::dto::BatchShipBody,
    responses((status = 200, description = "counts, and a result per order", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals, crate::api_doc::CallRefusals)
)]
pub async fn ship(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<BatchShipBody>,
) -> ApiResult<Response> {
    caller.require(Permission::BatchesRun)?;
    let BatchShip {
        orders,
        service,
        concurrency,
    } = body.parse()?;
    let ids = match orders {
        Some(ids) => ids,
        None => {
            let f = OrderFilter {
                status: Some(OrderStatus::Packed),
                limit: 500,
                ..Default::default()
            };
            app.fulfillment
                .list_orders(&caller.tenant.id, &f)
                .await?
                .items
                .into_iter()
                .map(|o| o.id)
                .collect()
        }
    };
    // In a task of its own: a client that goes away does not cut the labels being bought.
    let results = {
        let (app, caller) = (app.clone(), caller.clone());
        tokio::spawn(async move {
            app.fulfillment
                .ship_many(
                    &caller.tenant.id,
                    ids,
                    service,
                    concurrency,
                    &caller.actor(),
                )
                .await
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "a batch ship task failed");
            ApiError::new(
                packbench_core::ErrorCode::Internal,
                "the batch stopped part-way; look at the orders before running it again",
            )
        })??
    };
    let failed = results.iter().filter(|r| !r.ok).count();
    Ok(data(json!({
        "total": results.len(),
        "shipped": results.iter().filter(|r| r.ok && r.skipped.is_none()).count(),
        "skipped": results.iter().filter(|r| r.skipped.is_some()).count(),
        "failed": failed,
        "results": results,
    }))
    .into_response())
}

/// Reports shipped orders to Shopify (default: every shipped order not yet synced), one
/// result per order; failed ones keep their reason and can be sent again.
#[utoipa::path(
    post, path = "/batches/sync", tag = "batches",
    request_body = crate::dto::BatchSyncBody,
    responses((status = 200, description = "counts, and a result per order", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals, crate::api_doc::CallRefusals)
)]
pub async fn sync(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<BatchSyncBody>,
) -> ApiResult<Response> {
    caller.require(Permission::BatchesRun)?;
    let ids = body.parse()?;
    let results = app.fulfillment.push_many(&caller.tenant.id, ids).await?;
    let items: Vec<serde_json::Value> = results
        .into_iter()
        .map(|(id, r)| match r {
            Ok(s) => json!({"order_id": id, "ok": s.state == packbench_core::ports::PushStatus::Synced, "sync": s}),
            Err(e) => json!({"order_id": id, "ok": false, "error": {"code": e.code(), "message": e.to_string()}}),
        })
        .collect();
    let synced = items.iter().filter(|i| i["ok"] == true).count();
    Ok(data(json!({"total": items.len(), "synced": synced, "failed": items.len() - synced, "results": items})).into_response())
}
