//! A UPS stand-in on loopback: OAuth, Shipping (ship, void, label recovery), Tracking (by
//! number and by reference), Rating (Shop) and Address Validation, on UPS's paths and in UPS's
//! shapes. Every request body is validated against the official schemas in `specs/ups/` and
//! refused like UPS refuses (400 with `response.errors`). Its wire types are its own JSON,
//! never the client's, so the two cannot agree on a mistake.
//!
//! Knobs ([`UpsSimConfig`], also `POST /__sim/ups/config`): latency per call, the next calls
//! answered with an error or a 429, the next ship calls accepted and then left hanging
//! (accept-then-timeout), and how long a parcel takes from label to delivered.
//!
//! This file holds the sim's state, its knobs, OAuth and the checks every call goes through;
//! `shipping`, `tracking` and `rating` answer the APIs.

mod rating;
mod shipping;
mod tracking;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine;
use chrono::{DateTime, Utc};
use packbench_openapi::{Schema, Spec};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use rating::{rate, validate};
use shipping::{recovery, ship, void};
use tracking::{track, track_reference};

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
    /// The shipment's number (its first package's tracking number): voiding it voids every
    /// package of the shipment.
    pub shipment_number: String,
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
    /// Packages numbered so far: each tracking number is UPS's alone, however many purchases
    /// run at once.
    packages: std::sync::atomic::AtomicU64,
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
            packages: 0.into(),
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
        // Read and counted at once: two purchases at the same moment never share a number
        // (a shipment count read before either was kept gave both the same one).
        let count = self
            .packages
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
        "status": "approved"}))
    .into_response()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
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

#[cfg(test)]
mod tests {
    /// Purchases at the same moment never share a tracking number (UPS's are unique; the
    /// batch ship found two labels with one number when the sim counted shipments instead).
    #[test]
    fn tracking_numbers_are_unique_under_concurrent_purchases() {
        let sim = super::UpsSim::new(super::UpsSimConfig::default()).unwrap();
        let numbers: Vec<String> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        (0..500)
                            .map(|_| sim.next_tracking_number("03"))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        let unique: std::collections::HashSet<&String> = numbers.iter().collect();
        assert_eq!(unique.len(), numbers.len());
        assert!(numbers.iter().all(|n| n.len() == 18 && n.starts_with("1Z")));
    }
}
