use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use packbench_core::domain::parse_station_id;
use serde::Deserialize;
use serde_json::{Value, json};

use super::data;
use crate::auth::{Caller, Permission};
use crate::dto::Query;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;

pub async fn get(State(app): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Permission::SettingsRead)?;
    let s = app.fulfillment.settings(&caller.tenant.id).await?;
    Ok(data(s.public_view()))
}

/// A JSON merge patch; the result is validated whole and saved only if valid. Secrets given
/// here are stored and never shown again.
pub async fn patch(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::SettingsWrite)?;
    let view = app
        .fulfillment
        .patch_settings(&caller.tenant.id, &patch)
        .await?;
    tracing::info!(tenant = %caller.tenant.slug, user = %caller.user.username, "settings changed");
    Ok(data(view))
}

fn station(raw: Option<&str>, caller: &Caller) -> ApiResult<String> {
    match raw.or(caller.station_id.as_deref()) {
        Some(s) => Ok(parse_station_id(s)?),
        None => Err(ApiError::invalid(
            "station_id",
            "say which station (station_id), or log in at one",
        )),
    }
}

pub async fn get_devices(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Json<Value>> {
    let q = Query::from_raw(uri.query())?;
    q.only(&["station_id"])?;
    let station = station(q.get("station_id"), &caller)?;
    let settings = app
        .fulfillment
        .device_settings(&caller.tenant.id, &station)
        .await?;
    Ok(data(json!({"station_id": station, "settings": settings})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSettingsBody {
    station_id: Option<String>,
    settings: serde_json::Map<String, Value>,
}

/// Which scale, scanner and printers a station uses, and how it prints labels (checked by the
/// service).
pub async fn save_devices(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<DeviceSettingsBody>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::DeviceSettingsWrite)?;
    let station = station(body.station_id.as_deref(), &caller)?;
    let doc = Value::Object(body.settings);
    let saved = app
        .fulfillment
        .save_device_settings(&caller.tenant.id, &station, &doc)
        .await?;
    Ok(data(json!({"station_id": station, "settings": saved})))
}
