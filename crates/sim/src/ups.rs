//! A UPS stand-in on loopback: OAuth, Shipping (ship, void, label recovery), Tracking (by
//! number and by reference), Rating (Shop) and Address Validation, on UPS's paths and in UPS's
//! shapes. Every request body is validated against the official schemas in `specs/ups/` and
//! refused like UPS refuses (400 with `response.errors`). Its wire types are its own JSON,
//! never the client's, so the two cannot agree on a mistake.
//!
//! Knobs ([`UpsSimConfig`], also `POST /__sim/ups/config`): latency per call, the next calls
//! answered with an error or a 429, the next ship calls accepted and then left hanging
//! (accept-then-timeout), and how long a parcel takes from label to delivered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine;
use chrono::{DateTime, Utc};
use packbench_openapi::{Schema, Spec};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::label;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct UpsSimConfig {
    pub client_id: String,
    pub client_secret: String,
    /// The one shipper account this sim sells labels for.
    pub account_number: String,
    pub token_ttl_secs: u64,
    pub latency_ms: u64,
    /// The next this-many API calls answer 429 Too Many Requests.
    pub throttle_next: u32,
    /// The next this-many API calls answer 503 (UPS code 10004).
    pub unavailable_next: u32,
    /// The next this-many ship calls are accepted (the label exists) and then hang for
    /// `hang_ms`, so the client times out after UPS acted.
    pub accept_then_timeout_next: u32,
    pub hang_ms: u64,
    /// Label to delivered, in seconds (M, then P at a third, I at two thirds, D at the end).
    pub transit_secs: u64,
}

impl Default for UpsSimConfig {
    fn default() -> Self {
        Self {
            client_id: "sim-client".into(),
            client_secret: "sim-secret".into(),
            account_number: "SIM001".into(),
            token_ttl_secs: 14399,
            latency_ms: 0,
            throttle_next: 0,
            unavailable_next: 0,
            accept_then_timeout_next: 0,
            hang_ms: 30_000,
            transit_secs: 120,
        }
    }
}

/// One shipment the sim sold.
#[derive(Debug, Clone, Serialize)]
pub struct SimShipment {
    pub tracking_number: String,
    pub service: String,
    pub references: Vec<String>,
    pub format: String,
    pub voided: bool,
    pub created: DateTime<Utc>,
    #[serde(skip)]
    created_at: Instant,
    #[serde(skip)]
    image: image::GrayImage,
    pub ship_to_city: String,
}

pub struct UpsSim {
    config: Mutex<UpsSimConfig>,
    shipments: Mutex<Vec<SimShipment>>,
    tokens: Mutex<HashMap<String, Instant>>,
    ship_calls: std::sync::atomic::AtomicU64,
    token_calls: std::sync::atomic::AtomicU64,
    /// How long each ship call spent inside the sim (for benchmarks that exclude carrier time).
    ship_times: Mutex<Vec<Duration>>,
    schemas: Schemas,
}

struct Schemas {
    ship: Schema,
    recovery: Schema,
    rate: Schema,
    xav: Schema,
}

impl UpsSim {
    pub fn new(config: UpsSimConfig) -> anyhow::Result<Arc<Self>> {
        let shipping = Spec::ups("Shipping.yaml")?
            // The spec marks these required, but its own descriptions say they are needed only
            // for Roadie (1R) numbers and reference lookups; UPS's sample request omits them.
            .relax_required("LabelRecoveryRequest", "TrackingNumbers")
            .relax_required("LabelRecoveryRequest", "ReferenceValues")
            // minLength 4 contradicts the valid values it lists (GIF, PDF, ZPL: 3 letters).
            .drop_keyword(
                "/components/schemas/LabelRecovery_LabelSpecification_LabelImageFormat/properties/Code",
                "minLength",
            );
        let schemas = Schemas {
            ship: shipping.schema("SHIPRequestWrapper")?,
            recovery: shipping.schema("LABELRECOVERYRequestWrapper")?,
            rate: Spec::ups("Rating.yaml")?.schema("RATERequestWrapper")?,
            xav: Spec::ups("AddressValidation.yaml")?.schema("XAVRequestWrapper")?,
        };
        Ok(Arc::new(Self {
            config: Mutex::new(config),
            shipments: Mutex::new(Vec::new()),
            tokens: Mutex::new(HashMap::new()),
            ship_calls: 0.into(),
            token_calls: 0.into(),
            ship_times: Mutex::new(Vec::new()),
            schemas,
        }))
    }

    pub fn configure(&self, f: impl FnOnce(&mut UpsSimConfig)) {
        if let Ok(mut c) = self.config.lock() {
            f(&mut c);
        }
    }

    pub fn config(&self) -> UpsSimConfig {
        self.config.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Every shipment sold so far (the tests count labels with this).
    pub fn shipments(&self) -> Vec<SimShipment> {
        self.shipments.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn ship_calls(&self) -> u64 {
        self.ship_calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Time spent inside each ship call so far, in arrival order (hangs excluded).
    pub fn ship_times(&self) -> Vec<Duration> {
        self.ship_times
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    /// OAuth token requests so far (a client should reuse its token).
    pub fn token_calls(&self) -> u64 {
        self.token_calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Forgets every token it gave out, as if they had all expired.
    pub fn expire_tokens(&self) {
        if let Ok(mut t) = self.tokens.lock() {
            t.clear();
        }
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/security/v1/oauth/token", post(token))
            .route("/api/shipments/{version}/ship", post(ship))
            .route("/api/shipments/{version}/void/cancel/{id}", delete(void))
            .route("/api/labels/{version}/recovery", post(recovery))
            .route("/api/track/v1/details/{number}", get(track))
            .route(
                "/api/track/v1/reference/details/{reference}",
                get(track_reference),
            )
            .route("/api/rating/{version}/{option}", post(rate))
            .route("/api/addressvalidation/{version}/{option}", post(validate))
            .route("/__sim/ups/config", post(set_config).get(get_config))
            .route("/__sim/ups/shipments", get(list_shipments))
            .with_state(self.clone())
    }

    fn next_tracking_number(&self, service: &str) -> String {
        let account = self.config().account_number;
        let count = self.shipments.lock().map(|s| s.len()).unwrap_or(0) as u64;
        let package = 1_000_000 + count * 7 + rand::random::<u64>() % 7;
        let body = format!("{account:0>6}{service:0>2}{package:07}");
        let body: String = body
            .chars()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("1Z{body}{}", check_digit(&body))
    }
}

/// UPS's mod-10 check digit over the 15 characters after "1Z" (shared/notes/ups.md §7).
pub fn check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let v = if c.is_ascii_digit() {
                c as u32 - '0' as u32
            } else {
                (c.to_ascii_uppercase() as u32 - 63) % 10
            };
            if i % 2 == 1 { v * 2 } else { v }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// A refusal before the call is handled (throttling, outage, credentials, headers).
struct Fault {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        ups_error(self.status, self.code, self.message)
    }
}

fn ups_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut r = (
        status,
        axum::Json(json!({"response": {"errors": [{"code": code, "message": message}]}})),
    )
        .into_response();
    if let Ok(v) = code.parse() {
        r.headers_mut().insert("errorcode", v);
    }
    r
}

fn invalid(violations: &[packbench_openapi::Violation]) -> Response {
    let first = violations
        .iter()
        .take(3)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    ups_error(
        StatusCode::BAD_REQUEST,
        "9370701",
        &format!("The request is not valid: {first}"),
    )
}

/// Latency, throttling, outages and the bearer token: what every API call goes through.
async fn gate(sim: &UpsSim, headers: &HeaderMap) -> Result<(), Fault> {
    let cfg = sim.config();
    if cfg.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(cfg.latency_ms)).await;
    }
    checks(sim, headers)
}

/// Throttling, outages and the bearer token, without the latency.
fn checks(sim: &UpsSim, headers: &HeaderMap) -> Result<(), Fault> {
    let mut throttled = false;
    let mut down = false;
    sim.configure(|c| {
        if c.throttle_next > 0 {
            c.throttle_next -= 1;
            throttled = true;
        } else if c.unavailable_next > 0 {
            c.unavailable_next -= 1;
            down = true;
        }
    });
    if throttled {
        return Err(Fault {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "10429",
            message: "Too Many Requests",
        });
    }
    if down {
        return Err(Fault {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "10004",
            message: "The service is temporarily unavailable",
        });
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let live = sim
        .tokens
        .lock()
        .map(|t| t.get(token).is_some_and(|exp| Instant::now() < *exp))
        .unwrap_or(false);
    if !live {
        return Err(Fault {
            status: StatusCode::UNAUTHORIZED,
            code: "250002",
            message: "Invalid Authentication Information.",
        });
    }
    Ok(())
}

fn trans_headers_ok(headers: &HeaderMap) -> Result<(), Fault> {
    let id = headers
        .get("transid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if id.is_empty() || id.len() > 32 {
        return Err(Fault {
            status: StatusCode::BAD_REQUEST,
            code: "TV1001",
            message: "Missing transId",
        });
    }
    if headers.get("transactionsrc").is_none() {
        return Err(Fault {
            status: StatusCode::BAD_REQUEST,
            code: "TV1001",
            message: "Missing transactionSrc",
        });
    }
    Ok(())
}

async fn token(State(sim): State<Arc<UpsSim>>, headers: HeaderMap, body: String) -> Response {
    sim.token_calls
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let cfg = sim.config();
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", cfg.client_id, cfg.client_secret));
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth.strip_prefix("Basic ") != Some(expected.as_str()) {
        return ups_error(StatusCode::UNAUTHORIZED, "10401", "ClientId is Invalid");
    }
    if body.trim() != "grant_type=client_credentials" {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "10400",
            "Invalid/Missing grant_type",
        );
    }
    let token = format!("sim-{:032x}", rand::random::<u128>());
    if let Ok(mut t) = sim.tokens.lock() {
        t.insert(
            token.clone(),
            Instant::now() + Duration::from_secs(cfg.token_ttl_secs),
        );
    }
    // Every field a string, as UPS sends them.
    axum::Json(json!({
        "token_type": "Bearer",
        "issued_at": Utc::now().timestamp_millis().to_string(),
        "client_id": cfg.client_id,
        "access_token": token,
        "scope": "",
        "expires_in": cfg.token_ttl_secs.to_string(),
        "refresh_count": "0",
        "status": "approved",
    }))
    .into_response()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

async fn ship(
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

async fn ship_inner(
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
                "GraphicImage": graphic,
            },
        }));
        if let Ok(mut all) = sim.shipments.lock() {
            all.push(SimShipment {
                tracking_number: number.clone(),
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
    let answer = json!({"ShipmentResponse": {
        "Response": {
            "ResponseStatus": {"Code": "1", "Description": "Success"},
            "Alert": [{"Code": "129001", "Description": "Additional Handling has automatically been set on Package 1."}],
            "TransactionReference": {"CustomerContext": str_at(&req, "/ShipmentRequest/Request/TransactionReference/CustomerContext")},
        },
        "ShipmentResults": {
            "ShipmentCharges": {"TotalCharges": {"CurrencyCode": "USD", "MonetaryValue": total}},
            "BillingWeight": {"UnitOfMeasurement": {"Code": "LBS", "Description": "Pounds"}, "Weight": "1.0"},
            "ShipmentIdentificationNumber": first,
            "PackageResults": results,
        },
    }});
    axum::Json(answer).into_response()
}

fn service_name(code: &str) -> &'static str {
    match code {
        "01" => "UPS NEXT DAY AIR",
        "02" => "UPS 2ND DAY AIR",
        "12" => "UPS 3 DAY SELECT",
        "03" => "UPS GROUND",
        _ => "UPS",
    }
}

fn encode_label(image: &image::GrayImage, format: &str) -> String {
    let b64 = &base64::engine::general_purpose::STANDARD;
    match format {
        "ZPL" => b64.encode(label::zpl(image)),
        "PNG" => b64.encode(label::png(image)),
        _ => b64.encode(label::gif(image)),
    }
}

async fn void(
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
            all.iter_mut().find(|s| s.tracking_number == id).map(|s| {
                let delivered = s.created_at.elapsed()
                    >= Duration::from_secs(sim.config().transit_secs)
                    && !s.voided;
                if !delivered {
                    s.voided = true;
                }
                !delivered
            })
        })
        .ok()
        .flatten();
    match found {
        // Voided, or already voided: UPS answers success both times.
        Some(true) => axum::Json(json!({"VoidShipmentResponse": {
            "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"},
                         "TransactionReference": {"CustomerContext": ""}},
            "SummaryResult": {"Status": {"Code": "1", "Description": "Voided"}},
        }}))
        .into_response(),
        Some(false) | None => ups_error(
            StatusCode::BAD_REQUEST,
            "190102",
            "No shipment found within the allowed void period",
        ),
    }
}

async fn recovery(
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
                "GraphicImage": encode_label(&s.image, &format),
            },
        },
    }}))
    .into_response()
}

/// The activity a parcel has shown so far, newest first, in the Tracking API's shape.
fn activity(s: &SimShipment, transit: Duration) -> Vec<Value> {
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
                "gmtOffset": "+00:00",
            });
            if let Some(c) = city {
                a["location"] = json!({"address": {"city": c, "countryCode": "US", "country": "US"}, "slic": "0700"});
            }
            a
        })
        .collect()
}

fn track_answer(sim: &UpsSim, inquiry: &str, found: Vec<SimShipment>) -> Response {
    if found.is_empty() {
        return axum::Json(json!({"trackResponse": {"shipment": [{
            "inquiryNumber": inquiry,
            "warnings": [{"code": "TW0001", "message": "Tracking Information Not Found"}],
        }]}}))
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
                "referenceNumber": s.references.iter().map(|r| json!({"type": "PACKAGE", "number": r})).collect::<Vec<_>>(),
            })
        })
        .collect();
    axum::Json(json!({"trackResponse": {"shipment": [{
        "inquiryNumber": inquiry,
        "package": packages,
        "userRelation": [],
    }]}}))
    .into_response()
}

async fn track(
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

async fn track_reference(
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

async fn rate(
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
                "GuaranteedDelivery": {"BusinessDaysInTransit": days},
            })
        })
        .collect();
    axum::Json(json!({"RateResponse": {
        "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"},
                     "Alert": [{"Code": "110971", "Description": "Your invoice may vary from the displayed reference rates"}]},
        "RatedShipment": rated,
    }}))
    .into_response()
}

async fn validate(
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

async fn set_config(
    State(sim): State<Arc<UpsSim>>,
    axum::Json(patch): axum::Json<Value>,
) -> Response {
    let mut current = serde_json::to_value(sim.config()).unwrap_or_default();
    if let (Some(c), Some(p)) = (current.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            c.insert(k.clone(), v.clone());
        }
    }
    match serde_json::from_value::<UpsSimConfig>(current) {
        Ok(cfg) => {
            sim.configure(|c| *c = cfg.clone());
            axum::Json(cfg).into_response()
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    }
}

async fn get_config(State(sim): State<Arc<UpsSim>>) -> Response {
    axum::Json(sim.config()).into_response()
}

async fn list_shipments(State(sim): State<Arc<UpsSim>>) -> Response {
    axum::Json(json!({"ship_calls": sim.ship_calls(), "shipments": sim.shipments()}))
        .into_response()
}
