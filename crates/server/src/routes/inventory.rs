use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::data;
use crate::auth::{Caller, Permission};
use crate::dto::{self, ChangeBody, Query, WeightsBody};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, RawBody};
use crate::state::AppState;

#[utoipa::path(
    get, path = "/inventory", tag = "inventory",
    params(
        ("sku" = Option<String>, Query),
        ("location" = Option<String>, Query),
    ),
    responses((status = 200, description = "stock levels by SKU and location", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn list(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InventoryRead)?;
    let (sku, location) = dto::stock_query(&Query::from_raw(uri.query())?)?;
    let levels = app
        .fulfillment
        .stock(&caller.tenant.id, sku.as_ref(), location.as_ref())
        .await?;
    Ok(data(levels))
}

/// Sets (`on_hand`) or adjusts (`delta`) stock per SKU and location, all or nothing; each change
/// is recorded as a stock event with its reason.
#[utoipa::path(
    patch, path = "/inventory", tag = "inventory",
    request_body = crate::dto::ChangeBody,
    responses((status = 200, description = "the levels changed", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals)
)]
pub async fn change(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<ChangeBody>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InventoryWrite)?;
    let (changes, cause) = body.parse()?;
    let levels = app
        .fulfillment
        .change_stock(&caller.tenant.id, &changes, &cause, &caller.actor())
        .await?;
    Ok(data(levels))
}

#[utoipa::path(
    get, path = "/inventory/events", tag = "inventory",
    params(
        ("after" = Option<i64>, Query, description = "events after this number (0 or more)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1-500, default 100"),
    ),
    responses((status = 200, description = "stock events after `after`, and `next_after`", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn events(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InventoryRead)?;
    let (after, limit) = dto::stock_events_query(&Query::from_raw(uri.query())?)?;
    let events = app
        .fulfillment
        .stock_events(&caller.tenant.id, after, limit)
        .await?;
    let next = events.last().map(|e| e.seq).unwrap_or(after);
    Ok(Json(json!({"data": events, "next_after": next})))
}

/// Every SKU's known unit weight: from the shop (`source: shop`) or weighed at the bench
/// (`source: bench`, which an import never replaces).
#[utoipa::path(
    get, path = "/inventory/weights", tag = "inventory",
    responses((status = 200, description = "each SKU's unit weight, its unit and where it came from", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn weights(State(app): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Permission::InventoryRead)?;
    Ok(data(app.fulfillment.sku_weights(&caller.tenant.id).await?))
}

/// Sets SKUs' unit weights as weighed at the bench (or forgets them with `null`), all or
/// nothing: packed boxes are weighed against them.
#[utoipa::path(
    patch, path = "/inventory/weights", tag = "inventory",
    request_body = crate::dto::WeightsBody,
    responses((status = 200, description = "the SKUs' weights as now known", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals)
)]
pub async fn set_weights(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<WeightsBody>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InventoryWrite)?;
    let units = app.fulfillment.settings(&caller.tenant.id).await?.units;
    let weights = body.parse(units)?;
    Ok(data(
        app.fulfillment
            .set_sku_weights(&caller.tenant.id, &weights)
            .await?,
    ))
}

/// `sku,location,on_hand` for every stock row.
#[utoipa::path(
    get, path = "/inventory/export", tag = "inventory",
    responses((status = 200, description = "`sku,location,on_hand` for every stock row", content_type = "text/csv", body = String), crate::api_doc::Refusals)
)]
pub async fn export(State(app): State<Arc<AppState>>, caller: Caller) -> ApiResult<Response> {
    caller.require(Permission::InventoryRead)?;
    let levels = app.fulfillment.stock(&caller.tenant.id, None, None).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let write = |w: &mut csv::Writer<Vec<u8>>, rec: [&str; 3]| {
        w.write_record(rec)
            .map_err(|e| ApiError::new(packbench_core::ErrorCode::Internal, e.to_string()))
    };
    write(&mut w, ["sku", "location", "on_hand"])?;
    for l in &levels {
        write(
            &mut w,
            [&l.sku, l.location.as_str(), &l.on_hand.to_string()],
        )?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ApiError::new(packbench_core::ErrorCode::Internal, e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"inventory.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Imports `sku,location,on_hand` (a header line first): every row is checked before any is
/// applied; a file with a bad row changes nothing and names each bad row.
#[utoipa::path(
    post, path = "/inventory/import", tag = "inventory",
    request_body(content = String, content_type = "text/csv", description = "`sku,location,on_hand`, a header line first"),
    responses((status = 200, description = "`imported` and the levels", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals)
)]
pub async fn import(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InventoryWrite)?;
    let changes = dto::stock_import(&body)?;
    let levels = app
        .fulfillment
        .change_stock(&caller.tenant.id, &changes, "import", &caller.actor())
        .await?;
    Ok(data(json!({"imported": changes.len(), "levels": levels})))
}
