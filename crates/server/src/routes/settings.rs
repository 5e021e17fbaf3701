use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use serde_json::{Value, json};

use super::data;
use crate::auth::{Caller, Permission};
use crate::dto::{self, DeviceSettingsBody, Query};
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/settings", tag = "settings",
    responses((status = 200, description = "the settings; each secret shown only as `<name>_set`", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn get(State(app): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Permission::SettingsRead)?;
    let s = app.fulfillment.settings(&caller.tenant.id).await?;
    Ok(data(s.public_view()))
}

/// A JSON merge patch; the result is validated whole and saved only if valid. Secrets given
/// here are stored and never shown again.
#[utoipa::path(
    patch, path = "/settings", tag = "settings",
    request_body(content = Object, description = "a JSON merge patch (RFC 7396) of the settings"),
    responses((status = 200, description = "the settings after the change", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals)
)]
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

#[utoipa::path(
    get, path = "/device-settings", tag = "settings",
    params(("station_id" = Option<String>, Query, description = "the station (default: the caller's)")),
    responses((status = 200, description = "the station's device settings", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn get_devices(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Json<Value>> {
    let q = Query::from_raw(uri.query())?;
    q.only(&["station_id"])?;
    let station = dto::station(q.get("station_id"), caller.station_id.as_deref())?;
    let settings = app
        .fulfillment
        .device_settings(&caller.tenant.id, &station)
        .await?;
    Ok(data(json!({"station_id": station, "settings": settings})))
}

/// Which scale, scanner and printers a station uses, and how it prints labels (checked by the
/// service).
#[utoipa::path(
    post, path = "/device-settings", tag = "settings",
    request_body = crate::dto::DeviceSettingsBody,
    responses((status = 200, description = "the station's device settings, as kept", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals)
)]
pub async fn save_devices(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<DeviceSettingsBody>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::DeviceSettingsWrite)?;
    let (station, doc) = body.parse(caller.station_id.as_deref())?;
    let saved = app
        .fulfillment
        .save_device_settings(&caller.tenant.id, &station, &doc)
        .await?;
    Ok(data(json!({"station_id": station, "settings": saved})))
}
