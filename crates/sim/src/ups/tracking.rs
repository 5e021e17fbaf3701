//! Tracking: a parcel's activity from label to delivered, by number and by reference.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::shipping::service_name;
use super::{SimShipment, UpsSim, gate, trans_headers_ok, ups_error};

/// The activity a parcel has shown so far, newest first, in the Tracking API's shape.
pub(super) fn activity(s: &SimShipment, transit: Duration) -> Vec<Value> {
    let elapsed = s.created_at.elapsed();
    let at = |frac: f64| {
        s.created + chrono::Duration::milliseconds((transit.as_millis() as f64 * frac) as i64)
    };
    let mut steps = vec![(
        0.0,
        "M",
        "MP",
        "003",
        "Shipper created a label, UPS has not received the package yet. ",
        None,
    )];
    if s.voided {
        steps.push((0.0, "MV", "VP", "007", "Shipment information voided ", None));
    } else {
        for (frac, kind, code, sc, desc, city) in [
            (
                1.0 / 3.0,
                "P",
                "PU",
                "038",
                "Pickup Scan ",
                Some("Secaucus"),
            ),
            (
                2.0 / 3.0,
                "I",
                "AR",
                "005",
                "Arrived at Facility ",
                Some("Parsippany"),
            ),
            (
                1.0,
                "D",
                "KB",
                "011",
                "DELIVERED ",
                Some(s.ship_to_city.as_str()),
            ),
        ] {
            if elapsed.as_secs_f64() >= transit.as_secs_f64() * frac {
                steps.push((frac, kind, code, sc, desc, city));
            }
        }
    }
    steps
        .iter()
        .rev()
        .map(|(frac, kind, code, sc, desc, city)| {
            let t = at(*frac);
            let mut a = json!({
                "status": {"type": kind, "description": desc, "code": code, "statusCode": sc},
                "date": t.format("%Y%m%d").to_string(),
                "time": t.format("%H%M%S").to_string(),
                "gmtDate": t.format("%Y%m%d").to_string(),
                "gmtTime": t.format("%H:%M:%S").to_string(),
                "gmtOffset": "+00:00"});
            if let Some(c) = city {
                a["location"] = json!({"address": {"city": c, "countryCode": "US", "country": "US"}, "slic": "0700"});
            }
            a
        })
        .collect()
}

pub(super) fn track_answer(sim: &UpsSim, inquiry: &str, found: Vec<SimShipment>) -> Response {
    if found.is_empty() {
        return axum::Json(json!({"trackResponse": {"shipment": [{
            "inquiryNumber": inquiry,
            "warnings": [{"code": "TW0001", "message": "Tracking Information Not Found"}]}]}}))
        .into_response();
    }
    let transit = Duration::from_secs(sim.config().transit_secs.max(1));
    let packages: Vec<Value> = found
        .iter()
        .map(|s| {
            let act = activity(s, transit);
            let due = (s.created + chrono::Duration::seconds(transit.as_secs() as i64))
                .format("%Y%m%d")
                .to_string();
            json!({
                "trackingNumber": s.tracking_number,
                "deliveryDate": [{"type": if act.len() > 1 && act[0]["status"]["type"] == "D" { "DEL" } else { "SDD" }, "date": due}],
                "activity": act,
                "currentStatus": act.first().map(|a| a["status"].clone()),
                "service": {"code": s.service, "description": service_name(&s.service)},
                "referenceNumber": s.references.iter().map(|r| json!({"type": "PACKAGE", "number": r})).collect::<Vec<_>>()})
        })
        .collect();
    axum::Json(json!({"trackResponse": {"shipment": [{
        "inquiryNumber": inquiry,
        "package": packages,
        "userRelation": []}]}}))
    .into_response()
}

pub(super) async fn track(
    State(sim): State<Arc<UpsSim>>,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = trans_headers_ok(&headers) {
        return r.into_response();
    }
    if let Err(r) = gate(&sim, &headers).await {
        return r.into_response();
    }
    let number = number.trim().to_ascii_uppercase();
    if !(7..=34).contains(&number.len()) {
        return ups_error(StatusCode::BAD_REQUEST, "TV1002", "Invalid inquiry number");
    }
    let found: Vec<SimShipment> = sim
        .shipments()
        .into_iter()
        .filter(|s| s.tracking_number == number)
        .collect();
    track_answer(&sim, &number, found)
}

pub(super) async fn track_reference(
    State(sim): State<Arc<UpsSim>>,
    Path(reference): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = trans_headers_ok(&headers) {
        return r.into_response();
    }
    if let Err(r) = gate(&sim, &headers).await {
        return r.into_response();
    }
    if q.get("shipperNum").map(String::as_str) != Some(sim.config().account_number.as_str()) {
        return ups_error(StatusCode::BAD_REQUEST, "TV1003", "Invalid shipper number");
    }
    let found: Vec<SimShipment> = sim
        .shipments()
        .into_iter()
        .filter(|s| s.references.iter().any(|r| r == &reference))
        .collect();
    track_answer(&sim, &reference, found)
}
