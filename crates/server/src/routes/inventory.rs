use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use packbench_core::domain::{Location, Sku};
use packbench_core::model::StockChange;
use serde::Deserialize;
use serde_json::{Value, json};

use super::data;
use crate::auth::{Caller, Permission};
use crate::dto::Query;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, RawBody};
use crate::state::AppState;

const MAX_ON_HAND: i64 = 10_000_000;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    changes: Vec<ChangeItem>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeItem {
    sku: String,
    location: String,
    on_hand: Option<i64>,
    delta: Option<i64>,
}

fn reason(raw: Option<String>, default: &str) -> ApiResult<String> {
    let r = raw
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| default.to_owned());
    if r.len() > 64
        || !r
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b' ')
    {
        return Err(ApiError::invalid(
            "reason",
            "reason is a short word such as count, received, damaged (max 64)",
        ));
    }
    Ok(r)
}

/// Sets (`on_hand`) or adjusts (`delta`) stock per SKU and location, all or nothing; each change
/// is recorded as a stock event with its reason.
pub async fn change(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<ChangeBody>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::InventoryWrite)?;
    if body.changes.is_empty() || body.changes.len() > 10_000 {
        return Err(ApiError::invalid("changes", "give 1-10,000 changes"));
    }
    let mut changes = Vec::with_capacity(body.changes.len());
    for (i, c) in body.changes.into_iter().enumerate() {
        let at = |e: packbench_core::domain::ParseError| {
            ApiError::invalid(e.field, format!("change {}: {}", i + 1, e.message))
                .with_details(json!({"index": i, "field": e.field}))
        };
        let sku = Sku::parse(&c.sku).map_err(at)?;
        let location = Location::parse(&c.location).map_err(at)?;
        changes.push(match (c.on_hand, c.delta) {
            (Some(n), None) if (0..=MAX_ON_HAND).contains(&n) => StockChange::Set { sku, location, on_hand: n },
            (None, Some(d)) if d != 0 && d.abs() <= MAX_ON_HAND => StockChange::Adjust { sku, location, delta: d },
            _ => {
                return Err(ApiError::invalid(
                    "changes",
                    format!("change {}: give either on_hand (0-{MAX_ON_HAND}) or a non-zero delta, not both", i + 1),
                )
                .with_details(json!({"index": i})));
            }
        });
    }
    let cause = reason(body.reason, "adjustment")?;
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
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(body.as_ref());
    let headers = r
        .headers()
        .map_err(|e| ApiError::bad_request(format!("could not read the CSV: {e}")))?
        .clone();
    let cols: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    if cols != ["sku", "location", "on_hand"] {
        return Err(ApiError::invalid(
            "csv",
            format!(
                "the first line must be `sku,location,on_hand`, not `{}`",
                cols.join(",")
            ),
        ));
    }
    let mut changes = Vec::new();
    let mut problems = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                problems.push(json!({"line": line, "message": e.to_string()}));
                continue;
            }
        };
        let sku = Sku::parse(&rec[0]);
        let location = Location::parse(&rec[1]);
        let on_hand = rec[2]
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=MAX_ON_HAND).contains(n));
        match (sku, location, on_hand) {
            (Ok(sku), Ok(location), Some(on_hand)) => changes.push(StockChange::Set { sku, location, on_hand }),
            (Err(e), _, _) | (_, Err(e), _) => problems.push(json!({"line": line, "message": e.to_string()})),
            (_, _, None) => problems.push(json!({"line": line, "message": format!("on_hand must be a whole number 0-{MAX_ON_HAND}")})),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(
            "csv",
            format!("{} line(s) are wrong; nothing was imported", problems.len()),
        )
        .with_details(json!({"field": "csv", "lines": problems})));
    }
    if changes.is_empty() {
        return Err(ApiError::invalid("csv", "the file has no rows"));
    }
    let levels = app
        .fulfillment
        .change_stock(&caller.tenant.id, &changes, "import", &caller.actor())
        .await?;
    Ok(data(json!({"imported": changes.len(), "levels": levels})))
}
