use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use packbench_core::domain::{Location, Sku};
use serde_json::{Value, json};

use super::data;
use crate::auth::{Caller, Permission};
use crate::dto::{self, ChangeBody, Query};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, RawBody};
use crate::state::AppState;

pub async fn list(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InventoryRead)?;
    let q = Query::from_raw(uri.query())?;
    q.only(&["sku", "location"])?;
    let sku = q.get("sku").map(Sku::parse).transpose()?;
    let location = q.get("location").map(Location::parse).transpose()?;
    let levels = app
        .fulfillment
        .stock(&caller.tenant.id, sku.as_ref(), location.as_ref())
        .await?;
    Ok(data(levels))
}

/// Sets (`on_hand`) or adjusts (`delta`) stock per SKU and location, all or nothing; each change
/// is recorded as a stock event with its reason.
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

pub async fn events(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InventoryRead)?;
    let q = Query::from_raw(uri.query())?;
    q.only(&["after", "limit"])?;
    let after = match q.get("after") {
        None => 0,
        Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::invalid("after", "after is a stock event number (0 or more)")
        })?,
    };
    let limit = q.limit(100)?;
    let events = app
        .fulfillment
        .stock_events(&caller.tenant.id, after, limit)
        .await?;
    let next = events.last().map(|e| e.seq).unwrap_or(after);
    Ok(Json(json!({"data": events, "next_after": next})))
}

/// `sku,location,on_hand` for every stock row.
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
