use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use packbench_core::service::Operation;
use packbench_core::workflow::OrderStatus;
use serde_json::{Value, json};

use super::{data, data_now, detached, idempotent, page};
use crate::auth::{Caller, Permission};
use crate::dto::{self, OperationBody, Query, order_id};
use crate::error::{ApiError, ApiResult};
use crate::extract::{RawBody, parse_json};
use crate::state::AppState;

#[utoipa::path(
    get, path = "/orders", tag = "orders",
    params(
        ("status" = Option<String>, Query, description = "pending, processing, picked, packed, shipped, delivered or cancelled; several comma-separated"),
        ("q" = Option<String>, Query, description = "order name or customer, in part"),
        ("sku" = Option<String>, Query, description = "orders with a line of this SKU"),
        ("assigned_to" = Option<String>, Query, description = "a user id, or `me`"),
        ("created_from" = Option<String>, Query, description = "RFC 3339 time or YYYY-MM-DD"),
        ("created_to" = Option<String>, Query, description = "RFC 3339 time or YYYY-MM-DD (that whole day)"),
        crate::api_doc::PageParams,
    ),
    responses((status = 200, description = "orders, oldest first", body = crate::api_doc::Page), crate::api_doc::Refusals)
)]
pub async fn list(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::OrdersRead)?;
    let filter = dto::order_filter(&Query::from_raw(uri.query())?)?;
    let found = app
        .fulfillment
        .list_orders(&caller.tenant.id, &filter)
        .await?;
    Ok(page(
        found.items,
        found.next.as_ref().map(dto::encode_cursor),
    ))
}

#[utoipa::path(
    get, path = "/orders/counts", tag = "orders",
    responses((status = 200, description = "how many orders are in each status", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn counts(State(app): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Permission::OrdersRead)?;
    let counts = app.fulfillment.status_counts(&caller.tenant.id).await?;
    let mut out = serde_json::Map::new();
    for s in OrderStatus::ALL {
        let n = counts
            .iter()
            .find(|(st, _)| *st == s)
            .map_or(0, |(_, n)| *n);
        out.insert(s.as_str().into(), json!(n));
    }
    Ok(data(out))
}

/// The packing slip for the box, as a PDF.
#[utoipa::path(
    get, path = "/orders/{id}/packing-slip", tag = "orders",
    params(("id" = String, Path, description = "the order's id")),
    responses((status = 200, description = "the packing slip", content_type = "application/pdf", body = Vec<u8>), crate::api_doc::Refusals)
)]
pub async fn packing_slip(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.require(Permission::OrdersRead)?;
    let order = app
        .fulfillment
        .order(&caller.tenant.id, &order_id(&id)?)
        .await?;
    let pdf = packbench_labels::packing_slip::packing_slip_pdf(
        &order,
        &caller.tenant.name,
        app.fulfillment.clock().now(),
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "inline; filename=\"packing-slip.pdf\"",
            ),
        ],
        pdf,
    )
        .into_response())
}

#[utoipa::path(
    get, path = "/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "the order's id")),
    responses((status = 200, description = "the order with its lines, where each is stocked, its events and shipments", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn detail(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::OrdersRead)?;
    let d = app
        .fulfillment
        .order_detail(&caller.tenant.id, &order_id(&id)?)
        .await?;
    let mut view = serde_json::to_value(dto::order_detail_view(caller.tenant.slug.as_str(), &d))
        .unwrap_or_default();
    view["review"] = json!(
        app.fulfillment
            .order_review(&caller.tenant.id, d.order.id())
            .await?
    );
    view["hold"] = json!(
        app.fulfillment
            .order_hold(&caller.tenant.id, d.order.id())
            .await?
    );
    // Where the report to the shop stands (pending, synced, failed with the reason).
    view["shop_sync"] = json!(
        app.fulfillment
            .push_state(&caller.tenant.id, d.order.id())
            .await?
    );
    Ok(data(view))
}

/// Auto-assign: the caller takes the oldest pending order.
/// `DELETE orders/{id}/review`: someone checked an order the shop edited after picking started.
#[utoipa::path(
    delete, path = "/orders/{id}/review", tag = "orders",
    params(("id" = String, Path, description = "the order's id")),
    responses((status = 200, description = "the order's review flag cleared", body = crate::api_doc::Answer), (status = 405, description = "an empty id makes the path another route's, which this method is not served at", body = crate::api_doc::ErrorBody), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals)
)]
pub async fn clear_review(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::OrdersWork)?;
    let id = order_id(&id)?;
    app.fulfillment
        .clear_review(&caller.tenant.id, &id, &caller.actor())
        .await?;
    Ok(data(json!({"order_id": id, "review": null})))
}

#[utoipa::path(
    post, path = "/orders/claim", tag = "orders",
    responses((status = 200, description = "the oldest pending order, now the caller's (404 when the queue is empty)", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals)
)]
pub async fn claim(
    State(app): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Box<serde_json::value::RawValue>>> {
    caller.require(Permission::OrdersWork)?;
    let claimed = app
        .fulfillment
        .claim_next(&caller.tenant.id, &caller.user.id, &caller.actor())
        .await?;
    let order = claimed
        .ok_or_else(|| ApiError::not_found("no pending order is waiting; the queue is empty"))?;
    data_now(&dto::order_view(caller.tenant.slug.as_str(), &order, None)).map(Json)
}

#[utoipa::path(
    post, path = "/orders/{id}/operations", tag = "orders",
    params(("id" = String, Path, description = "the order's id"), ("Idempotency-Key" = Option<String>, Header, description = "repeat a request safely: the same key answers the first answer again")),
    request_body = crate::dto::OperationBody,
    responses((status = 200, description = "the order after the operation (and the label, for `ship`)", body = crate::api_doc::Answer), (status = 405, description = "an empty id makes the path another route's, which this method is not served at", body = crate::api_doc::ErrorBody), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals, crate::api_doc::CallRefusals)
)]
pub async fn operate(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let mut request = format!("POST orders/{id}/operations\n").into_bytes();
    request.extend_from_slice(&body);
    // Operations that call the carrier run in a task of their own, so a client that goes
    // away cannot cut a label purchase; picks and packs stay on the request's task (the
    // hand-off costs each ~0.1 ms, BENCHMARKS.md).
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(borrow)]
        action: std::borrow::Cow<'a, str>,
    }
    let calls_carrier = serde_json::from_slice::<Kind>(&body)
        .is_ok_and(|k| matches!(k.action.as_ref(), "ship" | "void"));
    let work = async move {
        idempotent(&app, &caller, &headers, &request, || async {
            let id = order_id(&id)?;
            let parsed: OperationBody = parse_json(&body)?;
            let settings = app.fulfillment.settings(&caller.tenant.id).await?;
            let op = parsed.parse(settings.units)?;
            let permission = match op {
                Operation::Cancel { .. } => Permission::OrdersCancel,
                Operation::Void => Permission::LabelsVoid,
                _ => Permission::OrdersWork,
            };
            caller.require(permission)?;
            let is_ship = matches!(op, Operation::Ship { .. });
            let tenant = caller.tenant.slug.as_str();
            let out = app
                .fulfillment
                .operate(&caller.tenant.id, &id, op, &caller.actor())
                .await?;
            let body = match (&out.shipment, is_ship) {
                (Some(s), true) => data_now(&dto::shipped_view(tenant, &out.order, s))?,
                _ => data_now(&dto::OperatedView {
                    order_id: out.order.id(),
                    status: out.order.status(),
                    order: dto::order_view(tenant, &out.order, None),
                    warnings: &out.warnings,
                })?,
            };
            Ok((StatusCode::OK, body))
        })
        .await
    };
    if calls_carrier {
        detached(work).await
    } else {
        work.await
    }
}
