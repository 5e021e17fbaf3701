//! Rating (Shop) and Address Validation.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{UpsSim, gate, invalid, str_at, ups_error};

pub(super) async fn rate(
    State(sim): State<Arc<UpsSim>>,
    Path((_, option)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = gate(&sim, &headers).await {
        return r.into_response();
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return ups_error(StatusCode::BAD_REQUEST, "9370701", "Invalid JSON");
    };
    if let Err(v) = sim.schemas.rate.check(&req) {
        return invalid(&v);
    }
    if !option.eq_ignore_ascii_case("shop") {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "111500",
            "This sim rates with Shop only",
        );
    }
    if str_at(&req, "/RateRequest/Shipment/Shipper/ShipperNumber") != sim.config().account_number {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "111210",
            "The Shipper Number is invalid",
        );
    }
    let weight: f64 = req
        .pointer("/RateRequest/Shipment/Package/0/PackageWeight/Weight")
        .and_then(Value::as_str)
        .and_then(|w| w.parse().ok())
        .unwrap_or(1.0);
    let rated: Vec<Value> = [("03", 9.5, 1.1, "5"), ("12", 18.0, 2.0, "3"), ("02", 24.0, 3.0, "2"), ("01", 45.0, 5.0, "1")]
        .iter()
        .map(|(code, base, per_lb, days)| {
            let total = format!("{:.2}", base + per_lb * weight);
            json!({
                "Service": {"Code": code, "Description": ""},
                "RatedShipmentAlert": [{"Code": "110971", "Description": "Your invoice may vary from the displayed reference rates"}],
                "BillingWeight": {"UnitOfMeasurement": {"Code": "LBS", "Description": "Pounds"}, "Weight": format!("{:.1}", weight.ceil())},
                "TransportationCharges": {"CurrencyCode": "USD", "MonetaryValue": total},
                "TotalCharges": {"CurrencyCode": "USD", "MonetaryValue": total},
                "GuaranteedDelivery": {"BusinessDaysInTransit": days}})
        })
        .collect();
    axum::Json(json!({"RateResponse": {
        "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"},
                     "Alert": [{"Code": "110971", "Description": "Your invoice may vary from the displayed reference rates"}]},
        "RatedShipment": rated}}))
    .into_response()
}

pub(super) async fn validate(
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
    if let Err(v) = sim.schemas.xav.check(&req) {
        return invalid(&v);
    }
    let k = &req["XAVRequest"]["AddressKeyFormat"];
    let line = str_at(k, "/AddressLine/0").trim().to_string();
    let zip = str_at(k, "/PostcodePrimaryLow").trim().to_string();
    let city = str_at(k, "/PoliticalDivision2").trim().to_uppercase();
    let state = str_at(k, "/PoliticalDivision1").trim().to_uppercase();
    let mut head = json!({"Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}}});
    // A street number and a 5-digit ZIP is "valid"; a street with no number is "ambiguous";
    // no ZIP, or the made-up 00000, has no candidates.
    if zip.len() != 5 || zip == "00000" || line.is_empty() {
        head["NoCandidatesIndicator"] = json!("");
    } else {
        let candidate = json!({"AddressClassification": {"Code": "2", "Description": "Residential"},
            "AddressKeyFormat": {"AddressLine": [line.to_uppercase()], "PoliticalDivision2": city,
                "PoliticalDivision1": state, "PostcodePrimaryLow": zip, "PostcodeExtendedLow": "0001", "CountryCode": "US"}});
        if line.starts_with(|c: char| c.is_ascii_digit()) {
            head["ValidAddressIndicator"] = json!("");
        } else {
            head["AmbiguousAddressIndicator"] = json!("");
        }
        head["Candidate"] = json!([candidate]);
    }
    axum::Json(json!({"XAVResponse": head})).into_response()
}
