//! The request bodies of the batch, inventory, shipment, login and device-settings routes,
//! each read here into what its service takes: a handler only parses (with these), calls and
//! maps. Every one is fuzzed below (`no_body_panics`), with the settings and device settings
//! the core checks and Shopify's webhook bodies: any bytes are read or refused with a named
//! field, never a panic.

use packbench_core::domain::{
    Location, OrderId, Package, ServiceCode, Sku, Weight, WeightUnit, parse_station_id,
    parse_username,
};
use packbench_core::model::{Address, StockChange};
use packbench_core::settings::Units;
use serde::Deserialize;
use serde_json::{Value, json};

use super::PackageBody;
use crate::error::{ApiError, ApiResult};

/// The most stock one row may hold, or one change move.
pub const MAX_ON_HAND: i64 = 10_000_000;

/// An order id from a path or a body: one that does not parse names no order (404, like an
/// order of another tenant).
pub fn order_id(raw: &str) -> ApiResult<OrderId> {
    OrderId::parse(raw).map_err(|_| ApiError::not_found(format!("order `{raw}` not found")))
}

fn order_ids(ids: &[String]) -> ApiResult<Vec<OrderId>> {
    ids.iter().map(|i| order_id(i)).collect()
}

/// `POST auth/login`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
    station_id: Option<String>,
}

/// A login as the accounts service takes it.
pub struct Login {
    pub username: String,
    pub password: String,
    pub station: Option<String>,
}

impl LoginBody {
    pub fn parse(self) -> ApiResult<Login> {
        let username = parse_username(&self.username)?;
        let station = self
            .station_id
            .as_deref()
            .map(parse_station_id)
            .transpose()?;
        if self.password.is_empty() || self.password.len() > 1024 {
            return Err(ApiError::invalid(
                "password",
                "password must be 1-1024 characters",
            ));
        }
        Ok(Login {
            username,
            password: self.password,
            station,
        })
    }
}

/// `POST batches/pick-list`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickListBody {
    order_ids: Option<Vec<String>>,
    format: Option<String>,
}

/// Which orders a pick list covers (`None`: every open one not picked yet), and whether as a
/// PDF.
pub struct PickListRequest {
    pub orders: Option<Vec<OrderId>>,
    pub pdf: bool,
}

impl PickListBody {
    /// `accept` is the request's `Accept` header, which chooses when `format` is left out.
    pub fn parse(self, accept: Option<&str>) -> ApiResult<PickListRequest> {
        let pdf = match self.format.as_deref() {
            Some("pdf") => true,
            Some("json") => false,
            Some(other) => {
                return Err(ApiError::invalid(
                    "format",
                    format!("format is json or pdf, not `{other}`"),
                ));
            }
            None => accept.is_some_and(|a| a.contains("application/pdf")),
        };
        let orders = match self.order_ids {
            Some(ids) if ids.is_empty() => {
                return Err(ApiError::invalid(
                    "order_ids",
                    "name at least one order, or leave order_ids out",
                ));
            }
            Some(ids) if ids.len() > 500 => {
                return Err(ApiError::invalid(
                    "order_ids",
                    "at most 500 orders per pick list",
                ));
            }
            Some(ids) => Some(order_ids(&ids)?),
            None => None,
        };
        Ok(PickListRequest { orders, pdf })
    }
}

/// `POST batches/ship`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchShipBody {
    order_ids: Option<Vec<String>>,
    service: Option<String>,
    /// Labels bought at once (1-16); the tenant's `ups.batch_concurrency` when left out.
    concurrency: Option<usize>,
}

/// A batch of labels: which orders (`None`: every packed one), which service, how many at once.
pub struct BatchShip {
    pub orders: Option<Vec<OrderId>>,
    pub service: ServiceCode,
    pub concurrency: Option<usize>,
}

impl BatchShipBody {
    pub fn parse(self) -> ApiResult<BatchShip> {
        let service = ServiceCode::parse(self.service.as_deref().unwrap_or("ground"))?;
        let orders = match self.order_ids {
            Some(ids) if ids.is_empty() || ids.len() > 1000 => {
                return Err(ApiError::invalid(
                    "order_ids",
                    "name 1-1000 orders, or leave order_ids out",
                ));
            }
            Some(ids) => Some(order_ids(&ids)?),
            None => None,
        };
        Ok(BatchShip {
            orders,
            service,
            concurrency: self.concurrency,
        })
    }
}

/// `POST batches/sync`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSyncBody {
    order_ids: Option<Vec<String>>,
}

impl BatchSyncBody {
    /// The orders to report (`None`: every shipped one not yet synced).
    pub fn parse(self) -> ApiResult<Option<Vec<OrderId>>> {
        self.order_ids.as_deref().map(order_ids).transpose()
    }
}

/// `POST inventory`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    changes: Vec<ChangeItem>,
    reason: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangeItem {
    sku: String,
    location: String,
    on_hand: Option<i64>,
    delta: Option<i64>,
}

/// `PATCH inventory/weights`: each SKU's unit weight as weighed at the bench, or `null` to
/// forget it (the shop's comes back on the next import).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightsBody {
    weights: Vec<WeightItem>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WeightItem {
    sku: String,
    /// The unit's weight; `null` forgets it.
    weight: Option<f64>,
    /// lb, oz, kg or g; the settings' unit when left out.
    unit: Option<String>,
}

impl WeightsBody {
    /// The weights, all checked.
    pub fn parse(self, units: Units) -> ApiResult<Vec<(Sku, Option<Weight>)>> {
        if self.weights.is_empty() || self.weights.len() > 10_000 {
            return Err(ApiError::invalid("weights", "give 1-10,000 weights"));
        }
        self.weights
            .into_iter()
            .enumerate()
            .map(|(i, w)| {
                let at = |e: packbench_core::domain::ParseError| {
                    ApiError::invalid(e.field, format!("weight {}: {}", i + 1, e.message))
                        .with_details(json!({"index": i, "field": e.field}))
                };
                let sku = Sku::parse(&w.sku).map_err(at)?;
                let unit = w
                    .unit
                    .as_deref()
                    .map(WeightUnit::parse)
                    .transpose()
                    .map_err(at)?
                    .unwrap_or(units.weight);
                let weight = w
                    .weight
                    .map(|v| Weight::new(v, unit))
                    .transpose()
                    .map_err(at)?;
                Ok((sku, weight))
            })
            .collect()
    }
}

/// `POST shipments/{id}/box-scan`: what the scanner read off the label on the box.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoxScanBody {
    code: String,
}

impl BoxScanBody {
    pub fn parse(self) -> ApiResult<String> {
        let code = self.code.trim();
        if code.is_empty() || code.len() > 64 {
            return Err(ApiError::invalid(
                "code",
                "code is what the scanner read off the label (1-64 characters)",
            ));
        }
        Ok(code.to_owned())
    }
}

/// A stock change's reason: a short word, `default` when left out.
fn reason(raw: Option<String>, default: &str) -> ApiResult<String> {
    let r = raw
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| default.to_owned());
    if r.len() > 64
        || !r
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b' ')
    {
        return Err(ApiError::invalid(
            "reason",
            "reason is a short word such as count, received, damaged (max 64)",
        ));
    }
    Ok(r)
}

impl ChangeBody {
    /// The changes, all checked, and their reason.
    pub fn parse(self) -> ApiResult<(Vec<StockChange>, String)> {
        if self.changes.is_empty() || self.changes.len() > 10_000 {
            return Err(ApiError::invalid("changes", "give 1-10,000 changes"));
        }
        let mut changes = Vec::with_capacity(self.changes.len());
        for (i, c) in self.changes.into_iter().enumerate() {
            let at = |e: packbench_core::domain::ParseError| {
                ApiError::invalid(e.field, format!("change {}: {}", i + 1, e.message))
                    .with_details(json!({"index": i, "field": e.field}))
            };
            let sku = Sku::parse(&c.sku).map_err(at)?;
            let location = Location::parse(&c.location).map_err(at)?;
            changes.push(match (c.on_hand, c.delta) {
                (Some(n), None) if (0..=MAX_ON_HAND).contains(&n) => StockChange::Set {
                    sku,
                    location,
                    on_hand: n,
                },
                (None, Some(d)) if d != 0 && d.checked_abs().is_some_and(|a| a <= MAX_ON_HAND) => {
                    StockChange::Adjust {
                        sku,
                        location,
                        delta: d,
                    }
                }
                _ => {
                    return Err(ApiError::invalid(
                        "changes",
                        format!(
                            "change {}: give either on_hand (0-{MAX_ON_HAND}) or a non-zero delta, not both",
                            i + 1
                        ),
                    )
                    .with_details(json!({"index": i})));
                }
            });
        }
        Ok((changes, reason(self.reason, "adjustment")?))
    }
}

/// `POST inventory/import`: `sku,location,on_hand` with a header line first. Every row is
/// checked; a file with a bad row is refused whole, naming each bad row.
pub fn stock_import(csv_bytes: &[u8]) -> ApiResult<Vec<StockChange>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(csv_bytes);
    let headers = r
        .headers()
        .map_err(|e| ApiError::bad_request(format!("could not read the CSV: {e}")))?
        .clone();
    let cols: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    if cols != ["sku", "location", "on_hand"] {
        return Err(ApiError::invalid(
            "csv",
            format!(
                "the first line must be `sku,location,on_hand`, not `{}`",
                cols.join(",")
            ),
        ));
    }
    let mut changes = Vec::new();
    let mut problems = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                problems.push(json!({"line": line, "message": e.to_string()}));
                continue;
            }
        };
        let field = |n: usize| rec.get(n).unwrap_or_default();
        let sku = Sku::parse(field(0));
        let location = Location::parse(field(1));
        let on_hand = field(2)
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=MAX_ON_HAND).contains(n));
        match (sku, location, on_hand) {
            (Ok(sku), Ok(location), Some(on_hand)) => changes.push(StockChange::Set {
                sku,
                location,
                on_hand,
            }),
            (Err(e), _, _) | (_, Err(e), _) => {
                problems.push(json!({"line": line, "message": e.to_string()}))
            }
            (_, _, None) => problems.push(json!({
                "line": line,
                "message": format!("on_hand must be a whole number 0-{MAX_ON_HAND}")
            })),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(
            "csv",
            format!("{} line(s) are wrong; nothing was imported", problems.len()),
        )
        .with_details(json!({"field": "csv", "lines": problems})));
    }
    if changes.is_empty() {
        return Err(ApiError::invalid("csv", "the file has no rows"));
    }
    Ok(changes)
}

/// `POST shipments`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShipmentBody {
    order_id: Option<String>,
    service: String,
    package: PackageBody,
    ship_to: Option<Address>,
}

/// A label outside the normal flow, as the shipping service takes it.
pub struct NewShipment {
    pub order: Option<OrderId>,
    pub service: ServiceCode,
    pub package: Package,
    pub ship_to: Option<Address>,
}

impl CreateShipmentBody {
    pub fn parse(self, units: Units) -> ApiResult<NewShipment> {
        Ok(NewShipment {
            order: self.order_id.as_deref().map(order_id).transpose()?,
            service: ServiceCode::parse(&self.service)?,
            package: self.package.parse(units)?,
            ship_to: self.ship_to,
        })
    }
}

/// `POST shipments/rates`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatesBody {
    order_id: Option<String>,
    ship_to: Option<Address>,
    package: PackageBody,
}

/// `POST shipments/address-check`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    order_id: Option<String>,
    ship_to: Option<Address>,
}

/// Where a parcel goes: an address given, or the ship-to of an order.
pub enum ShipTo {
    Address(Address),
    OfOrder(OrderId),
}

fn ship_to(order: Option<&str>, address: Option<Address>) -> ApiResult<ShipTo> {
    match (address, order) {
        (Some(a), _) => Ok(ShipTo::Address(a)),
        (None, Some(raw)) => Ok(ShipTo::OfOrder(order_id(raw)?)),
        (None, None) => Err(ApiError::invalid(
            "ship_to",
            "give a ship_to address or an order_id whose address to use",
        )),
    }
}

impl RatesBody {
    pub fn parse(self, units: Units) -> ApiResult<(ShipTo, Package)> {
        let package = self.package.parse(units)?;
        Ok((ship_to(self.order_id.as_deref(), self.ship_to)?, package))
    }
}

impl AddressBody {
    pub fn parse(self) -> ApiResult<ShipTo> {
        ship_to(self.order_id.as_deref(), self.ship_to)
    }
}

/// `PUT settings/devices`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceSettingsBody {
    station_id: Option<String>,
    #[schema(value_type = Object)]
    settings: serde_json::Map<String, Value>,
}

impl DeviceSettingsBody {
    /// The station named, else the caller's (`logged_in_at`), and the settings document (its
    /// fields are checked by the service).
    pub fn parse(self, logged_in_at: Option<&str>) -> ApiResult<(String, Value)> {
        Ok((
            station(self.station_id.as_deref(), logged_in_at)?,
            Value::Object(self.settings),
        ))
    }
}

/// The station a device-settings request is about: the one named, else the caller's.
pub fn station(named: Option<&str>, logged_in_at: Option<&str>) -> ApiResult<String> {
    match named.or(logged_in_at) {
        Some(s) => Ok(parse_station_id(s)?),
        None => Err(ApiError::invalid(
            "station_id",
            "say which station (station_id), or log in at one",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fuzz::{any_json, edge_integer, object};
    use super::*;
    use crate::extract::parse_json;
    use packbench_core::domain::{DimensionUnit, WeightUnit};
    use proptest::prelude::*;

    fn units() -> [Units; 2] {
        [
            Units::default(),
            Units {
                weight: WeightUnit::Kg,
                dimension: DimensionUnit::Cm,
            },
        ]
    }

    /// Every body here, from `bytes`: read and parsed, or refused.
    fn parse_every_body(bytes: &[u8], station: Option<&str>) {
        if let Ok(b) = parse_json::<LoginBody>(bytes) {
            let _ = b.parse();
        }
        for accept in [None, Some("application/pdf")] {
            if let Ok(b) = parse_json::<PickListBody>(bytes) {
                let _ = b.parse(accept);
            }
        }
        if let Ok(b) = parse_json::<BatchShipBody>(bytes) {
            let _ = b.parse();
        }
        if let Ok(b) = parse_json::<BatchSyncBody>(bytes) {
            let _ = b.parse();
        }
        if let Ok(b) = parse_json::<ChangeBody>(bytes) {
            let _ = b.parse();
        }
        if let Ok(b) = parse_json::<BoxScanBody>(bytes) {
            let _ = b.parse();
        }
        for units in units() {
            if let Ok(b) = parse_json::<WeightsBody>(bytes) {
                let _ = b.parse(units);
            }
            if let Ok(b) = parse_json::<CreateShipmentBody>(bytes) {
                let _ = b.parse(units);
            }
            if let Ok(b) = parse_json::<RatesBody>(bytes) {
                let _ = b.parse(units);
            }
        }
        if let Ok(b) = parse_json::<AddressBody>(bytes) {
            let _ = b.parse();
        }
        if let Ok(b) = parse_json::<DeviceSettingsBody>(bytes) {
            let _ = b.parse(station);
        }
        let _ = stock_import(bytes);
        // A signed Shopify webhook: checked against its topic and shop, then kept as a
        // privacy request when it is one.
        let shop = "acme.myshopify.com";
        for topic in [
            "app/uninstalled",
            "shop/redact",
            "customers/redact",
            "customers/data_request",
            "orders/create",
        ] {
            for header in [None, Some(shop), station] {
                let _ = packbench_shopify::webhook::fits(topic, shop, header, bytes);
            }
        }
        for kind in [
            packbench_core::model::PrivacyKind::CustomerRedact,
            packbench_core::model::PrivacyKind::CustomerDataRequest,
            packbench_core::model::PrivacyKind::ShopRedact,
        ] {
            let _ = packbench_core::service::privacy_request(
                kind,
                "w",
                bytes,
                chrono::DateTime::UNIX_EPOCH,
            );
        }
        // PATCH settings and PUT settings/devices hand their JSON to the core's checks.
        if let Ok(patch) = parse_json::<Value>(bytes) {
            let stored = json!({
                "shopify": {"shop_domain": "acme.myshopify.com", "access_token": "t"},
                "ups": {"client_id": "id", "client_secret": "s", "base_url": "https://ups.example"},
            });
            for before in [None, Some(&stored)] {
                let _ = packbench_core::settings::Settings::merge(before, &patch);
            }
            if let Some(doc) = patch.as_object() {
                let _ = packbench_core::devices::check_device_settings(doc);
            }
        }
    }

    /// A change row, mostly well formed.
    fn change() -> impl Strategy<Value = Value> {
        object(vec![
            (
                "sku",
                prop_oneof!["[A-Z0-9-]{1,12}", "\\PC{0,8}"]
                    .prop_map(Value::from)
                    .boxed(),
            ),
            ("location", "[A-Z0-9-]{1,8}".prop_map(Value::from).boxed()),
            ("delta", prop_oneof![edge_integer(), any_json()].boxed()),
        ])
    }

    /// A CSV file, mostly of the import's shape.
    fn csv_file() -> impl Strategy<Value = Vec<u8>> {
        let cell = prop_oneof![
            "[A-Za-z0-9-]{0,10}",
            "-?[0-9]{1,20}",
            "\\PC{0,6}",
            "\"[^\"]{0,6}"
        ];
        let row = proptest::collection::vec(cell, 0..5).prop_map(|c| c.join(","));
        (
            prop_oneof![Just("sku,location,on_hand".to_owned()), "[a-z_,]{0,24}"],
            proptest::collection::vec(row, 0..6),
        )
            .prop_map(|(head, rows)| format!("{head}\n{}", rows.join("\n")).into_bytes())
    }

    proptest! {
        /// No body makes a parser here panic: it is read or refused. (A stock change's
        /// `delta` of i64::MIN did: its absolute value overflows.)
        #[test]
        fn no_body_panics(
            body in any_json(),
            shaped in prop_oneof![
                object(vec![("changes", proptest::collection::vec(change(), 0..3).prop_map(Value::Array).boxed())]),
                object(vec![("package", object(vec![("weight", any_json().boxed())]).boxed())]),
                object(vec![("settings", object(vec![]).boxed())]),
                object(vec![("ups", object(vec![]).boxed()), ("shopify", object(vec![]).boxed())]),
                object(vec![("customer", object(vec![]).boxed()), ("shop_domain", Just(Value::from("acme.myshopify.com")).boxed())]),
                object(vec![("boxes", proptest::collection::vec(object(vec![]), 0..3).prop_map(Value::Array).boxed())]),
            ],
            csv in csv_file(),
            raw in proptest::collection::vec(any::<u8>(), 0..64),
            station in proptest::option::of("\\PC{0,12}"),
        ) {
            for bytes in [
                serde_json::to_vec(&body).expect("a value serialises"),
                serde_json::to_vec(&shaped).expect("a value serialises"),
                csv,
                raw,
            ] {
                parse_every_body(&bytes, station.as_deref());
            }
        }
    }

    #[test]
    fn the_largest_negative_delta_is_refused_not_taken() {
        let body = format!(
            r#"{{"changes": [{{"sku": "MUG", "location": "A-1", "delta": {}}}]}}"#,
            i64::MIN
        );
        let e = parse_json::<ChangeBody>(body.as_bytes())
            .unwrap()
            .parse()
            .expect_err("refused");
        assert_eq!(e.status().as_u16(), 422);
    }

    #[test]
    fn an_import_names_every_bad_line() {
        let e = stock_import(b"sku,location,on_hand\nMUG,A-1,5\nMUG,,x\nCUP,B-2,-1\n")
            .expect_err("refused");
        let body = e.body();
        let lines: Vec<u64> = body["error"]["details"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["line"].as_u64().unwrap())
            .collect();
        assert_eq!(lines, [3, 4], "{body}");
    }
}
