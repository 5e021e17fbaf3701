//! End of day at the dock: the day's labels, those never scanned onto a box, the voids, the
//! parcels per service, and the count sheet the driver signs.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use packbench_core::service::EndOfDay;
use serde_json::Value;

use super::data;
use crate::auth::{Caller, Permission};
use crate::dto::{self, Query};
use crate::error::ApiResult;
use crate::state::AppState;

/// The day the query names (today when it names none), at the dock.
async fn the_day(app: &AppState, caller: &Caller, uri: &Uri) -> ApiResult<EndOfDay> {
    caller.require(Permission::ShipmentsRead)?;
    let (date, offset) = dto::end_of_day_query(&Query::from_raw(uri.query())?)?;
    Ok(app
        .fulfillment
        .end_of_day(&caller.tenant.id, date, offset)
        .await?)
}

#[utoipa::path(
    get, path = "/end-of-day", tag = "shipments",
    params(
        ("date" = Option<String>, Query, description = "the day, YYYY-MM-DD (today when left out)"),
        ("utc_offset" = Option<String>, Query, description = "the warehouse's offset from UTC, e.g. -05:00 (UTC when left out)"),
    ),
    responses((status = 200, description = "the day's labels: bought, never scanned onto a box, voided; parcels per service", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn summary(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Json<Value>> {
    let day = the_day(&app, &caller, &uri).await?;
    Ok(data(dto::end_of_day_view(
        caller.tenant.slug.as_str(),
        &day,
    )))
}

/// The count sheet for the driver: parcels per service, every tracking number going, and
/// lines to sign (PDF, US Letter).
#[utoipa::path(
    get, path = "/end-of-day/count-sheet", tag = "shipments",
    params(
        ("date" = Option<String>, Query, description = "the day, YYYY-MM-DD (today when left out)"),
        ("utc_offset" = Option<String>, Query, description = "the warehouse's offset from UTC, e.g. -05:00"),
    ),
    responses((status = 200, description = "the count sheet", content_type = "application/pdf", body = Vec<u8>), crate::api_doc::Refusals)
)]
pub async fn count_sheet(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Response> {
    let day = the_day(&app, &caller, &uri).await?;
    let shipper = app.fulfillment.settings(&caller.tenant.id).await?.shipper;
    let lines: Vec<String> = shipper
        .name
        .into_iter()
        .chain(shipper.address.lines)
        .chain(
            [
                shipper.address.city,
                shipper.address.state,
                shipper.address.postal_code,
            ]
            .into_iter()
            .flatten()
            .reduce(|a, b| format!("{a} {b}")),
        )
        .collect();
    let pdf =
        packbench_labels::count_sheet::count_sheet_pdf(&day, &lines, app.fulfillment.clock().now());
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"count-sheet-{}.pdf\"", day.date),
            ),
        ],
        pdf,
    )
        .into_response())
}
