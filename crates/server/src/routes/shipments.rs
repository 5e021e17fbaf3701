use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use packbench_core::domain::ShipmentId;
use packbench_core::model::{Address, LabelFormat};
use serde_json::{Value, json};

use super::{data, detached, idempotent, page};
use crate::auth::{Caller, Permission};
use crate::dto::{
    self, AddressBody, BoxScanBody, CreateShipmentBody, NewShipment, Query, RatesBody, ShipTo,
    ShipmentView,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, RawBody, parse_json};
use crate::state::AppState;

fn shipment_id(raw: &str) -> ApiResult<ShipmentId> {
    ShipmentId::parse(raw).map_err(|_| ApiError::not_found(format!("shipment `{raw}` not found")))
}

#[utoipa::path(
    get, path = "/shipments", tag = "shipments",
    params(
        ("order_id" = Option<String>, Query, description = "one order's shipments"),
        ("status" = Option<String>, Query, description = "pending, created, voided, delivered or failed"),
        ("boxed" = Option<bool>, Query, description = "false: labels bought and never scanned onto their box; true: scanned"),
        ("since" = Option<String>, Query, description = "created at or after (RFC 3339 or YYYY-MM-DD)"),
        crate::api_doc::PageParams,
    ),
    responses((status = 200, description = "shipments, newest first", body = crate::api_doc::Page), crate::api_doc::Refusals)
)]
pub async fn list(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::ShipmentsRead)?;
    let filter = dto::shipment_filter(&Query::from_raw(uri.query())?)?;
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

#[utoipa::path(
    get, path = "/shipments/{id}", tag = "shipments",
    params(("id" = String, Path, description = "the shipment's id")),
    responses((status = 200, description = "the shipment and its tracking events", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn detail(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::ShipmentsRead)?;
    let id = shipment_id(&id)?;
    let s = app.fulfillment.shipment(&caller.tenant.id, &id).await?;
    let events = app
        .fulfillment
        .tracking_events(&caller.tenant.id, &id)
        .await?;
    let mut view = serde_json::to_value(ShipmentView::new(caller.tenant.slug.as_str(), &s))
        .unwrap_or_default();
    view["tracking_events"] = json!(events);
    Ok(data(view))
}

/// A label outside the normal flow: a replacement, or a parcel to a typed address.
#[utoipa::path(
    post, path = "/shipments", tag = "shipments",
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat a request safely: the same key answers the first answer again")),
    request_body = crate::dto::CreateShipmentBody,
    responses((status = 201, description = "the label bought", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals, crate::api_doc::CallRefusals)
)]
pub async fn create(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let mut request = b"POST shipments\n".to_vec();
    request.extend_from_slice(&body);
    detached(async move {
        idempotent(&app, &caller, &headers, &request, || async {
            caller.require(Permission::ShipmentsCreate)?;
            let b: CreateShipmentBody = parse_json(&body)?;
            let settings = app.fulfillment.settings(&caller.tenant.id).await?;
            let NewShipment {
                order,
                service,
                package,
                ship_to,
            } = b.parse(settings.units)?;
            let s = app
                .fulfillment
                .create_shipment(&caller.tenant.id, order.as_ref(), service, package, ship_to)
                .await?;
            Ok((
                StatusCode::CREATED,
                json!({"data": ShipmentView::new(caller.tenant.slug.as_str(), &s)}),
            ))
        })
        .await
    })
    .await
}

/// Refresh tracking now: asks the carrier, keeps its events, and moves the order to
/// `delivered` when the parcel is.
#[utoipa::path(
    post, path = "/shipments/{id}/track", tag = "shipments",
    params(("id" = String, Path, description = "the shipment's id")),
    responses((status = 200, description = "the shipment with UPS's latest events", body = crate::api_doc::Answer), (status = 405, description = "an empty id makes the path another route's, which this method is not served at", body = crate::api_doc::ErrorBody), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals, crate::api_doc::CallRefusals)
)]
pub async fn track(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::ShipmentsRead)?;
    let t = app
        .fulfillment
        .track(&caller.tenant.id, &shipment_id(&id)?)
        .await?;
    let mut view =
        serde_json::to_value(ShipmentView::new(caller.tenant.slug.as_str(), &t.shipment))
            .unwrap_or_default();
    view["tracking_events"] = json!(t.events);
    for (n, events) in &t.boxes {
        if let Some(b) = view["more_packages"].get_mut(*n as usize - 2) {
            b["tracking_events"] = json!(events);
        }
    }
    view["order_status"] = json!(t.order_status.map(|s| s.as_str()));
    Ok(data(view))
}

/// The packer scanned a label on the box that should carry this shipment's: the right one is
/// recorded as on its box; another order's, a voided one or no label at all is refused (422
/// `wrong_label`, naming the order it belongs to).
#[utoipa::path(
    post, path = "/shipments/{id}/box-scan", tag = "shipments",
    params(("id" = String, Path, description = "the shipment whose box this is")),
    request_body = crate::dto::BoxScanBody,
    responses((status = 200, description = "the shipment, with `boxed_at`", body = crate::api_doc::Answer), (status = 405, description = "an empty id makes the path another route's, which this method is not served at", body = crate::api_doc::ErrorBody), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals)
)]
pub async fn box_scan(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<BoxScanBody>,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::OrdersWork)?;
    let code = body.parse()?;
    let s = app
        .fulfillment
        .box_scan(&caller.tenant.id, &shipment_id(&id)?, &code)
        .await?;
    Ok(data(ShipmentView::new(caller.tenant.slug.as_str(), &s)))
}

/// A label as PNG, ZPL or PDF, whatever the carrier sold: converted once, then kept.
#[utoipa::path(
    get, path = "/labels/{id}/{format}", tag = "shipments",
    params(
        ("id" = String, Path, description = "the shipment's id"),
        ("format" = String, Path, description = "png, zpl or pdf"),
        ("package" = Option<u32>, Query, minimum = 1, maximum = 20, description = "which box's label, when the shipment has several (1, the first, by default)"),
    ),
    responses(
        (status = 200, description = "the label, converted from what UPS sold when needed", content(
            (Vec<u8> = "image/png"), (String = "application/vnd.zebra.zpl"), (Vec<u8> = "application/pdf"),
        )),
        (status = 409, description = "the label was erased with its customer's details (a shop's privacy request)", body = crate::api_doc::ErrorBody),
        crate::api_doc::Refusals,
    )
)]
pub async fn label(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path((_, id, format)): Path<(String, String, String)>,
    uri: Uri,
) -> ApiResult<Response> {
    caller.require(Permission::ShipmentsRead)?;
    let id = shipment_id(&id)?;
    let package = dto::label_query(&Query::from_raw(uri.query())?)?;
    let wanted = match LabelFormat::parse(&format) {
        Some(f @ (LabelFormat::Png | LabelFormat::Zpl | LabelFormat::Pdf)) => f,
        _ => {
            return Err(ApiError::not_found(format!(
                "labels come as png, zpl or pdf, not `{format}`"
            )));
        }
    };
    let bytes = app
        .fulfillment
        .label(&caller.tenant.id, &id, package, wanted)
        .await?;
    Ok(([(header::CONTENT_TYPE, wanted.content_type())], bytes).into_response())
}

/// Every service's price and transit days for a package (before buying).
#[utoipa::path(
    post, path = "/rates", tag = "shipments",
    request_body = crate::dto::RatesBody,
    responses((status = 200, description = "every service's price and transit days", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals, crate::api_doc::CallRefusals)
)]
pub async fn rates(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::ShipmentsRead)?;
    let b: RatesBody = parse_json(&body)?;
    let tenant = &caller.tenant.id;
    let settings = app.fulfillment.settings(tenant).await?;
    let (ship_to, package) = b.parse(settings.units)?;
    let ship_to = ship_to_of(&app, tenant, ship_to).await?;
    let rates = app.fulfillment.rates(tenant, &ship_to, &package).await?;
    Ok(data(rates))
}

/// What the carrier thinks of a ship-to address: a warning to heed before buying.
#[utoipa::path(
    post, path = "/address-checks", tag = "shipments",
    request_body = crate::dto::AddressBody,
    responses((status = 200, description = "UPS's view of the address: valid, ambiguous (with candidates) or not found", body = crate::api_doc::Answer), crate::api_doc::Refusals, crate::api_doc::ChangeRefusals, crate::api_doc::CallRefusals)
)]
pub async fn check_address(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    caller.require(Permission::ShipmentsRead)?;
    let b: AddressBody = parse_json(&body)?;
    let tenant = &caller.tenant.id;
    let ship_to = ship_to_of(&app, tenant, b.parse()?).await?;
    Ok(data(app.fulfillment.check_address(tenant, &ship_to).await?))
}

/// The address itself, or the one of the order named.
async fn ship_to_of(
    app: &AppState,
    tenant: &packbench_core::domain::TenantId,
    ship_to: ShipTo,
) -> ApiResult<Address> {
    match ship_to {
        ShipTo::Address(a) => Ok(a),
        ShipTo::OfOrder(id) => app
            .fulfillment
            .order(tenant, &id)
            .await?
            .ship_to
            .ok_or_else(|| {
                ApiError::invalid("ship_to", "this order has no ship-to address; give one")
            }),
    }
}
