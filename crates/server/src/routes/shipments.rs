use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use packbench_core::domain::{OrderId, ServiceCode, ShipmentId};
use packbench_core::model::{Address, LabelFormat, ShipmentFilter, ShipmentStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{data, idempotent, page};
use crate::auth::{Caller, Permission};
use crate::dto::{self, PackageBody, Query, ShipmentView};
use crate::error::{ApiError, ApiResult};
use crate::extract::{RawBody, parse_json};
use crate::routes::orders::order_id;
use crate::state::AppState;

fn shipment_id(raw: &str) -> ApiResult<ShipmentId> {
    ShipmentId::parse(raw).map_err(|_| ApiError::not_found(format!("shipment `{raw}` not found")))
}

pub async fn list(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::ShipmentsRead)?;
    let q = Query::from_raw(uri.query())?;
    q.only(&["order_id", "status", "since", "limit", "cursor"])?;
    let status = q
        .get("status")
        .map(|s| {
            ShipmentStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "status must be one of pending, created, voided, delivered, failed",
                )
            })
        })
        .transpose()?;
    let after = q
        .cursor()?
        .map(|(t, id)| ShipmentId::parse(&id).map(|id| (t, id)))
        .transpose()
        .map_err(|_| {
            ApiError::bad_request("the cursor is not one this hub gave out; start again without it")
        })?;
    let filter = ShipmentFilter {
        order_id: q.get("order_id").map(OrderId::parse).transpose()?,
        status,
        since: q.time("since")?,
        limit: q.limit(50)?,
        after,
    };
    let found = app
        .fulfillment
        .shipments(&caller.tenant.id, &filter)
        .await?;
    let tenant = caller.tenant.slug.as_str();
    let items: Vec<ShipmentView> = found
        .items
        .iter()
        .map(|s| ShipmentView::new(tenant, s))
        .collect();
    Ok(page(items, found.next.as_ref().map(dto::encode_cursor)))
}

pub async fn detail(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::ShipmentsRead)?;
    let s = app
        .fulfillment
        .shipment(&caller.tenant.id, &shipment_id(&id)?)
        .await?;
    Ok(data(ShipmentView::new(caller.tenant.slug.as_str(), &s)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateShipmentBody {
    order_id: Option<String>,
    service: String,
    package: PackageBody,
    ship_to: Option<Address>,
}

/// A label outside the normal flow: a replacement, or a parcel to a typed address.
pub async fn create(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let mut request = b"POST shipments\n".to_vec();
    request.extend_from_slice(&body);
    idempotent(&app, &caller, &headers, &request, || async {
        caller.require(Permission::ShipmentsCreate)?;
        let b: CreateShipmentBody = parse_json(&body)?;
        let settings = app.fulfillment.settings(&caller.tenant.id).await?;
        let order = b.order_id.as_deref().map(order_id).transpose()?;
        let service = ServiceCode::parse(&b.service)?;
        let package = b.package.parse(settings.units)?;
        let s = app
            .fulfillment
            .create_shipment(
                &caller.tenant.id,
                order.as_ref(),
                service,
                package,
                b.ship_to,
            )
            .await?;
        Ok((
            StatusCode::CREATED,
            json!({"data": ShipmentView::new(caller.tenant.slug.as_str(), &s)}),
        ))
    })
    .await
}

/// Refresh tracking now. Tracking is followed through the carrier (the UPS issue); until a
/// carrier is configured this answers 503 after checking the shipment exists.
pub async fn track(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::ShipmentsRead)?;
    let s = app
        .fulfillment
        .shipment(&caller.tenant.id, &shipment_id(&id)?)
        .await?;
    if !app.fulfillment.has_carrier(&caller.tenant.id).await {
        return Err(packbench_core::Error::CarrierNotConfigured.into());
    }
    Err(ApiError::new(
        packbench_core::ErrorCode::CarrierUnavailable,
        format!(
            "tracking for {} is not available from this carrier yet",
            s.id
        ),
    ))
}

pub async fn label(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path((_, id, format)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    caller.require(Permission::ShipmentsRead)?;
    let id = shipment_id(&id)?;
    let format = match LabelFormat::parse(&format) {
        Some(f @ (LabelFormat::Png | LabelFormat::Zpl | LabelFormat::Pdf)) => f,
        _ => {
            return Err(ApiError::not_found(format!(
                "labels come as png, zpl or pdf, not `{format}`"
            )));
        }
    };
    let bytes = app
        .fulfillment
        .label(&caller.tenant.id, &id, format)
        .await?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], bytes).into_response())
}
