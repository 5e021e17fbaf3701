//! The use cases of the bench: each method loads what it needs through the ports, lets the
//! workflow decide, saves the outcome and tells live screens. Handlers and Tauri commands call
//! exactly one of these. One `Fulfillment`, its methods in a file per use case:
//!
//! - `orders`: lists, details, the packer's operations, taking the next order, reviews
//! - `shipping`: buying a label, once per package (reservations and settling)
//! - `labels`: shipments, label files in each format, voids
//! - `batches`: batch ship and the combined pick list
//! - `shop_sync`: imports, the shop's edits and cancellations, webhooks, reporting back
//! - `tracking`: parcels followed to delivery
//! - `stock`: stock by shelf location
//! - `settings`: tenant and device settings, carrier rates and address checks
//! - `privacy`: the shop's privacy requests
//! - `accounts`: tenants, users, logins and sessions (one password policy)
//! - `idempotency`: a request's first answer kept for its replays

pub mod accounts;
mod batches;
mod end_of_day;
mod idempotency;
mod label_to_box;
mod labels;
mod orders;
mod privacy;
mod settings;
mod shipping;
mod shop_sync;
mod stock;
mod tracking;
mod weighing;
pub use batches::{BatchError, BatchItem, PickList, PickListEntry, PickListOrder};
pub use end_of_day::{EndOfDay, ServiceCount, end_of_day};
pub use orders::{
    LineLocation, Operation, OperationOutcome, OrderDetail, StockAtLocation, Warning,
};
pub use privacy::{IN_TRANSIT_FOR, REDACTION_WAITS_AT_MOST, done_with_customer, privacy_request};
pub use shipping::LabelTiming;
pub use shop_sync::SyncReport;
pub use tracking::TrackOutcome;
pub use weighing::{ExpectedWeight, WeighIn};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::{OrderId, TenantId};
use crate::error::{Error, Result};
use crate::model::{Order, Timestamp};
use crate::ports::{Carriers, Clock, EventBus, Store};
use crate::settings::Settings;

pub struct Fulfillment {
    store: Arc<dyn Store>,
    carriers: Arc<dyn Carriers>,
    shops: Arc<dyn crate::ports::Shops>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
    /// Settings are read by every operation and change rarely: kept for
    /// [`SETTINGS_FRESH_FOR`], dropped at once when changed through this hub.
    settings_cache: Mutex<HashMap<TenantId, (Timestamp, Settings)>>,
    /// The label purchases this hub is running right now.
    purchases: shipping::Purchases,
    label_timing: LabelTiming,
    labels: Arc<dyn crate::ports::LabelConverter>,
    /// Where password checks wait their turn.
    hashing: accounts::Hashing,
}

/// How long another hub's settings change can take to be seen here.
pub const SETTINGS_FRESH_FOR: chrono::Duration = chrono::Duration::seconds(2);

impl Fulfillment {
    pub fn new(
        store: Arc<dyn Store>,
        carriers: Arc<dyn Carriers>,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            carriers,
            shops: Arc::new(crate::ports::NoShops),
            bus,
            clock,
            settings_cache: Mutex::new(HashMap::new()),
            purchases: shipping::Purchases::default(),
            label_timing: LabelTiming::default(),
            labels: Arc::new(crate::ports::NoConversion),
            hashing: accounts::Hashing::default(),
        }
    }

    /// How long label purchases may be out of sight before they are settled.
    pub fn with_label_timing(mut self, timing: LabelTiming) -> Self {
        self.label_timing = timing;
        self
    }

    /// How labels are converted between formats (the default converts nothing).
    pub fn with_label_converter(mut self, labels: Arc<dyn crate::ports::LabelConverter>) -> Self {
        self.labels = labels;
        self
    }

    /// Connects the tenants' shops (the default is none).
    pub fn with_shops(mut self, shops: Arc<dyn crate::ports::Shops>) -> Self {
        self.shops = shops;
        self
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    async fn load(&self, tenant: &TenantId, id: &OrderId) -> Result<Order> {
        self.store
            .order(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found("order", id))
    }
}
