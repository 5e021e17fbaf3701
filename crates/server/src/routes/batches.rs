use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use packbench_core::domain::ServiceCode;
use packbench_core::model::OrderFilter;
use packbench_core::workflow::OrderStatus;
use serde::Deserialize;
use serde_json::json;

use super::data;
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::routes::orders::order_id;
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PickListBody {
    order_ids: Option<Vec<String>>,
    format: Option<String>,
}

/// One pick list for many orders (default: every pending or processing order), sorted by
/// location; JSON, or a printable PDF with `"format": "pdf"` or `Accept: application/pdf`.
pub async fn pick_list(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PickListBody>,
) -> ApiResult<Response> {
    caller.require(Permission::OrdersRead)?;
    let wants_pdf = match body.format.as_deref() {
        Some("pdf") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("format is json or pdf, not `{other}`"),
            ));
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/pdf")),
    };
    let ids = match body.order_ids {
        Some(ids) if ids.is_empty() => {
            return Err(ApiError::invalid(
                "order_ids",
                "name at least one order, or leave order_ids out",
            ));
        }
        Some(ids) if ids.len() > 500 => {
            return Err(ApiError::invalid(
                "order_ids",
                "at most 500 orders per pick list",
            ));
        }
        Some(ids) => ids
            .iter()
            .map(|i| order_id(i))
            .collect::<ApiResult<Vec<_>>>()?,
        None => {
            app.fulfillment
                .open_unpicked_orders(&caller.tenant.id, 500)
                .await?
        }
    };
    let list = app.fulfillment.pick_list(&caller.tenant.id, &ids).await?;
    if wants_pdf {
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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BatchShipBody {
    order_ids: Option<Vec<String>>,
    service: Option<String>,
    /// Labels bought at once (1-16); the tenant's `ups.batch_concurrency` when left out.
    concurrency: Option<usize>,
}

/// Labels for many packed orders (default: every packed order), with a result per order.
/// Orders already shipped are reported, not shipped twice.
pub async fn ship(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<BatchShipBody>,
) -> ApiResult<Response> {
    caller.require(Permission::BatchesRun)?;
    let service = ServiceCode::parse(body.service.as_deref().unwrap_or("ground"))?;
    let ids = match body.order_ids {
        Some(ids) if ids.is_empty() || ids.len() > 1000 => {
            return Err(ApiError::invalid(
                "order_ids",
                "name 1-1000 orders, or leave order_ids out",
            ));
        }
        Some(ids) => ids
            .iter()
            .map(|i| order_id(i))
            .collect::<ApiResult<Vec<_>>>()?,
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
                    body.concurrency,
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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BatchSyncBody {
    order_ids: Option<Vec<String>>,
}

/// Reports shipped orders to Shopify (default: every shipped order not yet synced), one
/// result per order; failed ones keep their reason and can be sent again.
pub async fn sync(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<BatchSyncBody>,
) -> ApiResult<Response> {
    caller.require(Permission::BatchesRun)?;
    let ids = body
        .order_ids
        .map(|ids| {
            ids.iter()
                .map(|i| order_id(i))
                .collect::<ApiResult<Vec<_>>>()
        })
        .transpose()?;
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
