//! The use cases of the bench: each method loads what it needs through the ports, lets the
//! workflow decide, saves the outcome and tells live screens. Handlers and Tauri commands call
//! exactly one of these.

mod privacy;
mod shipping;
pub use privacy::{IN_TRANSIT_FOR, done_with_customer, privacy_request};
pub use shipping::LabelTiming;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::{
    Location, OrderId, Package, ServiceCode, ShipmentId, Sku, TenantId, UserId, natural_cmp,
};
use crate::error::{Error, Result};
use crate::model::{
    Actor, Order, OrderEvent, OrderFilter, OrderSummary, Page, Shipment, ShipmentFilter,
    ShipmentStatus, StockChange, StockEvent, StockLevel, StockMove, Timestamp,
};
use crate::ports::{
    AddressCheck, Carriers, Clock, EventBus, LiveEvent, OrderToWork, Rate, Store, TrackingEvent,
    TrackingKind,
};
use crate::settings::Settings;
use crate::workflow::{self, Action, OrderStatus, PickItem, Refusal};

/// An operation a client asks for on one order (`POST .../orders/{id}/operations`).
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    Assign {
        user: Option<UserId>,
    },
    Pick {
        items: Vec<PickItem>,
    },
    Pack {
        package: Package,
    },
    Ship {
        service: ServiceCode,
        package: Option<Package>,
    },
    Void,
    Cancel {
        reason: String,
    },
}

/// Where a line is picked from, and whether stock is known there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineLocation {
    pub location: Option<String>,
    /// `in_stock`, `short` (less on hand than needed), `out_of_stock` or `no_stock_recorded`.
    pub stock: &'static str,
    pub on_hand: i64,
}

/// A warning that did not stop an action but that the packer should see.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
    pub sku: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderDetail {
    pub order: Order,
    pub locations: Vec<LineLocation>,
    pub shipments: Vec<Shipment>,
    pub events: Vec<OrderEvent>,
}

/// One order's outcome in a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchItem {
    pub order_id: OrderId,
    pub ok: bool,
    /// Set when nothing had to be done (already shipped): running a batch twice is safe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<ShipmentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<BatchError>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchError {
    pub code: crate::error::ErrorCode,
    pub message: String,
    /// Whether running the batch again may succeed without changing anything first.
    pub retryable: bool,
}

/// What an import from the shop did.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SyncReport {
    pub pages: usize,
    /// Shop orders read.
    pub fetched: usize,
    /// Bench orders created (one per fulfillment order at the tenant's locations).
    pub created: usize,
    /// Bench orders that were already here.
    pub unchanged: usize,
    /// Orders whose lines the shop changed before picking started (taken as they are now).
    pub updated: usize,
    /// Orders the shop changed after picking started (flagged for a person).
    pub flagged_for_review: usize,
    /// Orders cancelled here because the shop cancelled them before they left.
    pub cancelled: usize,
    /// Orders the shop cancelled after they had shipped (announced, left as they are).
    pub cancelled_after_shipping: usize,
    pub watermark: Option<Timestamp>,
}

/// What a tracking refresh found.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackOutcome {
    pub shipment: Shipment,
    pub events: Vec<TrackingEvent>,
    pub order_status: Option<OrderStatus>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OperationOutcome {
    pub order: Order,
    pub shipment: Option<Shipment>,
    pub warnings: Vec<Warning>,
}

/// One row of a combined pick list: a SKU at a location, with what each order needs of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PickListEntry {
    pub location: Option<String>,
    pub sku: String,
    pub title: String,
    pub barcode: Option<String>,
    pub quantity: u32,
    pub stock: &'static str,
    pub orders: Vec<PickListOrder>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PickListOrder {
    pub order_id: OrderId,
    pub order_name: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PickList {
    pub orders: Vec<PickListOrder>,
    pub entries: Vec<PickListEntry>,
    pub total_units: u32,
}

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
        }
    }

    /// How long label purchases may be out of sight before they are settled.
    pub fn with_label_timing(mut self, timing: LabelTiming) -> Self {
        self.label_timing = timing;
        self
    }

    /// Connects the tenants' shops (the default is none).
    pub fn with_shops(mut self, shops: Arc<dyn crate::ports::Shops>) -> Self {
        self.shops = shops;
        self
    }

    /// Imports what changed in the tenant's shop since the last complete import (with a
    /// 5-minute overlap, as search indexes lag): new orders are created, ones already here
    /// are left as they are (matched by the shop's fulfillment order id), so a replay or a
    /// crash mid-import never doubles anything. The watermark moves only when every page is in.
    pub async fn sync(&self, tenant: &TenantId) -> Result<SyncReport> {
        let shop = self
            .shops
            .for_tenant(tenant)
            .await
            .ok_or(Error::ShopNotConfigured)?;
        let since = self
            .store
            .sync_watermark(tenant)
            .await?
            .map(|w| w - chrono::Duration::minutes(5));
        let now = self.clock.now();
        let batch_id = format!("sync-{}", ShipmentId::generate().as_str());
        let mut report = SyncReport::default();
        let mut newest = None;
        let mut page = shop.orders_page(since, None).await?;
        loop {
            report.pages += 1;
            report.fetched += page.fetched;
            // The next page is fetched while this one is written: they do not depend on each
            // other, and the watermark only moves once every page is in.
            let next_cursor = page.next.clone();
            let fetch_next = async {
                match &next_cursor {
                    Some(c) => Some(shop.orders_page(since, Some(c)).await),
                    None => None,
                }
            };
            let (created, next) = futures::join!(
                self.store.import_orders(tenant, &page.orders, now),
                fetch_next
            );
            let created = created?;
            for (order, made) in page.orders.iter().zip(&created) {
                if made.is_none() {
                    self.apply_shop_edit(tenant, order, &mut report).await?;
                }
            }
            for created in created {
                match created {
                    Some(id) => {
                        report.created += 1;
                        self.bus.publish(
                            tenant,
                            LiveEvent::OrderChanged {
                                order_id: id,
                                status: OrderStatus::Pending,
                                event: "imported".into(),
                            },
                        );
                    }
                    None => report.unchanged += 1,
                }
            }
            for external in &page.cancelled {
                self.apply_shop_cancellation(tenant, external, &mut report)
                    .await?;
            }
            newest = newest.max(page.newest);
            self.bus.publish(
                tenant,
                LiveEvent::BatchProgress {
                    batch_id: batch_id.clone(),
                    kind: "sync".into(),
                    done: report.fetched,
                    failed: 0,
                    total: 0,
                },
            );
            match next {
                Some(p) => page = p?,
                None => break,
            }
        }
        if let Some(n) = newest {
            self.store.set_sync_watermark(tenant, n).await?;
        }
        report.watermark = newest;
        Ok(report)
    }

    /// An order already here came again: if the shop changed its lines, take the new ones
    /// when nobody has picked yet; once picking has started, flag it for a person instead of
    /// changing what is in someone's hands.
    async fn apply_shop_edit(
        &self,
        tenant: &TenantId,
        incoming: &crate::model::NewOrder,
        report: &mut SyncReport,
    ) -> Result<()> {
        let Some(external) = incoming.external_id.as_deref() else {
            return Ok(());
        };
        let Some(id) = self.store.order_by_external_id(tenant, external).await? else {
            return Ok(());
        };
        let order = self.load(tenant, &id).await?;
        let key = |sku: &crate::domain::Sku, q: u32| (sku.key(), q);
        let mut ours: Vec<_> = order
            .lines()
            .iter()
            .map(|l| key(&l.sku, l.quantity))
            .collect();
        let mut theirs: Vec<_> = incoming
            .lines
            .iter()
            .map(|l| key(&l.sku, l.quantity))
            .collect();
        ours.sort();
        theirs.sort();
        if ours == theirs
            || !matches!(
                order.status(),
                OrderStatus::Pending | OrderStatus::Processing
            )
        {
            return Ok(());
        }
        let picking_started = order.lines().iter().any(|l| l.picked > 0);
        if picking_started {
            self.store
                .set_order_review(
                    tenant,
                    &id,
                    Some("edited in Shopify after picking started: check the lines with the shop"),
                )
                .await?;
            report.flagged_for_review += 1;
        } else {
            self.store
                .replace_order_lines(tenant, &id, &incoming.lines, self.clock.now())
                .await?;
            report.updated += 1;
        }
        self.bus.publish(
            tenant,
            LiveEvent::OrderChanged {
                order_id: id,
                status: order.status(),
                event: "edited_in_shop".into(),
            },
        );
        Ok(())
    }

    /// A person has checked an order flagged for review against the shop: the flag goes (an
    /// `review_cleared` event says who). Clearing an unflagged order changes nothing.
    pub async fn clear_review(&self, tenant: &TenantId, id: &OrderId, actor: &Actor) -> Result<()> {
        if self
            .store
            .clear_order_review(tenant, id, actor, self.clock.now())
            .await?
        {
            let order = self.order(tenant, id).await?;
            self.bus.publish(
                tenant,
                LiveEvent::OrderChanged {
                    order_id: id.clone(),
                    status: order.status(),
                    event: "review_cleared".into(),
                },
            );
        }
        Ok(())
    }

    /// Why an order is flagged for review, if it is.
    pub async fn order_review(&self, tenant: &TenantId, id: &OrderId) -> Result<Option<String>> {
        Ok(self.store.order_review(tenant, id).await?)
    }

    /// The shop cancelled an order: cancel it here if it has not left; if it has, say so
    /// loudly (a live `shop_cancelled_shipped` event) and leave it as it is.
    async fn apply_shop_cancellation(
        &self,
        tenant: &TenantId,
        external_id: &str,
        report: &mut SyncReport,
    ) -> Result<()> {
        let Some(id) = self.store.order_by_external_id(tenant, external_id).await? else {
            return Ok(());
        };
        let order = self.load(tenant, &id).await?;
        match order.status() {
            OrderStatus::Cancelled => {}
            OrderStatus::Shipped | OrderStatus::Delivered => {
                report.cancelled_after_shipping += 1;
                self.bus.publish(
                    tenant,
                    LiveEvent::ShopCancelledShipped {
                        order_id: id,
                        name: order.name.clone(),
                    },
                );
            }
            _ => {
                // Taken even while a label is being bought: that label is voided on arrival.
                let action = Action::ShopCancel {
                    reason: "cancelled in Shopify".into(),
                };
                self.commit(tenant, &order, &action, &[], &Actor::system())
                    .await?;
                report.cancelled += 1;
            }
        }
        Ok(())
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
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

    pub async fn settings(&self, tenant: &TenantId) -> Result<Settings> {
        let now = self.clock.now();
        if let Ok(cache) = self.settings_cache.lock()
            && let Some((at, s)) = cache.get(tenant)
            && now - *at < SETTINGS_FRESH_FOR
        {
            return Ok(s.clone());
        }
        let doc = self.store.settings(tenant).await?;
        let settings = Settings::from_document(doc.as_ref())?;
        if let Ok(mut cache) = self.settings_cache.lock() {
            cache.insert(tenant.clone(), (now, settings.clone()));
        }
        Ok(settings)
    }

    pub async fn list_orders(
        &self,
        tenant: &TenantId,
        filter: &OrderFilter,
    ) -> Result<Page<OrderSummary>> {
        Ok(self.store.orders(tenant, filter).await?)
    }

    pub async fn status_counts(&self, tenant: &TenantId) -> Result<Vec<(OrderStatus, i64)>> {
        Ok(self.store.status_counts(tenant).await?)
    }

    pub async fn order(&self, tenant: &TenantId, id: &OrderId) -> Result<Order> {
        self.load(tenant, id).await
    }

    pub async fn order_detail(&self, tenant: &TenantId, id: &OrderId) -> Result<OrderDetail> {
        let order = self.load(tenant, id).await?;
        let locations = self.line_locations(tenant, &order).await?;
        let shipments = self
            .store
            .shipments(
                tenant,
                &ShipmentFilter {
                    order_id: Some(id.clone()),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?
            .items;
        let events = self.store.order_events(tenant, id).await?;
        Ok(OrderDetail {
            order,
            locations,
            shipments,
            events,
        })
    }

    /// Where each line of an order is picked from: the first location (in natural order) that
    /// has the SKU on hand, else the first that has a record of it, else the default location.
    async fn line_locations(&self, tenant: &TenantId, order: &Order) -> Result<Vec<LineLocation>> {
        let default = self.settings(tenant).await?.default_location;
        let mut out = Vec::with_capacity(order.lines().len());
        for line in order.lines() {
            let levels = self.sorted_stock(tenant, &line.sku).await?;
            out.push(locate(&levels, line.quantity, default.as_ref()));
        }
        Ok(out)
    }

    /// On hand of a SKU per location, in natural location order.
    async fn sorted_stock(&self, tenant: &TenantId, sku: &Sku) -> Result<Vec<(Location, i64)>> {
        let mut levels = self.store.on_hand(tenant, sku).await?;
        levels.sort_by(|a, b| natural_cmp(a.0.as_str(), b.0.as_str()));
        Ok(levels)
    }

    /// Runs one operation on one order.
    pub async fn operate(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        op: Operation,
        actor: &Actor,
    ) -> Result<OperationOutcome> {
        let OrderToWork {
            mut order,
            unstocked,
        } = self
            .store
            .order_to_work(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found("order", id))?;
        if order.state.labeling.is_some() && !matches!(op, Operation::Ship { .. }) {
            order = self.settled_for_work(tenant, order, actor).await?;
        }
        let mut warnings = Vec::new();
        let action = match op {
            Operation::Assign { user } => {
                let user = match user.or_else(|| actor.user_id.clone()) {
                    Some(u) => u,
                    None => return Err(Refusal::Invalid("assign needs a user_id").into()),
                };
                if self.store.user(tenant, &user).await?.is_none() {
                    return Err(Error::not_found("user", &user));
                }
                if self.store.order_hold(tenant, id).await?.is_some() {
                    return Err(Refusal::Invalid(
                        "this order is on hold in Shopify; it can be assigned once the hold is released",
                    )
                    .into());
                }
                Action::Assign { user }
            }
            Operation::Pick { items } => {
                let decided = workflow::apply(
                    &order.state,
                    &Action::Pick {
                        items: items.clone(),
                    },
                )?;
                for (before, after) in order.lines().iter().zip(&decided.state.lines) {
                    if after.picked > before.picked && unstocked.contains(&after.sku.key()) {
                        warnings.push(Warning {
                            code: "no_stock_recorded",
                            message: format!(
                                "no stock is recorded for {}: picked anyway, please count it",
                                after.sku
                            ),
                            sku: Some(after.sku.to_string()),
                        });
                    }
                }
                Action::Pick { items }
            }
            Operation::Pack { package } => Action::Pack { package },
            Operation::Ship { service, package } => {
                return self.ship(tenant, order, service, package, actor).await;
            }
            Operation::Void => return self.void(tenant, order, actor).await,
            Operation::Cancel { reason } => Action::Cancel { reason },
        };
        let order = self.commit(tenant, &order, &action, &[], actor).await?;
        Ok(OperationOutcome {
            order,
            shipment: None,
            warnings,
        })
    }

    async fn commit(
        &self,
        tenant: &TenantId,
        order: &Order,
        action: &Action,
        stock: &[StockMove],
        actor: &Actor,
    ) -> Result<Order> {
        let transition = workflow::apply(&order.state, action)?;
        let saved = self
            .store
            .save_transition(tenant, order, &transition, stock, actor, self.clock.now())
            .await?;
        self.bus.publish(
            tenant,
            LiveEvent::OrderChanged {
                order_id: saved.id().clone(),
                status: saved.status(),
                event: transition.event_kind.into(),
            },
        );
        Ok(saved)
    }

    /// Hands the oldest pending order to `user`; `Ok(None)` when the queue is empty.
    pub async fn claim_next(
        &self,
        tenant: &TenantId,
        user: &UserId,
        actor: &Actor,
    ) -> Result<Option<Order>> {
        let claimed = self
            .store
            .claim_next(tenant, user, actor, self.clock.now())
            .await?;
        if let Some(o) = &claimed {
            self.bus.publish(
                tenant,
                LiveEvent::OrderChanged {
                    order_id: o.id().clone(),
                    status: o.status(),
                    event: "assigned".into(),
                },
            );
        }
        Ok(claimed)
    }

    /// Keeps a verified webhook delivery (durably, before it is answered); `false` for a
    /// redelivery of one already kept.
    pub async fn receive_webhook(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        topic: &str,
        body: &[u8],
    ) -> Result<bool> {
        Ok(self
            .store
            .inbox_put(tenant, webhook_id, topic, body, self.clock.now())
            .await?)
    }

    /// Processes the kept deliveries: order and fulfillment-order topics bring an incremental
    /// import (one per round, however many arrived: the import re-reads the current state, so
    /// an older delivery can never overwrite newer data); `app/uninstalled` disconnects the
    /// store; privacy topics become privacy requests, carried out at the end of the round (see
    /// [`Fulfillment::apply_privacy_requests`]). A processed delivery's body is dropped. Answers
    /// how many were processed.
    pub async fn process_inbox(&self, tenant: &TenantId) -> Result<usize> {
        let mut processed = 0;
        loop {
            let batch = self.store.inbox_pending(tenant, 200).await?;
            if batch.is_empty() {
                // Redactions waiting for orders on their way are looked at on every round.
                self.apply_privacy_requests(tenant).await?;
                return Ok(processed);
            }
            let mut needs_sync = false;
            let mut uninstalled = false;
            for (id, topic, body) in &batch {
                if let Some(kind) = crate::model::PrivacyKind::from_topic(topic) {
                    // Kept before the delivery is marked done (and its body dropped): a crash
                    // in between finds it again, and the id keeps it from being kept twice.
                    let request = privacy_request(kind, id, body, self.clock.now());
                    self.store.put_privacy_request(tenant, &request).await?;
                    continue;
                }
                match topic.as_str() {
                    t if t.starts_with("orders/")
                        || t.starts_with("fulfillment_orders/")
                        || t.starts_with("fulfillment_holds/")
                        || t.starts_with("fulfillments/") =>
                    {
                        needs_sync = true
                    }
                    "app/uninstalled" => uninstalled = true,
                    _ => {}
                }
            }
            if uninstalled {
                self.patch_settings(tenant, &json!({"shopify": {"access_token": null}}))
                    .await?;
            } else if needs_sync {
                match self.sync(tenant).await {
                    Ok(_) | Err(Error::ShopNotConfigured) => {}
                    // Leave the deliveries for the next round.
                    Err(e) => return Err(e),
                }
            }
            let now = self.clock.now();
            for (id, _, _) in &batch {
                self.store.inbox_done(tenant, id, now).await?;
            }
            processed += batch.len();
        }
    }

    /// Reports a shipped order to its shop; records the outcome as the order's sync state.
    async fn push_to_shop(
        &self,
        tenant: &TenantId,
        order: &Order,
        shipment: &Shipment,
    ) -> Result<crate::ports::PushState> {
        use crate::ports::{FulfillmentPush, PushOutcome, PushState};
        let Some(shop) = self.shops.for_tenant(tenant).await else {
            return Err(Error::ShopNotConfigured);
        };
        let (Some(fo), Some(tracking)) = (&order.external_id, &shipment.tracking_number) else {
            return Err(Refusal::Invalid(
                "this order did not come from the shop or has no tracking number",
            )
            .into());
        };
        let now = self.clock.now();
        self.store
            .set_push_state(
                tenant,
                order.id(),
                &PushState {
                    state: "pending".into(),
                    reason: None,
                    fulfillment_id: None,
                },
                now,
            )
            .await?;
        let push = FulfillmentPush {
            fulfillment_order_id: fo.clone(),
            company: "UPS".into(),
            tracking_number: tracking.as_str().to_owned(),
            tracking_url: format!("https://www.ups.com/track?tracknum={}", tracking.as_str()),
        };
        let state = match shop.push_fulfillment(&push).await {
            Ok(PushOutcome::Created { fulfillment_id }) => PushState {
                state: "synced".into(),
                reason: None,
                fulfillment_id: Some(fulfillment_id),
            },
            Ok(PushOutcome::AlreadyFulfilled) => PushState {
                state: "synced".into(),
                reason: Some("already fulfilled in the shop".into()),
                fulfillment_id: None,
            },
            Err(e) => PushState {
                state: "failed".into(),
                reason: Some(e.to_string()),
                fulfillment_id: None,
            },
        };
        self.store
            .set_push_state(tenant, order.id(), &state, self.clock.now())
            .await?;
        Ok(state)
    }

    /// Reports shipped orders to the shop: the named ones, or every shipped order not yet
    /// synced. One result per order; failures keep their reason and are retried next time.
    pub async fn push_many(
        &self,
        tenant: &TenantId,
        ids: Option<Vec<OrderId>>,
    ) -> Result<Vec<(OrderId, std::result::Result<crate::ports::PushState, Error>)>> {
        if self.shops.for_tenant(tenant).await.is_none() {
            return Err(Error::ShopNotConfigured);
        }
        let ids = match ids {
            Some(ids) => ids,
            None => self.store.unsynced_shipped_orders(tenant, 1000).await?,
        };
        let mut out = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let r = async {
                let order = self.load(tenant, id).await?;
                if !matches!(
                    order.status(),
                    OrderStatus::Shipped | OrderStatus::Delivered
                ) {
                    return Err(
                        Refusal::Invalid("only shipped orders are reported to the shop").into(),
                    );
                }
                if let Some(done) = self.store.push_state(tenant, id).await?
                    && done.state == "synced"
                {
                    return Ok(done);
                }
                let shipment_id = order
                    .state
                    .shipment_id
                    .clone()
                    .ok_or(Refusal::Invalid("this order has no shipment"))?;
                let shipment = self.shipment(tenant, &shipment_id).await?;
                self.push_to_shop(tenant, &order, &shipment).await
            }
            .await;
            out.push((id.clone(), r));
            self.bus.publish(
                tenant,
                LiveEvent::BatchProgress {
                    batch_id: format!("push-{}", id.as_str()),
                    kind: "shop_sync".into(),
                    done: i + 1,
                    failed: out
                        .iter()
                        .filter(|(_, r)| r.as_ref().map_or(true, |s| s.state != "synced"))
                        .count(),
                    total: ids.len(),
                },
            );
        }
        Ok(out)
    }

    /// Why the shop holds the order, if it does (it cannot be assigned meanwhile).
    pub async fn order_hold(&self, tenant: &TenantId, id: &OrderId) -> Result<Option<String>> {
        Ok(self.store.order_hold(tenant, id).await?)
    }

    /// The order's report to the shop, if one was attempted.
    pub async fn push_state(
        &self,
        tenant: &TenantId,
        id: &OrderId,
    ) -> Result<Option<crate::ports::PushState>> {
        Ok(self.store.push_state(tenant, id).await?)
    }

    /// Buys labels for many orders, at most `concurrency` at a time (the tenant's
    /// `ups.batch_concurrency` when `None`), reporting progress as live events. Each order
    /// goes through the same `ship` operation as at the bench, so one label per package holds;
    /// orders already shipped are reported as skipped.
    pub async fn ship_many(
        &self,
        tenant: &TenantId,
        ids: Vec<OrderId>,
        service: ServiceCode,
        concurrency: Option<usize>,
        actor: &Actor,
    ) -> Result<Vec<BatchItem>> {
        use futures::StreamExt;
        if !self.has_carrier(tenant).await {
            return Err(Error::CarrierNotConfigured);
        }
        let concurrency = match concurrency {
            Some(n) => n.clamp(1, 16),
            None => self.settings(tenant).await?.ups.batch_concurrency(),
        };
        let batch_id = format!("ship-{}", ShipmentId::generate().as_str());
        // An order named twice is shipped once and answered once.
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<OrderId> = ids
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect();
        let total = ids.len();
        let (mut done, mut failed) = (0, 0);
        let mut results = Vec::with_capacity(total);
        let mut work =
            futures::stream::iter(ids.into_iter().enumerate().map(|(i, id)| async move {
                let r = self.ship_one(tenant, &id, service, actor).await;
                (i, id, r)
            }))
            .buffer_unordered(concurrency);
        let mut order = Vec::with_capacity(total);
        while let Some((i, order_id, r)) = work.next().await {
            order.push(i);
            done += 1;
            let item = match r {
                Ok(item) => item,
                Err(e) => {
                    failed += 1;
                    let code = e.code();
                    BatchItem {
                        order_id,
                        ok: false,
                        skipped: None,
                        shipment_id: None,
                        tracking_number: None,
                        error: Some(BatchError {
                            retryable: matches!(
                                code,
                                crate::error::ErrorCode::CarrierUnavailable
                                    | crate::error::ErrorCode::Conflict
                            ),
                            code,
                            message: e.to_string(),
                        }),
                    }
                }
            };
            results.push(item);
            self.bus.publish(
                tenant,
                LiveEvent::BatchProgress {
                    batch_id: batch_id.clone(),
                    kind: "ship".into(),
                    done,
                    failed,
                    total,
                },
            );
        }
        // Answer in the order asked, whatever order they finished in.
        let mut paired: Vec<(usize, BatchItem)> = order.into_iter().zip(results).collect();
        paired.sort_by_key(|(i, _)| *i);
        Ok(paired.into_iter().map(|(_, r)| r).collect())
    }

    async fn ship_one(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        service: ServiceCode,
        actor: &Actor,
    ) -> Result<BatchItem> {
        let order = self.load(tenant, id).await?;
        if matches!(
            order.status(),
            OrderStatus::Shipped | OrderStatus::Delivered
        ) {
            let shipment = match &order.state.shipment_id {
                Some(s) => self.store.shipment(tenant, s).await?,
                None => None,
            };
            return Ok(BatchItem {
                order_id: id.clone(),
                ok: true,
                skipped: Some("already shipped"),
                tracking_number: shipment
                    .as_ref()
                    .and_then(|s| s.tracking_number.as_ref().map(|t| t.as_str().to_owned())),
                shipment_id: shipment.map(|s| s.id),
                error: None,
            });
        }
        let out = self.ship(tenant, order, service, None, actor).await?;
        let shipment = out.shipment;
        Ok(BatchItem {
            order_id: id.clone(),
            ok: true,
            skipped: None,
            tracking_number: shipment
                .as_ref()
                .and_then(|s| s.tracking_number.as_ref().map(|t| t.as_str().to_owned())),
            shipment_id: shipment.map(|s| s.id),
            error: None,
        })
    }

    /// Whether labels can be bought at all for this tenant (checked before batch work starts).
    pub async fn has_carrier(&self, tenant: &TenantId) -> bool {
        self.carriers.for_tenant(tenant).await.is_some()
    }

    /// What shipping takes from stock: each line from its locations in natural order; what no
    /// location covers comes off the first one (going negative shows a count to fix). SKUs with
    /// no stock recorded are left alone.
    async fn stock_to_take(&self, tenant: &TenantId, order: &Order) -> Result<Vec<StockMove>> {
        let mut moves = Vec::new();
        for line in order.lines() {
            let levels = self.sorted_stock(tenant, &line.sku).await?;
            let Some(first) = levels.first() else {
                continue;
            };
            let mut left = i64::from(line.quantity);
            for (location, on_hand) in &levels {
                let take = left.min((*on_hand).max(0));
                if take > 0 {
                    moves.push(StockMove {
                        sku: line.sku.clone(),
                        location: location.clone(),
                        delta: -take,
                    });
                    left -= take;
                }
            }
            if left > 0 {
                moves.push(StockMove {
                    sku: line.sku.clone(),
                    location: first.0.clone(),
                    delta: -left,
                });
            }
        }
        Ok(moves)
    }

    async fn void(
        &self,
        tenant: &TenantId,
        order: Order,
        actor: &Actor,
    ) -> Result<OperationOutcome> {
        // Refuse early (before any carrier call) if the order is not shipped.
        workflow::apply(&order.state, &Action::Void)?;
        let shipment_id = order
            .state
            .shipment_id
            .clone()
            .ok_or(Refusal::Invalid("this order has no label to void"))?;
        let mut shipment = self
            .store
            .shipment(tenant, &shipment_id)
            .await?
            .ok_or_else(|| Error::not_found("shipment", &shipment_id))?;
        let carrier = self
            .carriers
            .for_tenant(tenant)
            .await
            .ok_or(Error::CarrierNotConfigured)?;
        carrier.void_label(&shipment).await?;
        let give_back: Vec<StockMove> = self
            .store
            .shipment_stock_moves(tenant, &shipment_id)
            .await?
            .into_iter()
            .map(|m| StockMove {
                delta: -m.delta,
                ..m
            })
            .collect();
        let order = self
            .commit(tenant, &order, &Action::Void, &give_back, actor)
            .await?;
        shipment.status = ShipmentStatus::Voided;
        shipment.updated_at = self.clock.now();
        self.store.update_shipment(tenant, &shipment).await?;
        Ok(OperationOutcome {
            order,
            shipment: Some(shipment),
            warnings: Vec::new(),
        })
    }

    /// A combined pick list for many orders: each SKU once per location, with each order's
    /// quantity, sorted by location in natural order (`A-2` before `A-10`).
    pub async fn pick_list(&self, tenant: &TenantId, ids: &[OrderId]) -> Result<PickList> {
        let default = self.settings(tenant).await?.default_location;
        let mut orders = Vec::with_capacity(ids.len());
        for id in ids {
            orders.push(self.load(tenant, id).await?);
        }
        let mut entries: BTreeMap<(String, String), PickListEntry> = BTreeMap::new();
        let mut summary = Vec::new();
        let mut total = 0;
        for order in &orders {
            let mut order_units = 0;
            for line in order.lines() {
                let qty = line.remaining();
                if qty == 0 {
                    continue;
                }
                let levels = self.sorted_stock(tenant, &line.sku).await?;
                let at = locate(&levels, qty, default.as_ref());
                let key = (at.location.clone().unwrap_or_default(), line.sku.key());
                let entry = entries.entry(key).or_insert_with(|| PickListEntry {
                    location: at.location.clone(),
                    sku: line.sku.to_string(),
                    title: line.title.clone(),
                    barcode: line.barcode.as_ref().map(|b| b.as_str().to_owned()),
                    quantity: 0,
                    stock: at.stock,
                    orders: Vec::new(),
                });
                entry.quantity += qty;
                entry.orders.push(PickListOrder {
                    order_id: order.id().clone(),
                    order_name: order.name.clone(),
                    quantity: qty,
                });
                order_units += qty;
            }
            total += order_units;
            summary.push(PickListOrder {
                order_id: order.id().clone(),
                order_name: order.name.clone(),
                quantity: order_units,
            });
        }
        let mut entries: Vec<PickListEntry> = entries.into_values().collect();
        entries.sort_by(|a, b| {
            // Lines without a location go last: someone has to look for them.
            match (&a.location, &b.location) {
                (Some(x), Some(y)) => natural_cmp(x, y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then_with(|| natural_cmp(&a.sku, &b.sku))
        });
        Ok(PickList {
            orders: summary,
            entries,
            total_units: total,
        })
    }

    /// The orders a pick list covers when none are named: every open order not yet picked.
    pub async fn open_unpicked_orders(
        &self,
        tenant: &TenantId,
        limit: u32,
    ) -> Result<Vec<OrderId>> {
        let mut ids = Vec::new();
        for status in [OrderStatus::Processing, OrderStatus::Pending] {
            let filter = OrderFilter {
                status: Some(status),
                limit,
                ..Default::default()
            };
            ids.extend(
                self.store
                    .orders(tenant, &filter)
                    .await?
                    .items
                    .into_iter()
                    .map(|o| o.id),
            );
        }
        Ok(ids)
    }

    pub async fn stock(
        &self,
        tenant: &TenantId,
        sku: Option<&Sku>,
        location: Option<&Location>,
    ) -> Result<Vec<StockLevel>> {
        let mut levels = self.store.stock(tenant, sku, location).await?;
        levels.sort_by(|a, b| {
            natural_cmp(&a.sku, &b.sku)
                .then_with(|| natural_cmp(a.location.as_str(), b.location.as_str()))
        });
        Ok(levels)
    }

    pub async fn change_stock(
        &self,
        tenant: &TenantId,
        changes: &[StockChange],
        cause: &str,
        actor: &Actor,
    ) -> Result<Vec<StockLevel>> {
        if changes.is_empty() {
            return Err(Refusal::Invalid("no stock changes given").into());
        }
        let levels = self
            .store
            .change_stock(tenant, changes, cause, actor, self.clock.now())
            .await?;
        for l in &levels {
            self.bus.publish(
                tenant,
                LiveEvent::StockChanged {
                    sku: l.sku.clone(),
                    location: l.location.as_str().to_owned(),
                    on_hand: l.on_hand,
                    cause: cause.to_owned(),
                },
            );
        }
        Ok(levels)
    }

    pub async fn stock_events(
        &self,
        tenant: &TenantId,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<StockEvent>> {
        Ok(self.store.stock_events(tenant, after_seq, limit).await?)
    }

    /// Deletes all of a tenant's order data (orders, shipments, labels, events). Stock stays.
    pub async fn clear_orders(&self, tenant: &TenantId) -> Result<u64> {
        let count = self.store.clear_orders(tenant).await?;
        self.bus.publish(tenant, LiveEvent::OrdersCleared { count });
        Ok(count)
    }

    pub async fn shipments(
        &self,
        tenant: &TenantId,
        filter: &ShipmentFilter,
    ) -> Result<Page<Shipment>> {
        Ok(self.store.shipments(tenant, filter).await?)
    }

    pub async fn shipment(&self, tenant: &TenantId, id: &ShipmentId) -> Result<Shipment> {
        self.store
            .shipment(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found("shipment", id))
    }

    /// A stored label of a shipment in one format.
    pub async fn label(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
        format: crate::model::LabelFormat,
    ) -> Result<Vec<u8>> {
        self.shipment(tenant, id).await?;
        self.store
            .label(tenant, id, format)
            .await?
            .ok_or_else(|| Error::not_found("label", format!("{id} ({})", format.as_str())))
    }

    /// The label as stored, in whichever format the carrier sold it; fetched again from the
    /// carrier (Label Recovery) when the local copy is gone. `None` if there never was one.
    pub async fn original_label(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
    ) -> Result<Option<(crate::model::LabelFormat, Vec<u8>)>> {
        use crate::model::LabelFormat;
        let shipment = self.shipment(tenant, id).await?;
        for f in [
            LabelFormat::Zpl,
            LabelFormat::Gif,
            LabelFormat::Png,
            LabelFormat::Pdf,
        ] {
            if let Some(bytes) = self.store.label(tenant, id, f).await? {
                return Ok(Some((f, bytes)));
            }
        }
        if shipment.tracking_number.is_none() || shipment.status == ShipmentStatus::Voided {
            return Ok(None);
        }
        let carrier = self
            .carriers
            .for_tenant(tenant)
            .await
            .ok_or(Error::CarrierNotConfigured)?;
        let (format, bytes) = carrier.recover_label(&shipment).await?;
        self.store.put_label(tenant, id, format, &bytes).await?;
        Ok(Some((format, bytes)))
    }

    /// Keeps a converted copy of a label (a PNG preview, a PDF) so it is made once.
    pub async fn keep_label(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
        format: crate::model::LabelFormat,
        bytes: &[u8],
    ) -> Result<()> {
        Ok(self.store.put_label(tenant, id, format, bytes).await?)
    }

    pub async fn tracking_events(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
    ) -> Result<Vec<TrackingEvent>> {
        Ok(self.store.tracking_events(tenant, id).await?)
    }

    /// Asks the carrier where the parcel is, keeps its events, and moves the order to
    /// `delivered` when the carrier says so. An exception is announced to live screens.
    pub async fn track(&self, tenant: &TenantId, id: &ShipmentId) -> Result<TrackOutcome> {
        let mut shipment = self.shipment(tenant, id).await?;
        if shipment.tracking_number.is_none() {
            return Err(Refusal::Invalid("this shipment has no tracking number yet").into());
        }
        let carrier = self
            .carriers
            .for_tenant(tenant)
            .await
            .ok_or(Error::CarrierNotConfigured)?;
        let report = carrier.track(&shipment).await?;
        let before = self.store.tracking_events(tenant, id).await?;
        if report.events != before {
            self.store
                .put_tracking_events(tenant, id, &report.events)
                .await?;
        }
        let new_exception = report
            .events
            .iter()
            .filter(|e| e.kind == TrackingKind::Exception)
            .any(|e| !before.contains(e));
        if let (true, Some(order_id)) = (new_exception, &shipment.order_id) {
            let last = report
                .events
                .iter()
                .rev()
                .find(|e| e.kind == TrackingKind::Exception);
            self.bus.publish(
                tenant,
                LiveEvent::TrackingException {
                    order_id: order_id.clone(),
                    shipment_id: shipment.id.clone(),
                    description: last.map(|e| e.description.clone()).unwrap_or_default(),
                },
            );
        }
        let delivered = report
            .events
            .iter()
            .any(|e| e.kind == TrackingKind::Delivered);
        let mut changed = false;
        if report.estimated_delivery.is_some()
            && report.estimated_delivery != shipment.estimated_delivery
        {
            shipment.estimated_delivery = report.estimated_delivery;
            changed = true;
        }
        if delivered && shipment.status == ShipmentStatus::Created {
            shipment.status = ShipmentStatus::Delivered;
            changed = true;
        }
        if changed {
            shipment.updated_at = self.clock.now();
            self.store.update_shipment(tenant, &shipment).await?;
        }
        let mut order_status = None;
        if let Some(order_id) = &shipment.order_id {
            let order = self.load(tenant, order_id).await?;
            let ours = order.state.shipment_id.as_ref() == Some(&shipment.id);
            if delivered && ours && order.status() == OrderStatus::Shipped {
                let order = self
                    .commit(tenant, &order, &Action::Deliver, &[], &Actor::system())
                    .await?;
                order_status = Some(order.status());
            } else {
                order_status = Some(order.status());
            }
        }
        Ok(TrackOutcome {
            shipment,
            events: report.events,
            order_status,
        })
    }

    /// Shipments the tracking poller should ask about.
    pub async fn shipments_in_transit(
        &self,
        tenant: &TenantId,
        limit: u32,
    ) -> Result<Vec<Shipment>> {
        Ok(self
            .store
            .shipments(
                tenant,
                &ShipmentFilter {
                    status: Some(ShipmentStatus::Created),
                    limit,
                    ..ShipmentFilter::default()
                },
            )
            .await?
            .items)
    }

    /// Every service's price and transit days for a package, before buying.
    pub async fn rates(
        &self,
        tenant: &TenantId,
        ship_to: &crate::model::Address,
        package: &Package,
    ) -> Result<Vec<Rate>> {
        let carrier = self
            .carriers
            .for_tenant(tenant)
            .await
            .ok_or(Error::CarrierNotConfigured)?;
        Ok(carrier.rates(ship_to, package).await?)
    }

    /// What the carrier thinks of an address (a warning before buying, never a block).
    pub async fn check_address(
        &self,
        tenant: &TenantId,
        address: &crate::model::Address,
    ) -> Result<AddressCheck> {
        let carrier = self
            .carriers
            .for_tenant(tenant)
            .await
            .ok_or(Error::CarrierNotConfigured)?;
        Ok(carrier.check_address(address).await?)
    }

    /// Validates and saves a settings patch; answers the public view.
    pub async fn patch_settings(&self, tenant: &TenantId, patch: &Value) -> Result<Value> {
        let stored = self.store.settings(tenant).await?;
        let (settings, doc) = Settings::merge(stored.as_ref(), patch)?;
        self.store
            .put_settings(tenant, &doc, self.clock.now())
            .await?;
        if let Ok(mut cache) = self.settings_cache.lock() {
            cache.remove(tenant);
        }

        Ok(settings.public_view())
    }

    pub async fn device_settings(&self, tenant: &TenantId, station: &str) -> Result<Value> {
        Ok(self
            .store
            .device_settings(tenant, station)
            .await?
            .unwrap_or_else(|| json!({})))
    }

    pub async fn save_device_settings(
        &self,
        tenant: &TenantId,
        station: &str,
        doc: &Value,
    ) -> Result<Value> {
        self.store
            .put_device_settings(tenant, station, doc, self.clock.now())
            .await?;
        Ok(doc.clone())
    }
}

fn locate(levels: &[(Location, i64)], needed: u32, default: Option<&Location>) -> LineLocation {
    let at = |(l, n): &(Location, i64), stock| LineLocation {
        location: Some(l.as_str().into()),
        stock,
        on_hand: *n,
    };
    if let Some(l) = levels.iter().find(|(_, n)| *n >= i64::from(needed)) {
        return at(l, "in_stock");
    }
    if let Some(l) = levels.iter().find(|(_, n)| *n > 0) {
        return at(l, "short");
    }
    if let Some(l) = levels.first() {
        return at(l, "out_of_stock");
    }
    LineLocation {
        location: default.map(|d| d.as_str().to_owned()),
        stock: "no_stock_recorded",
        on_hand: 0,
    }
}
