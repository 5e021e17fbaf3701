//! Shipping: ship (a label per package, SAMPLE-marked), void, and label recovery.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use serde_json::{Value, json};

use crate::label;

use super::{SimShipment, UpsSim, checks, gate, invalid, str_at, ups_error};

pub(super) async fn ship(
    State(sim): State<Arc<UpsSim>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let started = Instant::now();
    let answer = ship_inner(&sim, &version, &headers, &body).await;
    // The configured latency is the whole call's time, label making included.
    let latency = Duration::from_millis(sim.config().latency_ms);
    tokio::time::sleep(latency.saturating_sub(started.elapsed())).await;
    if let Ok(mut t) = sim.ship_times.lock() {
        t.push(started.elapsed());
    }
    let mut hang = false;
    sim.configure(|c| {
        if c.accept_then_timeout_next > 0 && answer.status().is_success() {
            c.accept_then_timeout_next -= 1;
            hang = true;
        }
    });
    if hang {
        // UPS has sold the label; the answer never arrives in time.
        tokio::time::sleep(Duration::from_millis(sim.config().hang_ms)).await;
    }
    answer
}

pub(super) async fn ship_inner(
    sim: &Arc<UpsSim>,
    version: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    if let Err(r) = checks(sim, headers) {
        return r.into_response();
    }
    sim.ship_calls
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if version != "v2409" {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "9370702",
            &format!("Version {version} is not supported by this sim; use v2409"),
        );
    }
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return ups_error(StatusCode::BAD_REQUEST, "9370701", "Invalid JSON");
    };
    if let Err(v) = sim.schemas.ship.check(&req) {
        return invalid(&v);
    }
    let cfg = sim.config();
    let s = &req["ShipmentRequest"]["Shipment"];
    if str_at(s, "/Shipper/ShipperNumber") != cfg.account_number {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "120100",
            "Missing or invalid shipper number",
        );
    }
    let line1 = str_at(s, "/ShipTo/Address/AddressLine/0");
    if line1.trim().is_empty() {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "120202",
            "Missing or invalid ship to address line 1",
        );
    }
    let country = str_at(s, "/ShipTo/Address/CountryCode");
    if country == "US" && str_at(s, "/ShipTo/Address/PostalCode").len() < 5 {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "120208",
            "Missing or invalid ship to postal code",
        );
    }
    let service = str_at(s, "/Service/Code").to_string();
    if !["01", "02", "03", "12", "13", "14", "59", "65"].contains(&service.as_str()) {
        return ups_error(StatusCode::BAD_REQUEST, "120052", "Invalid service code");
    }
    let packages = s["Package"].as_array().cloned().unwrap_or_default();
    let format = str_at(
        &req,
        "/ShipmentRequest/LabelSpecification/LabelImageFormat/Code",
    )
    .to_ascii_uppercase();
    let format = if format.is_empty() {
        "GIF".into()
    } else {
        format
    };
    if !["GIF", "PNG", "ZPL"].contains(&format.as_str()) {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "120804",
            "Invalid label image format (this sim sells GIF, PNG and ZPL)",
        );
    }
    let mut results = Vec::new();
    let mut first = String::new();
    for p in &packages {
        let number = sim.next_tracking_number(&service);
        if first.is_empty() {
            first = number.clone();
        }
        let references: Vec<String> = p["ReferenceNumber"]
            .as_array()
            .map(|rs| rs.iter().map(|r| str_at(r, "/Value").to_string()).collect())
            .unwrap_or_default();
        let ship_to = &s["ShipTo"];
        let mut to_lines = vec![str_at(ship_to, "/Name").to_string()];
        if let Some(lines) = ship_to
            .pointer("/Address/AddressLine")
            .and_then(Value::as_array)
        {
            to_lines.extend(lines.iter().filter_map(Value::as_str).map(String::from));
        }
        to_lines.push(format!(
            "{} {} {}",
            str_at(ship_to, "/Address/City"),
            str_at(ship_to, "/Address/StateProvinceCode"),
            str_at(ship_to, "/Address/PostalCode")
        ));
        let weight = format!(
            "{} {}",
            str_at(p, "/PackageWeight/Weight"),
            str_at(p, "/PackageWeight/UnitOfMeasurement/Code")
        );
        let image = label::render(&label::LabelText {
            tracking_number: &number,
            service: service_name(&service),
            ship_to: to_lines.iter().map(|l| l.to_uppercase()).collect(),
            shipper: vec![
                str_at(s, "/Shipper/Name").to_uppercase(),
                str_at(s, "/Shipper/Address/AddressLine/0").to_uppercase(),
                format!(
                    "{} {} {}",
                    str_at(s, "/Shipper/Address/City"),
                    str_at(s, "/Shipper/Address/StateProvinceCode"),
                    str_at(s, "/Shipper/Address/PostalCode")
                )
                .to_uppercase(),
            ],
            references: references.clone(),
            weight: &weight,
        });
        let graphic = encode_label(&image, &format);
        results.push(json!({
            "TrackingNumber": number,
            "BaseServiceCharge": {"CurrencyCode": "USD", "MonetaryValue": "9.50"},
            "ShippingLabel": {
                "ImageFormat": {"Code": format, "Description": format},
                "GraphicImage": graphic}}));
        if let Ok(mut all) = sim.shipments.lock() {
            all.push(SimShipment {
                tracking_number: number.clone(),
                shipment_number: first.clone(),
                service: service.clone(),
                references,
                format: format.clone(),
                voided: false,
                created: Utc::now(),
                created_at: Instant::now(),
                image,
                ship_to_city: str_at(ship_to, "/Address/City").to_string(),
            });
        }
    }
    let total = format!("{:.2}", 9.5 * packages.len() as f64);
    let mut response = json!({
        "ResponseStatus": {"Code": "1", "Description": "Success"},
        "TransactionReference": {"CustomerContext": str_at(&req, "/ShipmentRequest/Request/TransactionReference/CustomerContext")}});
    let alerts: Vec<Value> = packages
        .iter()
        .enumerate()
        .filter(|(_, p)| additional_handling(p))
        .map(|(i, _)| json!({"Code": "129001", "Description": format!("Additional Handling has automatically been set on Package {}.", i + 1)}))
        .collect();
    if !alerts.is_empty() {
        response["Alert"] = Value::Array(alerts);
    }
    let answer = json!({"ShipmentResponse": {
        "Response": response,
        "ShipmentResults": {
            "ShipmentCharges": {"TotalCharges": {"CurrencyCode": "USD", "MonetaryValue": total}},
            "BillingWeight": {"UnitOfMeasurement": {"Code": "LBS", "Description": "Pounds"}, "Weight": "1.0"},
            "ShipmentIdentificationNumber": first,
            "PackageResults": results}}});
    axum::Json(answer).into_response()
}

/// Whether UPS sets Additional Handling on a package by its size and weight, as UPS's published
/// criteria have it: an actual weight over 50 lb, a longest side over 48 in, or a second-longest
/// side over 30 in. (Packaging that is not corrugated cardboard also counts; a request does not
/// say.) UPS's recorded answers for ordinary boxes carry no alert, and neither does the sim's.
fn additional_handling(p: &Value) -> bool {
    let number = |at: &str| str_at(p, at).parse::<f64>().unwrap_or(0.0);
    let pounds = match str_at(p, "/PackageWeight/UnitOfMeasurement/Code") {
        "KGS" => number("/PackageWeight/Weight") * 2.204_622_6,
        _ => number("/PackageWeight/Weight"),
    };
    let per_inch = match str_at(p, "/Dimensions/UnitOfMeasurement/Code") {
        "CM" => 2.54,
        _ => 1.0,
    };
    let mut sides =
        ["Length", "Width", "Height"].map(|d| number(&format!("/Dimensions/{d}")) / per_inch);
    sides.sort_by(|a, b| b.total_cmp(a));
    pounds > 50.0 || sides[0] > 48.0 || sides[1] > 30.0
}

pub(super) fn service_name(code: &str) -> &'static str {
    match code {
        "01" => "UPS NEXT DAY AIR",
        "02" => "UPS 2ND DAY AIR",
        "12" => "UPS 3 DAY SELECT",
        "03" => "UPS GROUND",
        _ => "UPS",
    }
}

pub(super) fn encode_label(image: &image::GrayImage, format: &str) -> String {
    let b64 = &base64::engine::general_purpose::STANDARD;
    match format {
        "ZPL" => b64.encode(label::zpl(image)),
        "PNG" => b64.encode(label::png(image)),
        _ => b64.encode(label::gif(image)),
    }
}

pub(super) async fn void(
    State(sim): State<Arc<UpsSim>>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&sim, &headers).await {
        return r.into_response();
    }
    let id = id.trim().to_ascii_uppercase();
    let found = sim
        .shipments
        .lock()
        .map(|mut all| {
            // A shipment number voids every package of the shipment; a later package's own
            // number voids that package (UPS's void by shipment and by package).
            let transit = Duration::from_secs(sim.config().transit_secs);
            let mut of_it: Vec<&mut SimShipment> = all
                .iter_mut()
                .filter(|s| s.shipment_number == id || s.tracking_number == id)
                .collect();
            if of_it.is_empty() {
                return None;
            }
            // A delivered package cannot be voided, nor its shipment.
            if of_it
                .iter()
                .any(|s| s.created_at.elapsed() >= transit && !s.voided)
            {
                return Some(false);
            }
            for s in &mut of_it {
                s.voided = true;
            }
            Some(true)
        })
        .ok()
        .flatten();
    match found {
        // Voided, or already voided: UPS answers success both times.
        Some(true) => axum::Json(json!({"VoidShipmentResponse": {
            "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"},
                         "TransactionReference": {"CustomerContext": ""}},
            "SummaryResult": {"Status": {"Code": "1", "Description": "Voided"}}}}))
        .into_response(),
        Some(false) | None => ups_error(
            StatusCode::BAD_REQUEST,
            "190102",
            "No shipment found within the allowed void period",
        ),
    }
}

pub(super) async fn recovery(
    State(sim): State<Arc<UpsSim>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = gate(&sim, &headers).await {
        return r.into_response();
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return ups_error(StatusCode::BAD_REQUEST, "9370701", "Invalid JSON");
    };
    if let Err(v) = sim.schemas.recovery.check(&req) {
        return invalid(&v);
    }
    let number = str_at(&req, "/LabelRecoveryRequest/TrackingNumber").to_ascii_uppercase();
    let format = str_at(
        &req,
        "/LabelRecoveryRequest/LabelSpecification/LabelImageFormat/Code",
    )
    .to_ascii_uppercase();
    let found = sim
        .shipments()
        .into_iter()
        .find(|s| s.tracking_number == number);
    let Some(s) = found else {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "120545",
            "No label found for the tracking number",
        );
    };
    let format = if format.is_empty() {
        "GIF".into()
    } else {
        format
    };
    // UPS answers the format code in lower case here (shared/notes/ups.md §2).
    axum::Json(json!({"LabelRecoveryResponse": {
        "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
        "ShipmentIdentificationNumber": s.tracking_number,
        "LabelResults": {
            "TrackingNumber": s.tracking_number,
            "LabelImage": {
                "LabelImageFormat": {"Code": format.to_ascii_lowercase()},
                "GraphicImage": encode_label(&s.image, &format)}}}}))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(weight: &str, unit: &str, dims: [&str; 3], dim_unit: &str) -> Value {
        json!({
            "PackageWeight": {"UnitOfMeasurement": {"Code": unit}, "Weight": weight},
            "Dimensions": {"UnitOfMeasurement": {"Code": dim_unit},
                "Length": dims[0], "Width": dims[1], "Height": dims[2]}})
    }

    #[test]
    fn additional_handling_is_set_by_ups_size_and_weight_rules_only() {
        // The demo's boxes: ordinary, no surcharge.
        assert!(!additional_handling(&package(
            "4.5",
            "LBS",
            ["10", "8", "4"],
            "IN"
        )));
        assert!(!additional_handling(&package(
            "50",
            "LBS",
            ["48", "30", "30"],
            "IN"
        )));
        assert!(additional_handling(&package(
            "50.1",
            "LBS",
            ["10", "8", "4"],
            "IN"
        )));
        assert!(additional_handling(&package(
            "23",
            "KGS",
            ["10", "8", "4"],
            "IN"
        )));
        assert!(additional_handling(&package(
            "5",
            "LBS",
            ["8", "49", "4"],
            "IN"
        )));
        assert!(additional_handling(&package(
            "5",
            "LBS",
            ["40", "31", "4"],
            "IN"
        )));
        assert!(additional_handling(&package(
            "5",
            "LBS",
            ["125", "20", "10"],
            "CM"
        )));
        assert!(!additional_handling(&package(
            "5",
            "LBS",
            ["120", "20", "10"],
            "CM"
        )));
        // No dimensions sent: only the weight decides.
        assert!(!additional_handling(
            &json!({"PackageWeight": {"Weight": "3"}})
        ));
    }
}
