//! Records the services read and write through the ports: orders with their lines, shipments,
//! users, stock. They hold domain types only; storage rows and JSON DTOs live at the edges.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Gtin, Location, OrderId, Package, Role, ServiceCode, ShipmentId, Sku, TenantId, TenantSlug,
    TrackingNumber, UserId, Weight,
};
use crate::workflow::{OrderLine, OrderState, OrderStatus};

pub type Timestamp = DateTime<Utc>;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
}

/// A ship-to address as it came from the shop.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    pub name: Option<String>,
    pub company: Option<String>,
    #[serde(default)]
    pub lines: Vec<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
}

/// An order as stored: the workflow state plus what the bench shows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub state: OrderState,
    pub name: String,
    pub external_id: Option<String>,
    pub version: i64,
    pub customer_name: Option<String>,
    pub ship_to: Option<Address>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Order {
    pub fn id(&self) -> &OrderId {
        &self.state.id
    }
    pub fn status(&self) -> OrderStatus {
        self.state.status
    }
    pub fn lines(&self) -> &[OrderLine] {
        &self.state.lines
    }
}

/// An order arriving from a shop (or the demo generator).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub name: String,
    pub external_id: Option<String>,
    pub customer_name: Option<String>,
    pub ship_to: Option<Address>,
    pub lines: Vec<NewOrderLine>,
    pub created_at: Timestamp,
    /// Why the shop holds it (it cannot be assigned until released), if it does.
    pub hold: Option<String>,
    /// The shop's own id of the order it came from (privacy requests name orders by it).
    pub shop_order_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewOrderLine {
    pub sku: Sku,
    pub barcode: Option<Gtin>,
    pub title: String,
    pub quantity: u32,
    /// The unit weight the shop gives the item, if it gives one. A shop sync keeps it per SKU
    /// (`StockStore::set_sku_weights`); the order's own rows do not hold it.
    pub weight: Option<Weight>,
}

/// A row of the order list: enough for the queue screen without loading every line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderSummary {
    pub id: OrderId,
    pub name: String,
    pub status: OrderStatus,
    pub customer_name: Option<String>,
    pub assigned_to: Option<UserId>,
    pub line_count: u32,
    pub units: u32,
    pub picked_units: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub q: Option<String>,
    pub sku: Option<Sku>,
    pub assigned_to: Option<UserId>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    pub limit: u32,
    /// Continue after this (created_at, id).
    pub after: Option<(Timestamp, OrderId)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<(Timestamp, String)>,
}

/// An entry of an order's append-only history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderEvent {
    pub seq: i64,
    pub kind: String,
    pub user_id: Option<UserId>,
    pub station_id: Option<String>,
    pub payload: serde_json::Value,
    pub created_at: Timestamp,
}

/// Who did something, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub station_id: Option<String>,
}

impl Actor {
    pub fn system() -> Self {
        Self {
            user_id: None,
            station_id: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShipmentStatus {
    /// The carrier was asked; no answer recorded yet (never retried blindly).
    Pending,
    Created,
    Voided,
    Delivered,
    Failed,
}

impl ShipmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Created => "created",
            Self::Voided => "voided",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Created,
            Self::Voided,
            Self::Delivered,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelFormat {
    Png,
    Zpl,
    Pdf,
    Gif,
}

impl LabelFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Zpl => "zpl",
            Self::Pdf => "pdf",
            Self::Gif => "gif",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Png, Self::Zpl, Self::Pdf, Self::Gif]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Zpl => "application/vnd.zebra.zpl",
            Self::Pdf => "application/pdf",
            Self::Gif => "image/gif",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: Option<OrderId>,
    pub status: ShipmentStatus,
    pub carrier: String,
    pub service: ServiceCode,
    pub tracking_number: Option<TrackingNumber>,
    pub estimated_delivery: Option<chrono::NaiveDate>,
    pub package: Package,
    pub ship_to: Option<Address>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When the packer scanned the label onto its box (stations that ask for it).
    pub boxed_at: Option<Timestamp>,
    /// The boxes after the first, shipped with it under its tracking number.
    pub more_packages: Vec<ShipmentPackage>,
}

/// A box of a shipment after the first: its own tracking number, label and box scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShipmentPackage {
    pub package: Package,
    pub tracking_number: Option<TrackingNumber>,
    pub boxed_at: Option<Timestamp>,
}

impl Shipment {
    /// Every tracking number of the shipment, its own first.
    pub fn tracking_numbers(&self) -> impl Iterator<Item = &TrackingNumber> {
        self.tracking_number.iter().chain(
            self.more_packages
                .iter()
                .filter_map(|p| p.tracking_number.as_ref()),
        )
    }

    /// Which of its boxes (1: the first) carries this tracking number, case aside.
    pub fn box_of(&self, tracking: &str) -> Option<u32> {
        let is = |t: &Option<TrackingNumber>| {
            t.as_ref()
                .is_some_and(|t| t.as_str().eq_ignore_ascii_case(tracking))
        };
        if is(&self.tracking_number) {
            return Some(1);
        }
        (2..)
            .zip(&self.more_packages)
            .find(|(_, p)| is(&p.tracking_number))
            .map(|(n, _)| n)
    }

    /// Its boxes: 1 and the packages after it.
    pub fn parcels(&self) -> usize {
        1 + self.more_packages.len()
    }

    /// Whether every box's label was scanned onto it.
    pub fn boxed(&self) -> bool {
        self.boxed_at.is_some() && self.more_packages.iter().all(|p| p.boxed_at.is_some())
    }
}

/// A label of a day at the dock, with its order's name (the end of day's lists).
#[derive(Debug, Clone, PartialEq)]
pub struct DayLabel {
    pub shipment: Shipment,
    pub order_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShipmentFilter {
    pub order_id: Option<OrderId>,
    pub status: Option<ShipmentStatus>,
    /// `Some(false)`: labels bought (not voided) and never scanned to a box.
    pub boxed: Option<bool>,
    pub since: Option<Timestamp>,
    pub limit: u32,
    pub after: Option<(Timestamp, ShipmentId)>,
}

/// Stock of one SKU at one location. `allocated` is what open orders still need.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StockLevel {
    pub sku: String,
    pub location: Location,
    pub on_hand: i64,
    pub allocated: i64,
    pub available: i64,
}

/// One change to stock: set to a count, or adjust by a delta.
#[derive(Debug, Clone, PartialEq)]
pub enum StockChange {
    Set {
        sku: Sku,
        location: Location,
        on_hand: i64,
    },
    Adjust {
        sku: Sku,
        location: Location,
        delta: i64,
    },
}

/// Stock moved by the workflow as part of an order transition (ship takes, void gives back).
#[derive(Debug, Clone, PartialEq)]
pub struct StockMove {
    pub sku: Sku,
    pub location: Location,
    pub delta: i64,
}

/// A recorded change of stock and its cause, so an outside inventory system can follow along.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StockEvent {
    pub seq: i64,
    pub sku: String,
    pub location: Location,
    pub delta: i64,
    pub on_hand: i64,
    pub cause: String,
    pub order_id: Option<OrderId>,
    pub shipment_id: Option<ShipmentId>,
    pub user_id: Option<UserId>,
    pub created_at: Timestamp,
}

/// A request still unfinished this long after it started was interrupted: none runs that long
/// (carrier and shop calls give up after 30 s).
pub const UNFINISHED_REQUEST_INTERRUPTED_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

/// The outcome of starting an idempotent request.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyStart {
    /// First time: go ahead, then record the answer.
    Proceed,
    /// Seen before: answer this again.
    Replay { status: u16, body: Vec<u8> },
    /// The first request with this key is still running.
    InProgress,
    /// The first request with this key started at `since` and never finished (the hub
    /// stopped part-way, e.g. a crash or power cut): whether it took effect is not known, so
    /// it is neither replayed nor run again.
    Interrupted { since: Timestamp },
    /// The key was used for a different request.
    Mismatch,
}

/// A shop's numeric id from its GraphQL id (`gid://shopify/Order/123` → `123`), as its REST
/// payloads (privacy webhooks) name things.
pub fn shop_numeric_id(gid: &str) -> &str {
    gid.rsplit('/').next().unwrap_or(gid)
}

/// What an erased customer name reads as.
pub const REDACTED: &str = "(redacted)";

/// What a privacy request from the shop asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyKind {
    /// `customers/data_request`: what the bench holds on a customer, for the merchant to pass on.
    CustomerDataRequest,
    /// `customers/redact`: erase a customer's details from the named orders.
    CustomerRedact,
    /// `shop/redact` (48 hours after the app was uninstalled): erase every customer detail
    /// that came from the shop.
    ShopRedact,
}

impl PrivacyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerDataRequest => "customer_data_request",
            Self::CustomerRedact => "customer_redact",
            Self::ShopRedact => "shop_redact",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::CustomerDataRequest,
            Self::CustomerRedact,
            Self::ShopRedact,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The kind a webhook topic brings, if it is a privacy topic.
    pub fn from_topic(topic: &str) -> Option<Self> {
        match topic {
            "customers/data_request" => Some(Self::CustomerDataRequest),
            "customers/redact" => Some(Self::CustomerRedact),
            "shop/redact" => Some(Self::ShopRedact),
            _ => None,
        }
    }
}

/// A privacy request from the shop and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrivacyRequest {
    /// The id of the webhook delivery that brought it.
    pub id: String,
    pub kind: PrivacyKind,
    /// The shop's customer id, when the request is about one customer.
    pub customer_id: Option<String>,
    /// The shop's order ids it names (empty for a whole-shop redaction).
    pub shop_order_ids: Vec<String>,
    pub received_at: Timestamp,
    /// When it was fully carried out; `None` while it waits (orders still on their way).
    pub completed_at: Option<Timestamp>,
    /// What was found (data request) or what was done and what still waits (redactions).
    pub result: Option<serde_json::Value>,
}
