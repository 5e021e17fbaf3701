//! The JSON of the REST API: request bodies (parsed into domain types here, at the edge) and
//! the views sent back. Nothing in here decides anything.

use std::collections::HashMap;

use base64::Engine;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use packbench_core::domain::{
    DimensionUnit, Dimensions, Location, OrderId, Package, ParseError, Quantity, ServiceCode,
    ShipmentId, Sku, UserId, Weight, WeightUnit,
};
use packbench_core::model::{
    Address, DayLabel, Order, OrderEvent, OrderFilter, Shipment, ShipmentFilter, ShipmentStatus,
    Timestamp,
};
use packbench_core::service::{EndOfDay, LineLocation, Operation, OrderDetail, Warning, WeighIn};
use packbench_core::settings::Units;
use packbench_core::workflow::OrderStatus;
use packbench_core::workflow::PickItem;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};

mod bodies;
#[cfg(test)]
mod fuzz;
pub use bodies::*;

/// `POST orders/{id}/operations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum OperationBody {
    Assign {
        user_id: Option<String>,
    },
    Pick {
        items: Vec<PickItemBody>,
    },
    Pack {
        package: PackageBody,
        /// The boxes after the first, when the order needs several (at most 19 more): one
        /// shipment, a label each.
        more_packages: Option<Vec<PackageBody>>,
        /// Why boxes off their expected weight are right (an admin, or an operator the
        /// settings' `weight_check.may_override` names).
        override_reason: Option<String>,
    },
    Ship {
        service: String,
        package: Option<PackageBody>,
        override_reason: Option<String>,
    },
    Void {},
    Cancel {
        reason: String,
    },
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickItemBody {
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub quantity: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageBody {
    pub weight: f64,
    pub weight_unit: Option<String>,
    pub dimensions: Option<DimensionsBody>,
    #[serde(rename = "box")]
    pub box_name: Option<String>,
    /// The empty box's weight (the box preset's tare), in the weight's unit: added to what
    /// the items should weigh.
    pub tare: Option<f64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionsBody {
    pub length: f64,
    pub width: f64,
    pub height: f64,
    pub unit: Option<String>,
}

impl PackageBody {
    /// The package with the box's tare (`None` for no tare or 0).
    pub fn parse_weighed(self, units: Units) -> Result<(Package, Option<Weight>), ParseError> {
        let tare = self.tare;
        let package = self.parse(units)?;
        let tare = match tare {
            None => None,
            Some(0.0) => None,
            Some(t) if t.is_finite() && t > 0.0 && t < package.weight.value() => {
                Some(Weight::new(t, package.weight.unit())?)
            }
            Some(_) => {
                return Err(ParseError::new(
                    "tare",
                    "the box's tare is a weight from 0 to less than the packed box's weight",
                ));
            }
        };
        Ok((package, tare))
    }

    pub fn parse(self, units: Units) -> Result<Package, ParseError> {
        let wu = self
            .weight_unit
            .as_deref()
            .map(WeightUnit::parse)
            .transpose()?
            .unwrap_or(units.weight);
        let dimensions = self
            .dimensions
            .map(|d| {
                let du = d
                    .unit
                    .as_deref()
                    .map(DimensionUnit::parse)
                    .transpose()?
                    .unwrap_or(units.dimension);
                Dimensions::new(d.length, d.width, d.height, du)
            })
            .transpose()?;
        let r#box = self
            .box_name
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty());
        if r#box.as_ref().is_some_and(|b| b.len() > 64) {
            return Err(ParseError::new("box", "must be at most 64 characters"));
        }
        Ok(Package {
            weight: Weight::new(self.weight, wu)?,
            dimensions,
            r#box,
        })
    }
}

impl OperationBody {
    pub fn parse(self, units: Units) -> Result<Operation, ParseError> {
        Ok(match self {
            Self::Assign { user_id } => Operation::Assign {
                user: user_id.as_deref().map(UserId::parse).transpose()?,
            },
            Self::Pick { items } => {
                if items.is_empty() {
                    return Err(ParseError::new("items", "a pick needs at least one item"));
                }
                if items.len() > 500 {
                    return Err(ParseError::new("items", "at most 500 items per pick"));
                }
                let items = items
                    .into_iter()
                    .map(|i| {
                        let sku = i.sku.as_deref().map(Sku::parse).transpose()?;
                        let barcode = i.barcode.map(|b| b.trim().to_owned());
                        if barcode
                            .as_ref()
                            .is_some_and(|b| b.is_empty() || b.len() > 64)
                        {
                            return Err(ParseError::new("barcode", "must be 1-64 characters"));
                        }
                        if sku.is_none() && barcode.is_none() {
                            return Err(ParseError::new(
                                "items",
                                "each item needs a sku or a barcode",
                            ));
                        }
                        Ok(PickItem {
                            sku,
                            barcode,
                            quantity: Quantity::new(i.quantity.unwrap_or(1))?,
                        })
                    })
                    .collect::<Result<_, _>>()?;
                Operation::Pick { items }
            }
            Self::Pack {
                package,
                more_packages,
                override_reason,
            } => {
                let more_packages = more_packages.unwrap_or_default();
                if more_packages.len() > MAX_BOXES - 1 {
                    return Err(ParseError::new(
                        "more_packages",
                        format!("an order goes in at most {MAX_BOXES} boxes"),
                    ));
                }
                let (package, tare) = package.parse_weighed(units)?;
                let mut tare_g = tare.map_or(0.0, Weight::grams);
                let mut more_boxes = Vec::with_capacity(more_packages.len());
                for b in more_packages {
                    let (b, tare) = b.parse_weighed(units)?;
                    tare_g += tare.map_or(0.0, Weight::grams);
                    more_boxes.push(b);
                }
                Operation::Pack {
                    package,
                    more_boxes,
                    weigh_in: WeighIn {
                        tare: (tare_g > 0.0)
                            .then(|| Weight::new(tare_g, WeightUnit::G))
                            .transpose()?,
                        override_reason: override_reason_of(override_reason)?,
                    },
                }
            }
            Self::Ship {
                service,
                package,
                override_reason,
            } => {
                let (package, tare) = match package {
                    Some(p) => {
                        let (p, tare) = p.parse_weighed(units)?;
                        (Some(p), tare)
                    }
                    None => (None, None),
                };
                Operation::Ship {
                    service: ServiceCode::parse(&service)?,
                    package,
                    weigh_in: WeighIn {
                        tare,
                        override_reason: override_reason_of(override_reason)?,
                    },
                }
            }
            Self::Void {} => Operation::Void,
            Self::Cancel { reason } => {
                let reason = reason.trim().to_owned();
                if reason.is_empty() || reason.len() > 500 {
                    return Err(ParseError::new(
                        "reason",
                        "a cancel needs a reason of 1-500 characters",
                    ));
                }
                Operation::Cancel { reason }
            }
        })
    }
}

/// The most boxes one order is packed into (one UPS shipment takes many more; a bench order
/// needing more is a freight job).
pub const MAX_BOXES: usize = 20;

/// Why a box off its weight is packed anyway: said in words, or not at all.
fn override_reason_of(raw: Option<String>) -> Result<Option<String>, ParseError> {
    match raw.map(|r| r.trim().to_owned()) {
        None => Ok(None),
        Some(r) if r.is_empty() || r.len() > 500 => Err(ParseError::new(
            "override_reason",
            "an override needs a reason of 1-500 characters (what is in the box, and why it is right)",
        )),
        Some(r) => Ok(Some(r)),
    }
}

pub fn label_url(tenant: &str, shipment: &ShipmentId) -> String {
    format!("/api/{tenant}/labels/{shipment}/png")
}

#[derive(Serialize)]
pub struct ShipmentView {
    pub id: ShipmentId,
    pub order_id: Option<OrderId>,
    pub status: &'static str,
    pub tracking_number: Option<String>,
    pub carrier: String,
    pub service: ServiceCode,
    pub label_url: String,
    pub estimated_delivery: Option<NaiveDate>,
    pub package: Package,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When its label was scanned onto the box; `null` if never.
    pub boxed_at: Option<DateTime<Utc>>,
    /// The boxes after the first, each with its tracking number, box scan and label.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub more_packages: Vec<PackageView>,
}

/// A box of a shipment after the first.
#[derive(Serialize)]
pub struct PackageView {
    /// Which box (2 and up; the shipment's own is 1).
    pub package: u32,
    pub tracking_number: Option<String>,
    pub weight: Weight,
    #[serde(rename = "box")]
    pub box_name: Option<String>,
    pub boxed_at: Option<DateTime<Utc>>,
    pub label_url: String,
}

impl ShipmentView {
    pub fn new(tenant: &str, s: &Shipment) -> Self {
        Self {
            id: s.id.clone(),
            order_id: s.order_id.clone(),
            status: s.status.as_str(),
            tracking_number: s.tracking_number.as_ref().map(|t| t.as_str().to_owned()),
            carrier: s.carrier.clone(),
            service: s.service,
            label_url: label_url(tenant, &s.id),
            estimated_delivery: s.estimated_delivery,
            package: s.package.clone(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            boxed_at: s.boxed_at,
            more_packages: (2..)
                .zip(&s.more_packages)
                .map(|(n, p)| PackageView {
                    package: n,
                    tracking_number: p.tracking_number.as_ref().map(|t| t.as_str().to_owned()),
                    weight: p.package.weight,
                    box_name: p.package.r#box.clone(),
                    boxed_at: p.boxed_at,
                    label_url: format!("{}?package={n}", label_url(tenant, &s.id)),
                })
                .collect(),
        }
    }
}

/// The seed's answer to a ship operation, exactly (with `more_packages` when there are
/// several boxes).
pub fn shipped_view(tenant: &str, order: &Order, s: &Shipment) -> Value {
    let mut v = json!({
        "order_id": order.id(),
        "status": order.status(),
        "shipment": {
            "id": s.id,
            "tracking_number": s.tracking_number.as_ref().map(|t| t.as_str()),
            "carrier": s.carrier,
            "service": s.service,
            "label_url": label_url(tenant, &s.id),
            "estimated_delivery": s.estimated_delivery,
        }
    });
    if !s.more_packages.is_empty() {
        v["shipment"]["more_packages"] = json!(ShipmentView::new(tenant, s).more_packages);
    }
    v
}

/// An order as the API shows it. Borrowed from the order and serialized straight to JSON
/// (operations answer one each; building a `serde_json::Value` first was a tenth of the
/// hub's time on them).
#[derive(Serialize)]
pub struct OrderView<'a> {
    id: &'a OrderId,
    name: &'a str,
    status: OrderStatus,
    version: i64,
    external_id: &'a Option<String>,
    customer_name: &'a Option<String>,
    ship_to: &'a Option<Address>,
    assigned_to: &'a Option<UserId>,
    package: &'a Option<Package>,
    /// The boxes after the first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    more_boxes: &'a Vec<Package>,
    shipment_id: &'a Option<ShipmentId>,
    cancel_reason: &'a Option<String>,
    label_url: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    lines: Vec<LineView<'a>>,
}

#[derive(Serialize)]
struct LineView<'a> {
    line_no: u32,
    sku: &'a Sku,
    barcode: Option<&'a str>,
    title: &'a str,
    quantity: u32,
    picked: u32,
    remaining: u32,
    /// Where to pick it, on the order's detail only.
    #[serde(flatten)]
    at: Option<&'a LineLocation>,
}

pub fn order_view<'a>(
    tenant: &str,
    order: &'a Order,
    locations: Option<&'a [LineLocation]>,
) -> OrderView<'a> {
    let lines = order
        .lines()
        .iter()
        .enumerate()
        .map(|(i, l)| LineView {
            line_no: l.line_no,
            sku: &l.sku,
            barcode: l.barcode.as_ref().map(|b| b.as_str()),
            title: &l.title,
            quantity: l.quantity,
            picked: l.picked,
            remaining: l.remaining(),
            at: locations.and_then(|ls| ls.get(i)),
        })
        .collect();
    OrderView {
        id: order.id(),
        name: &order.name,
        status: order.status(),
        version: order.version,
        external_id: &order.external_id,
        customer_name: &order.customer_name,
        ship_to: &order.ship_to,
        assigned_to: &order.state.assigned_to,
        package: &order.state.package,
        more_boxes: &order.state.more_boxes,
        shipment_id: &order.state.shipment_id,
        cancel_reason: &order.state.cancel_reason,
        label_url: order
            .state
            .shipment_id
            .as_ref()
            .map(|s| label_url(tenant, s)),
        created_at: order.created_at,
        updated_at: order.updated_at,
        lines,
    }
}

/// What an operation that did not ship answers.
#[derive(Serialize)]
pub struct OperatedView<'a> {
    pub order_id: &'a OrderId,
    pub status: OrderStatus,
    pub order: OrderView<'a>,
    pub warnings: &'a [Warning],
}

pub fn order_detail_view(tenant: &str, d: &OrderDetail) -> Value {
    let mut v = json!(order_view(tenant, &d.order, Some(&d.locations)));
    v["shipments"] = json!(
        d.shipments
            .iter()
            .map(|s| ShipmentView::new(tenant, s))
            .collect::<Vec<_>>()
    );
    v["events"] = json!(d.events.iter().map(event_view).collect::<Vec<_>>());
    v["expected_weight"] = json!(d.expected_weight);
    v
}

fn event_view(e: &OrderEvent) -> Value {
    json!({"seq": e.seq, "kind": e.kind, "user_id": e.user_id, "station_id": e.station_id, "payload": e.payload, "at": e.created_at})
}

/// Query-string parameters with clear errors (axum's own rejection has no envelope).
pub struct Query(pub HashMap<String, String>);

impl Query {
    pub fn from_raw(raw: Option<&str>) -> ApiResult<Self> {
        let mut map = HashMap::new();
        for (k, v) in url_pairs(raw.unwrap_or("")) {
            if map.insert(k.clone(), v).is_some() {
                return Err(ApiError::bad_request(format!(
                    "query parameter `{k}` is given twice"
                )));
            }
        }
        Ok(Self(map))
    }

    pub fn only(&self, allowed: &[&str]) -> ApiResult<()> {
        if let Some(k) = self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter `{k}` (allowed: {})",
                allowed.join(", ")
            )));
        }
        Ok(())
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn limit(&self, default: u32) -> ApiResult<u32> {
        match self.get("limit") {
            None => Ok(default),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=500).contains(&n) => Ok(n),
                _ => Err(ApiError::invalid(
                    "limit",
                    "limit must be a whole number from 1 to 500",
                )),
            },
        }
    }

    /// A time from an RFC 3339 value or a date (the start of that day, UTC).
    pub fn time(&self, k: &str) -> ApiResult<Option<Timestamp>> {
        self.time_or_day(k, 0)
    }

    /// An end of a range: a date means through the end of that day (`created_to=2026-11-24`
    /// includes the 24th).
    pub fn end_time(&self, k: &str) -> ApiResult<Option<Timestamp>> {
        self.time_or_day(k, 1)
    }

    fn time_or_day(&self, k: &str, days_after: u64) -> ApiResult<Option<Timestamp>> {
        self.get(k)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .ok()
                    .or_else(|| {
                        // Years as RFC 3339 writes them (four digits): chrono also reads
                        // `+262142-12-31`, whose next day does not exist.
                        NaiveDate::parse_from_str(v, "%Y-%m-%d")
                            .ok()
                            .filter(|d| (1..=9999).contains(&d.year()))?
                            .checked_add_days(chrono::Days::new(days_after))?
                            .and_hms_opt(0, 0, 0)
                            .map(|t| t.and_utc())
                    })
                    .ok_or_else(|| {
                        ApiError::invalid(
                            k,
                            format!("{k} must be a date (2026-11-24) or an RFC 3339 time"),
                        )
                    })
            })
            .transpose()
    }

    pub fn cursor(&self) -> ApiResult<Option<(Timestamp, String)>> {
        self.get("cursor").map(decode_cursor).transpose()
    }
}

/// The parameters `GET orders` takes.
pub const ORDER_QUERY: [&str; 8] = [
    "status",
    "q",
    "sku",
    "assigned_to",
    "created_from",
    "created_to",
    "limit",
    "cursor",
];

/// `GET orders`' query: what to list, checked.
pub fn order_filter(q: &Query) -> ApiResult<OrderFilter> {
    q.only(&ORDER_QUERY)?;
    let status = q
        .get("status")
        .map(|s| {
            OrderStatus::parse(s).ok_or_else(|| {
                ApiError::invalid("status", "status must be one of pending, processing, picked, packed, shipped, delivered, cancelled")
            })
        })
        .transpose()?;
    let after = q
        .cursor()?
        .map(|(t, id)| OrderId::parse(&id).map(|id| (t, id)))
        .transpose()
        .map_err(|_| {
            ApiError::bad_request("the cursor is not one this hub gave out; start again without it")
        })?;
    let search = q
        .get("q")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if search.as_ref().is_some_and(|s| s.len() > 100) {
        return Err(ApiError::invalid("q", "a search is at most 100 characters"));
    }
    Ok(OrderFilter {
        status,
        q: search,
        sku: q.get("sku").map(Sku::parse).transpose()?,
        assigned_to: q.get("assigned_to").map(UserId::parse).transpose()?,
        created_from: q.time("created_from")?,
        created_to: q.end_time("created_to")?,
        limit: q.limit(50)?,
        after,
    })
}

fn url_pairs(raw: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `GET shipments`' query.
pub fn shipment_filter(q: &Query) -> ApiResult<ShipmentFilter> {
    q.only(&["order_id", "status", "boxed", "since", "limit", "cursor"])?;
    let boxed = match q.get("boxed") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return Err(ApiError::invalid(
                "boxed",
                "boxed is true (labels scanned onto their box) or false (bought, never scanned)",
            ));
        }
    };
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
    Ok(ShipmentFilter {
        order_id: q.get("order_id").map(OrderId::parse).transpose()?,
        status,
        boxed,
        since: q.time("since")?,
        limit: q.limit(50)?,
        after,
    })
}

/// `GET labels/{id}/{format}`'s query: which box's label (1, the first, when left out).
pub fn label_query(q: &Query) -> ApiResult<u32> {
    q.only(&["package"])?;
    match q.get("package") {
        None => Ok(1),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_BOXES as u32).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "package",
                    format!("package is which box, from 1 to {MAX_BOXES}"),
                )
            }),
    }
}

/// `GET end-of-day`'s query: the day (today when left out) and the warehouse's offset from
/// UTC (`+01:00`; UTC when left out).
pub fn end_of_day_query(q: &Query) -> ApiResult<(Option<NaiveDate>, chrono::FixedOffset)> {
    q.only(&["date", "utc_offset"])?;
    let date = q
        .get("date")
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ApiError::invalid("date", "date is a day as YYYY-MM-DD"))
        })
        .transpose()?;
    let offset = match q.get("utc_offset") {
        None => chrono::FixedOffset::east_opt(0),
        Some(raw) => raw
            .parse::<chrono::FixedOffset>()
            .ok()
            .filter(|o| o.local_minus_utc().abs() <= 14 * 3600),
    }
    .ok_or_else(|| {
        ApiError::invalid(
            "utc_offset",
            "utc_offset is the warehouse's offset from UTC, from -14:00 to +14:00, e.g. -05:00",
        )
    })?;
    Ok((date, offset))
}

/// A label of the end of day.
pub fn day_label_view(tenant: &str, l: &DayLabel) -> Value {
    let s = &l.shipment;
    json!({
        "shipment_id": s.id,
        "order_id": s.order_id,
        "order_name": l.order_name,
        "tracking_number": s.tracking_number.as_ref().map(|t| t.as_str()),
        "service": s.service,
        "status": s.status.as_str(),
        "boxed_at": s.boxed_at,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "label_url": label_url(tenant, &s.id),
    })
}

/// `GET end-of-day`.
pub fn end_of_day_view(tenant: &str, d: &EndOfDay) -> Value {
    let list = |ls: &[DayLabel]| {
        ls.iter()
            .map(|l| day_label_view(tenant, l))
            .collect::<Vec<_>>()
    };
    json!({
        "date": d.date,
        "from": d.from,
        "to": d.to,
        "parcels": d.parcels(),
        "per_service": d.per_service.iter().map(|s| json!({
            "service": s.service, "name": s.service.name(), "parcels": s.parcels, "voided": s.voided,
        })).collect::<Vec<_>>(),
        "bought": list(&d.bought),
        "not_boxed": list(&d.not_boxed),
        "voided": list(&d.voided),
    })
}

/// `GET inventory`'s query: one SKU, one location, or both.
pub fn stock_query(q: &Query) -> ApiResult<(Option<Sku>, Option<Location>)> {
    q.only(&["sku", "location"])?;
    Ok((
        q.get("sku").map(Sku::parse).transpose()?,
        q.get("location").map(Location::parse).transpose()?,
    ))
}

/// `GET inventory/events`' query: the events after which number, how many.
pub fn stock_events_query(q: &Query) -> ApiResult<(i64, u32)> {
    q.only(&["after", "limit"])?;
    let after = match q.get("after") {
        None => 0,
        Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::invalid("after", "after is a stock event number (0 or more)")
        })?,
    };
    Ok((after, q.limit(100)?))
}

pub fn encode_cursor(next: &(Timestamp, String)) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}:{}",
        next.0.timestamp_millis(),
        next.1
    ))
}

fn decode_cursor(raw: &str) -> ApiResult<(Timestamp, String)> {
    let bad =
        || ApiError::bad_request("the cursor is not one this hub gave out; start again without it");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    let (ms, id) = s.split_once(':').ok_or_else(bad)?;
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    let t = DateTime::from_timestamp_millis(ms).ok_or_else(bad)?;
    Ok((t, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::fuzz::*;
    use super::*;
    use proptest::prelude::*;

    /// The other lists' parameters, and one they do not take.
    const LIST_QUERY: [&str; 13] = [
        "order_id",
        "status",
        "since",
        "limit",
        "cursor",
        "sku",
        "location",
        "after",
        "boxed",
        "date",
        "utc_offset",
        "package",
        "other",
    ];

    proptest! {
        /// No query string makes `GET orders`' parse panic (the security review found
        /// `created_to=%2B262142-12-31` did): it is read or refused.
        #[test]
        fn no_orders_query_panics(
            pairs in proptest::collection::vec((0..=ORDER_QUERY.len(), VALUE), 0..6),
            raw in "\\PC{0,40}",
        ) {
            let built: Vec<String> = pairs
                .iter()
                .map(|(k, v)| {
                    let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                    format!("{}={v}", order_key(*k))
                })
                .collect();
            for s in [built.join("&"), raw] {
                if let Ok(q) = Query::from_raw(Some(&s)) {
                    let _ = order_filter(&q);
                }
            }
        }

        /// No query string makes the other lists' parses panic (`GET shipments`, `inventory`,
        /// `inventory/events`): it is read or refused.
        #[test]
        fn no_list_query_panics(
            pairs in proptest::collection::vec((0..LIST_QUERY.len(), VALUE), 0..6),
            raw in "\\PC{0,40}",
        ) {
            let built: Vec<String> = pairs
                .iter()
                .map(|(k, v)| {
                    let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                    format!("{}={v}", LIST_QUERY[*k])
                })
                .collect();
            for s in [built.join("&"), raw] {
                if let Ok(q) = Query::from_raw(Some(&s)) {
                    let _ = shipment_filter(&q);
                    let _ = stock_query(&q);
                    let _ = stock_events_query(&q);
                    let _ = end_of_day_query(&q);
                    let _ = label_query(&q);
                }
            }
        }

        /// No path segment makes the id parsers panic: an order, a shipment, a tenant, a
        /// label format, a station, a username, a service.
        #[test]
        fn no_path_segment_panics(segment in "\\PC{0,64}") {
            let _ = order_id(&segment);
            let _ = ShipmentId::parse(&segment);
            let _ = packbench_core::domain::TenantSlug::parse(&segment);
            let _ = packbench_core::model::LabelFormat::parse(&segment);
            let _ = packbench_core::domain::parse_station_id(&segment);
            let _ = packbench_core::domain::parse_username(&segment);
            let _ = ServiceCode::parse(&segment);
        }

        /// No body makes an operation's parse panic: it is read or refused.
        #[test]
        fn no_operation_body_panics(
            body in operation(),
            raw in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let body = serde_json::to_vec(&body).expect("a value serialises");
            for bytes in [body, raw] {
                for units in [
                    Units::default(),
                    Units { weight: WeightUnit::Kg, dimension: DimensionUnit::Cm },
                ] {
                    if let Ok(b) = crate::extract::parse_json::<OperationBody>(&bytes) {
                        let _ = b.parse(units);
                    }
                }
            }
        }
    }

    #[test]
    fn query_strings_decode() {
        let q = Query::from_raw(Some("q=%23100+1&status=pending&empty=")).unwrap();
        assert_eq!(q.get("q"), Some("#100 1"));
        assert_eq!(q.get("empty"), None);
        assert!(Query::from_raw(Some("a=1&a=2")).is_err());
        assert_eq!(
            Query::from_raw(Some("x=%zz%4")).unwrap().get("x"),
            Some("%zz%4")
        );
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let t = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let c = encode_cursor(&(t, "ord_abc".into()));
        let q = Query::from_raw(Some(&format!("cursor={c}"))).unwrap();
        assert_eq!(q.cursor().unwrap(), Some((t, "ord_abc".into())));
        assert!(
            Query::from_raw(Some("cursor=nope!"))
                .unwrap()
                .cursor()
                .is_err()
        );
    }
}
