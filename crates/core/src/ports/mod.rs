//! The ports: what the services need from the outside world. Adapters (`packbench-store`, the
//! carrier and shop clients, the server's event stream) implement them; the services never
//! name a database, an HTTP client or a device.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::{OrderId, ShipmentId, TenantId};
use crate::model::{LabelFormat, Shipment, Timestamp};
use crate::workflow::OrderStatus;

mod store;
pub use store::*;

/// Turns a label from the format the carrier sold it in into another (PNG, ZPL, PDF); the
/// answer's error says why it cannot, in words for the person asking.
pub trait LabelConverter: Send + Sync + 'static {
    fn convert(
        &self,
        have: LabelFormat,
        bytes: &[u8],
        wanted: LabelFormat,
    ) -> Result<Vec<u8>, String>;
}

/// Labels only in the format they were bought in (until a converter is set).
pub struct NoConversion;

impl LabelConverter for NoConversion {
    fn convert(
        &self,
        have: LabelFormat,
        bytes: &[u8],
        wanted: LabelFormat,
    ) -> Result<Vec<u8>, String> {
        if have == wanted {
            Ok(bytes.to_vec())
        } else {
            Err(format!(
                "this hub cannot convert labels ({} to {})",
                have.as_str(),
                wanted.as_str()
            ))
        }
    }
}

/// A clock, so that business logic never reads the system time directly.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    // The one place the hub reads the wall clock (clippy.toml).
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// A clock that moves only when told: a test sets it, then steps it past a lease, a lookup
/// lag or "30 days after shipping" without waiting for them.
pub struct ManualClock(std::sync::Mutex<Timestamp>);

impl ManualClock {
    pub fn at(now: Timestamp) -> Self {
        Self(std::sync::Mutex::new(now))
    }

    pub fn set(&self, now: Timestamp) {
        if let Ok(mut t) = self.0.lock() {
            *t = now;
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.0.lock().map(|t| *t).unwrap_or_default()
    }
}

/// Something every live screen may want to know, pushed as it happens.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    OrderChanged {
        order_id: OrderId,
        status: OrderStatus,
        event: String,
    },
    StockChanged {
        sku: String,
        location: String,
        on_hand: i64,
        cause: String,
    },
    OrdersCleared {
        count: u64,
    },
    /// How far a long batch has got (a bar on the screen that started it, and any other).
    BatchProgress {
        batch_id: String,
        kind: String,
        done: usize,
        failed: usize,
        total: usize,
    },
    /// The shop cancelled an order that has already left: someone should intercept it.
    ShopCancelledShipped {
        order_id: OrderId,
        name: String,
    },
    /// The carrier reported a problem with a parcel (UPS `X`): someone should look.
    TrackingException {
        order_id: OrderId,
        shipment_id: ShipmentId,
        description: String,
    },
}

/// Where live events go (the server streams them as server-sent events).
pub trait EventBus: Send + Sync + 'static {
    fn publish(&self, tenant: &TenantId, event: LiveEvent);
}

/// A bus that drops everything (CLI tools, tests that do not listen).
pub struct NoEvents;

impl EventBus for NoEvents {
    fn publish(&self, _tenant: &TenantId, _event: LiveEvent) {}
}

/// A shipment's labels bought from a carrier: one per package, in the order asked.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelPurchase {
    /// The shipment's number: its first package's tracking number (UPS's shipment
    /// identification number), by which the whole shipment is voided.
    pub tracking_number: crate::domain::TrackingNumber,
    pub estimated_delivery: Option<chrono::NaiveDate>,
    pub label_format: LabelFormat,
    /// The first package's label.
    pub label: Vec<u8>,
    /// The packages after the first, each with its own tracking number and label.
    pub more_packages: Vec<PackageLabel>,
}

/// One more package of a shipment: its tracking number and its label.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageLabel {
    pub tracking_number: crate::domain::TrackingNumber,
    pub label: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum CarrierError {
    /// The carrier refused the request (bad address, bad account...): fix and try again.
    #[error("{carrier} refused: {message} (code {code})")]
    Rejected {
        carrier: &'static str,
        code: String,
        message: String,
    },
    /// The carrier could not be reached or answered nonsense; nothing was bought.
    #[error("{carrier} is unavailable: {message}")]
    Unavailable {
        carrier: &'static str,
        message: String,
    },
    /// The request left but no reliable answer came back: the carrier may have sold the label.
    /// The shipment stays `pending` until reconciled; it is never bought again blindly.
    #[error(
        "no reliable answer from {carrier} ({message}); the label will be reconciled before any new attempt"
    )]
    Unconfirmed {
        carrier: &'static str,
        message: String,
    },
}

/// What a tracking event means for the parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingKind {
    /// The label exists; the carrier does not have the parcel yet (UPS `M`).
    LabelCreated,
    PickedUp,
    InTransit,
    Exception,
    Delivered,
    Voided,
    /// A kind the carrier added that we do not know (tolerated, shown as is).
    Unknown,
}

impl TrackingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LabelCreated => "label_created",
            Self::PickedUp => "picked_up",
            Self::InTransit => "in_transit",
            Self::Exception => "exception",
            Self::Delivered => "delivered",
            Self::Voided => "voided",
            Self::Unknown => "unknown",
        }
    }
    pub fn parse(raw: &str) -> Self {
        [
            Self::LabelCreated,
            Self::PickedUp,
            Self::InTransit,
            Self::Exception,
            Self::Delivered,
            Self::Voided,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
        .unwrap_or(Self::Unknown)
    }
}

/// One scan or status of a parcel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackingEvent {
    pub at: Timestamp,
    pub kind: TrackingKind,
    /// The carrier's own code (UPS: activity type and status code, e.g. `I/005`).
    pub code: String,
    pub description: String,
    pub location: Option<String>,
}

/// What the carrier knows of one parcel, events oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackingReport {
    pub events: Vec<TrackingEvent>,
    pub estimated_delivery: Option<chrono::NaiveDate>,
}

/// The price and transit time of one service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub service: crate::domain::ServiceCode,
    pub carrier_service_code: String,
    pub amount: String,
    pub currency: String,
    pub transit_days: Option<u32>,
}

/// What the carrier thinks of a ship-to address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddressCheck {
    /// `valid`, `ambiguous`, `not_found` or `not_checked` (outside the carrier's coverage).
    pub verdict: String,
    pub candidates: Vec<crate::model::Address>,
}

/// What a label purchase needs.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRequest {
    pub shipment_id: ShipmentId,
    pub order_name: Option<String>,
    pub service: crate::domain::ServiceCode,
    /// The first box.
    pub package: crate::domain::Package,
    /// The boxes after the first, shipped together under one shipment number (a label each).
    pub more_packages: Vec<crate::domain::Package>,
    pub ship_to: crate::model::Address,
}

/// A carrier account that sells labels (UPS).
#[async_trait]
pub trait Carrier: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    async fn buy_label(&self, request: &LabelRequest) -> Result<LabelPurchase, CarrierError>;
    async fn void_label(&self, shipment: &Shipment) -> Result<(), CarrierError>;
    /// The label again from the carrier, when the local copy is gone.
    async fn recover_label(
        &self,
        shipment: &Shipment,
    ) -> Result<(LabelFormat, Vec<u8>), CarrierError>;
    /// Finds the label of a purchase whose answer was lost (by the shipment id printed on it
    /// as a reference); `None` when the carrier has no such label.
    async fn find_lost_label(
        &self,
        shipment: &Shipment,
    ) -> Result<Option<LabelPurchase>, CarrierError>;
    async fn track(&self, shipment: &Shipment) -> Result<TrackingReport, CarrierError>;
    async fn rates(
        &self,
        ship_to: &crate::model::Address,
        package: &crate::domain::Package,
    ) -> Result<Vec<Rate>, CarrierError>;
    async fn check_address(
        &self,
        address: &crate::model::Address,
    ) -> Result<AddressCheck, CarrierError>;
}

/// Finds the carrier a tenant configured, if any.
#[async_trait]
pub trait Carriers: Send + Sync + 'static {
    async fn for_tenant(&self, tenant: &TenantId) -> Option<Arc<dyn Carrier>>;
}

/// No carrier is available (until the UPS client is configured).
pub struct NoCarriers;

#[async_trait]
impl Carriers for NoCarriers {
    async fn for_tenant(&self, _tenant: &TenantId) -> Option<Arc<dyn Carrier>> {
        None
    }
}

/// Orders as a shop hands them to the bench: one page of an incremental import.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShopOrderPage {
    /// One bench order per fulfillment order at the tenant's locations.
    pub orders: Vec<crate::model::NewOrder>,
    /// Shop orders on the page (whatever became of them).
    pub fetched: usize,
    /// The newest `updated_at` on the page (the next watermark).
    pub newest: Option<Timestamp>,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
    /// External ids (fulfillment orders) of orders the shop has cancelled.
    pub cancelled: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{shop}: {message}")]
pub struct ShopError {
    pub shop: String,
    pub message: String,
}

/// A parcel to report to the shop.
#[derive(Debug, Clone, PartialEq)]
pub struct FulfillmentPush {
    /// The shop's id of what was shipped (the bench order's external id).
    pub fulfillment_order_id: String,
    pub company: String,
    /// Every box's tracking number, the shipment's first (Shopify takes them all at once).
    pub tracking_numbers: Vec<String>,
}

impl FulfillmentPush {
    /// Where each number is followed, in the same order.
    pub fn tracking_urls(&self) -> Vec<String> {
        self.tracking_numbers
            .iter()
            .map(|n| format!("https://www.ups.com/track?tracknum={n}"))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PushOutcome {
    Created {
        fulfillment_id: String,
    },
    /// Nothing was left to fulfil (an earlier push landed): nothing sent again.
    AlreadyFulfilled,
}

/// A connected store (Shopify).
#[async_trait]
pub trait Shop: Send + Sync + 'static {
    /// Reports a shipped parcel with its tracking (never twice: the shop is re-read first).
    async fn push_fulfillment(&self, push: &FulfillmentPush) -> Result<PushOutcome, ShopError>;
    /// Orders updated at or after `since` (all when `None`), oldest first, from `after`.
    async fn orders_page(
        &self,
        since: Option<Timestamp>,
        after: Option<&str>,
    ) -> Result<ShopOrderPage, ShopError>;
}

/// Finds the store a tenant connected, if any.
#[async_trait]
pub trait Shops: Send + Sync + 'static {
    async fn for_tenant(&self, tenant: &TenantId) -> Option<Arc<dyn Shop>>;
}

/// No store is connected.
pub struct NoShops;

#[async_trait]
impl Shops for NoShops {
    async fn for_tenant(&self, _tenant: &TenantId) -> Option<Arc<dyn Shop>> {
        None
    }
}

/// Where an order's report to the shop stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PushState {
    pub state: PushStatus,
    pub reason: Option<String>,
    pub fulfillment_id: Option<String>,
}

/// How far an order's report to the shop got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    /// Being sent (or the hub stopped while sending it: sent again, after a re-read).
    Pending,
    /// The shop has it.
    Synced,
    /// The shop refused or could not be reached; `reason` says which.
    Failed,
}

impl PushStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Synced => "synced",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "synced" => Some(Self::Synced),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap_or_default();
        let clock = ManualClock::at(start);
        assert_eq!(clock.now(), start);
        assert_eq!(clock.now(), start, "still");
        clock.advance(chrono::Duration::minutes(11));
        assert_eq!(clock.now() - start, chrono::Duration::minutes(11));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }
}
