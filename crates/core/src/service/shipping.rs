//! Buying labels, one per package. The rule, end to end:
//! 1. Before the carrier is called, the order is **reserved** for one purchase: the pending
//!    shipment and the order's `labeling` are written in one transaction, at the version the
//!    order was read at (a compare-and-set the database enforces, on one hub or several).
//!    The loser of a race buys nothing and hears `label_in_progress`.
//! 2. While reserved, the workflow refuses anything that would change what the label is
//!    bought for (pack, cancel, assign); only the shop's cancellation goes through, and the
//!    label that then arrives is voided.
//! 3. The carrier's answer is recorded on the shipment before the order ships with it. A
//!    reservation whose purchase nobody is running any more (a lost answer, a hub that
//!    stopped, a store that failed part-way) is **settled** by the next attempt: a label the
//!    carrier sold is adopted, never bought again; one it never sold frees the order.
//!
//! Kept in one file although it is long: the rule holds only as a whole (reserve, buy,
//! record, settle), and reading it in one place is the point.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::domain::{OrderId, Package, ServiceCode, ShipmentId, TenantId};
use crate::error::{Error, Result};
use crate::model::{Actor, Address, Order, Shipment, ShipmentPackage, ShipmentStatus};
use crate::ports::{Carrier, CarrierError, LabelPurchase, LabelRequest, StoreError};
use crate::workflow::{self, Action, OrderStatus, Refusal};

use super::{Fulfillment, OperationOutcome};

/// How long a label purchase may be out of sight before it is settled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelTiming {
    /// How long a reserved purchase is taken to be under way on some hub. It must outlast a
    /// carrier call and the lookup of a lost answer (UPS: 30 s each); after it, a
    /// reservation that no purchase on this hub is running is settled by whoever comes next.
    pub lease: chrono::Duration,
    /// A lost answer's label can take a while to show in the carrier's lookup (UPS's
    /// track-by-reference lags, shared/notes/ups.md §8): until then a purchase the lookup
    /// does not find is not taken as never made.
    pub lookup_lag: chrono::Duration,
}

impl Default for LabelTiming {
    fn default() -> Self {
        Self {
            lease: chrono::Duration::minutes(2),
            lookup_lag: chrono::Duration::minutes(10),
        }
    }
}

/// A step of a purchase where tests inject a fault, through `fail` points (evaluated only when
/// `fail`'s `failpoints` feature is compiled in, as the hub's tests build it):
/// `label::STEP` for the whole process, `label::STEP::TENANT` for one tenant (tests sharing a
/// process). `return` makes the step fail (`Some`); `return(hold)` holds the purchase there
/// for good, without blocking a thread, so a test can kill the hub at that step.
async fn fault(tenant: &TenantId, step: &str) -> Option<()> {
    if !fail::has_failpoints() {
        return None;
    }
    for name in [format!("label::{step}"), format!("label::{step}::{tenant}")] {
        match fail::eval(&name, |arg| arg) {
            Some(Some(arg)) if arg == "hold" => std::future::pending::<()>().await,
            Some(_) => return Some(()),
            None => {}
        }
    }
    None
}

/// What an injected fault answers: the store failed.
fn injected() -> StoreError {
    StoreError::Backend("a fault injected by a test".into())
}

type Key = (TenantId, ShipmentId);

/// The purchases this hub is running right now, and the ones that ended here without
/// settling (a store that failed, an answer that was lost): those need not wait out the
/// lease, since no hub can still be running them.
#[derive(Default)]
pub(super) struct Purchases(Mutex<(HashSet<Key>, HashSet<Key>)>);

impl Purchases {
    fn running(&self, tenant: &TenantId, shipment: &ShipmentId) -> bool {
        self.0
            .lock()
            .map(|s| s.0.contains(&(tenant.clone(), shipment.clone())))
            .unwrap_or(true)
    }

    fn ended_here(&self, tenant: &TenantId, shipment: &ShipmentId) -> bool {
        self.0
            .lock()
            .map(|s| s.1.contains(&(tenant.clone(), shipment.clone())))
            .unwrap_or(false)
    }

    fn ended_unsettled(&self, tenant: &TenantId, shipment: &ShipmentId) {
        if let Ok(mut s) = self.0.lock() {
            s.1.insert((tenant.clone(), shipment.clone()));
        }
    }

    fn settled(&self, tenant: &TenantId, shipment: &ShipmentId) {
        if let Ok(mut s) = self.0.lock() {
            s.1.remove(&(tenant.clone(), shipment.clone()));
        }
    }
}

/// Marks a purchase as running for as long as it lives.
struct Running<'a> {
    purchases: &'a Purchases,
    key: Key,
}

impl<'a> Running<'a> {
    /// `None` when that purchase is already running on this hub.
    fn start(purchases: &'a Purchases, tenant: &TenantId, shipment: &ShipmentId) -> Option<Self> {
        let key = (tenant.clone(), shipment.clone());
        let mut s = purchases.0.lock().ok()?;
        s.0.insert(key.clone()).then_some(Self { purchases, key })
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.purchases.0.lock() {
            s.0.remove(&self.key);
        }
    }
}

/// What settling a reservation came to.
enum Settled {
    /// The carrier had sold the label: the order shipped with it.
    Shipped(Box<OperationOutcome>),
    /// No label for this order came of it: the order is free again.
    Released,
}

impl Fulfillment {
    /// Reserves the order, buys its label and ships it; or adopts the label a purchase left
    /// reserved. Never a second label for the order.
    pub(super) async fn ship(
        &self,
        tenant: &TenantId,
        mut order: Order,
        service: ServiceCode,
        package: Option<Package>,
        actor: &Actor,
    ) -> Result<OperationOutcome> {
        let carrier = self
            .carriers
            .for_tenant(tenant)
            .await
            .ok_or(Error::CarrierNotConfigured)?;
        let id = order.id().clone();
        for _ in 0..4 {
            if let Some(reserved) = order.state.labeling.clone() {
                match self
                    .settle(tenant, &order, &reserved, carrier.as_ref(), actor)
                    .await?
                {
                    Settled::Shipped(out) => return Ok(*out),
                    Settled::Released => {
                        order = self.load(tenant, &id).await?;
                        continue;
                    }
                }
            }
            let package = workflow::can_ship(&order.state, package.as_ref())?;
            // The packed boxes after the first go with it: one shipment, a label each.
            let more_packages = if order.state.package.as_ref() == Some(&package) {
                order
                    .state
                    .more_boxes
                    .iter()
                    .map(|b| ShipmentPackage {
                        package: b.clone(),
                        tracking_number: None,
                        boxed_at: None,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let now = self.clock.now();
            let shipment = Shipment {
                id: ShipmentId::generate(),
                order_id: Some(id.clone()),
                status: ShipmentStatus::Pending,
                carrier: carrier.name().into(),
                service,
                tracking_number: None,
                estimated_delivery: None,
                package: package.clone(),
                ship_to: Some(order.ship_to.clone().unwrap_or_default()),
                created_at: now,
                updated_at: now,
                boxed_at: None,
                more_packages,
            };
            let reserve = workflow::apply(
                &order.state,
                &Action::ReserveLabel {
                    shipment: shipment.id.clone(),
                    package,
                },
            )?;
            let running = Running::start(&self.purchases, tenant, &shipment.id);
            match self
                .store
                .reserve_label(tenant, &order, &reserve, &shipment, actor, now)
                .await
            {
                Ok(reserved) => {
                    let out = self
                        .buy_reserved(tenant, reserved, &shipment, carrier.as_ref(), actor)
                        .await;
                    // Still reserved for it (a lost answer, a store that failed): the next
                    // attempt on this hub settles it at once.
                    if matches!(
                        out,
                        Err(Error::Carrier(CarrierError::Unconfirmed { .. })
                            | Error::LabelNotRecorded { .. }
                            | Error::Store(_))
                    ) {
                        self.purchases.ended_unsettled(tenant, &shipment.id);
                    }
                    drop(running);
                    return out;
                }
                // Another station reserved it, or the order changed: look again.
                Err(StoreError::Conflict(_)) => order = self.load(tenant, &id).await?,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "the order kept changing while its label was being reserved; reload it and try again"
                .into(),
        ))
    }

    /// Buys the label of a reservation just taken, and ships the order with it.
    async fn buy_reserved(
        &self,
        tenant: &TenantId,
        order: Order,
        shipment: &Shipment,
        carrier: &dyn Carrier,
        actor: &Actor,
    ) -> Result<OperationOutcome> {
        if fault(tenant, "reserved").await.is_some() {
            return Err(Error::Store(injected()));
        }
        match self.purchase(carrier, shipment, Some(&order.name)).await {
            Ok(bought) => {
                let shipment = self
                    .record_label(tenant, shipment.clone(), bought)
                    .await
                    .map_err(|source| Error::LabelNotRecorded {
                        shipment: shipment.id.clone(),
                        source,
                    })?;
                self.ship_with(tenant, order, shipment, carrier, actor)
                    .await
            }
            // The order stays reserved for it: settled by the next attempt.
            Err(e @ CarrierError::Unconfirmed { .. }) => Err(e.into()),
            // Nothing was bought: the order is free again.
            Err(e) => {
                let mut failed = shipment.clone();
                failed.status = ShipmentStatus::Failed;
                failed.updated_at = self.clock.now();
                self.store.update_shipment(tenant, &failed).await?;
                self.release(tenant, order.id(), &failed.id, "not_bought", actor)
                    .await?;
                Err(e.into())
            }
        }
    }

    /// The carrier's label for a recorded pending shipment; a lost answer is looked up by
    /// our shipment id (printed on the label as a reference) before anything else happens.
    async fn purchase(
        &self,
        carrier: &dyn Carrier,
        shipment: &Shipment,
        order_name: Option<&str>,
    ) -> std::result::Result<LabelPurchase, CarrierError> {
        let request = LabelRequest {
            shipment_id: shipment.id.clone(),
            order_name: order_name.map(str::to_owned),
            service: shipment.service,
            package: shipment.package.clone(),
            more_packages: shipment
                .more_packages
                .iter()
                .map(|p| p.package.clone())
                .collect(),
            ship_to: shipment.ship_to.clone().unwrap_or_default(),
        };
        match carrier.buy_label(&request).await {
            Err(CarrierError::Unconfirmed {
                carrier: c,
                message,
            }) => match carrier.find_lost_label(shipment).await {
                Ok(Some(found)) => Ok(found),
                Ok(None) => Err(CarrierError::Unconfirmed {
                    carrier: c,
                    message,
                }),
                Err(e) => Err(CarrierError::Unconfirmed {
                    carrier: c,
                    message: format!("{message}; looking for it failed too: {e}"),
                }),
            },
            other => other,
        }
    }

    /// Keeps a sold label on its shipment (the label first: a shipment marked created
    /// always has one).
    async fn record_label(
        &self,
        tenant: &TenantId,
        mut shipment: Shipment,
        bought: LabelPurchase,
    ) -> std::result::Result<Shipment, StoreError> {
        if fault(tenant, "bought").await.is_some() {
            return Err(injected());
        }
        self.store
            .put_label(tenant, &shipment.id, 1, bought.label_format, &bought.label)
            .await?;
        // A box the carrier answered no label for keeps no tracking number, and says so.
        for ((n, p), sold) in (2..)
            .zip(shipment.more_packages.iter_mut())
            .zip(&bought.more_packages)
        {
            self.store
                .put_label(tenant, &shipment.id, n, bought.label_format, &sold.label)
                .await?;
            p.tracking_number = Some(sold.tracking_number.clone());
        }
        if fault(tenant, "label-kept").await.is_some() {
            return Err(injected());
        }
        shipment.status = ShipmentStatus::Created;
        shipment.tracking_number = Some(bought.tracking_number);
        shipment.estimated_delivery = bought.estimated_delivery;
        shipment.updated_at = self.clock.now();
        self.store.update_shipment(tenant, &shipment).await?;
        Ok(shipment)
    }

    /// Ships the reserved order with its bought label. If the shop cancelled the order
    /// meanwhile, the label is voided instead and the reservation ends.
    async fn ship_with(
        &self,
        tenant: &TenantId,
        mut order: Order,
        shipment: Shipment,
        carrier: &dyn Carrier,
        actor: &Actor,
    ) -> Result<OperationOutcome> {
        let id = order.id().clone();
        for _ in 0..3 {
            if order.state.labeling.as_ref() != Some(&shipment.id) {
                return Err(Error::Conflict(format!(
                    "the order is no longer waiting for label {}; reload it",
                    shipment.id
                )));
            }
            if order.status() == OrderStatus::Cancelled {
                return self
                    .void_for_cancelled(tenant, &order, shipment, carrier, actor)
                    .await;
            }
            if fault(tenant, "recorded").await.is_some() {
                return Err(Error::LabelNotRecorded {
                    shipment: shipment.id.clone(),
                    source: injected(),
                });
            }
            let moves = self.stock_to_take(tenant, &order).await?;
            let action = Action::Ship {
                shipment: shipment.id.clone(),
                package: shipment.package.clone(),
            };
            match self.commit(tenant, &order, &action, &moves, actor).await {
                Ok(shipped) => {
                    if self.settings(tenant).await?.auto_fulfill && shipped.external_id.is_some() {
                        // The parcel is bought and recorded; a shop that cannot be told now is
                        // retried by batches/sync (its state says failed, with the reason).
                        let _ = self.push_to_shop(tenant, &shipped, &shipment).await;
                    }
                    return Ok(OperationOutcome {
                        order: shipped,
                        shipment: Some(shipment),
                        warnings: Vec::new(),
                    });
                }
                // Only the shop's cancellation can change a reserved order: look again.
                Err(Error::Conflict(_)) => order = self.load(tenant, &id).await?,
                Err(Error::Store(source)) => {
                    return Err(Error::LabelNotRecorded {
                        shipment: shipment.id,
                        source,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::LabelNotRecorded {
            shipment: shipment.id,
            source: StoreError::Conflict(format!("order {id} kept changing")),
        })
    }

    /// A label arrived for an order the shop cancelled while it was bought: void it, keep
    /// the void on record, and end the reservation.
    async fn void_for_cancelled(
        &self,
        tenant: &TenantId,
        order: &Order,
        mut shipment: Shipment,
        carrier: &dyn Carrier,
        actor: &Actor,
    ) -> Result<OperationOutcome> {
        carrier.void_label(&shipment).await?;
        shipment.status = ShipmentStatus::Voided;
        shipment.updated_at = self.clock.now();
        self.store.update_shipment(tenant, &shipment).await?;
        self.release(
            tenant,
            order.id(),
            &shipment.id,
            "voided_order_cancelled",
            actor,
        )
        .await?;
        Err(Error::Conflict(format!(
            "the order was cancelled in the shop while its label was bought; label {} was voided",
            shipment
                .tracking_number
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_else(|| shipment.id.to_string())
        )))
    }

    /// Ends a reservation without a label for the order, however the order has moved since.
    async fn release(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        shipment: &ShipmentId,
        outcome: &'static str,
        actor: &Actor,
    ) -> Result<()> {
        let action = Action::ReleaseLabel {
            shipment: shipment.clone(),
            outcome,
        };
        for _ in 0..3 {
            let order = self.load(tenant, id).await?;
            if order.state.labeling.as_ref() != Some(shipment) {
                return Ok(());
            }
            match self.commit(tenant, &order, &action, &[], actor).await {
                Ok(_) => return Ok(()),
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!(
            "order {id} kept changing while its label reservation was ended; try again"
        )))
    }

    /// Settles a reservation whose purchase is not running on this hub, unless it may still
    /// be running on another (younger than the lease of [`LabelTiming`]).
    async fn settle(
        &self,
        tenant: &TenantId,
        order: &Order,
        reserved: &ShipmentId,
        carrier: &dyn Carrier,
        actor: &Actor,
    ) -> Result<Settled> {
        let in_progress = || {
            Error::Refused(Refusal::LabelInProgress {
                shipment: reserved.clone(),
            })
        };
        if self.purchases.running(tenant, reserved) {
            return Err(in_progress());
        }
        let Some(shipment) = self.store.shipment(tenant, reserved).await? else {
            self.release(tenant, order.id(), reserved, "no_purchase", actor)
                .await?;
            return Ok(Settled::Released);
        };
        let age = self.clock.now() - shipment.created_at;
        if shipment.status == ShipmentStatus::Pending
            && age < self.label_timing.lease
            && !self.purchases.ended_here(tenant, reserved)
        {
            return Err(in_progress());
        }
        // Taken over: while this runs, this hub answers `label_in_progress` for it.
        let Some(_running) = Running::start(&self.purchases, tenant, reserved) else {
            return Err(in_progress());
        };
        let settled = self
            .settle_running(tenant, order, shipment, carrier, actor)
            .await;
        if settled.is_ok() {
            self.purchases.settled(tenant, reserved);
        }
        settled
    }

    /// [`Self::settle`], once this hub has taken the purchase over.
    async fn settle_running(
        &self,
        tenant: &TenantId,
        order: &Order,
        mut shipment: Shipment,
        carrier: &dyn Carrier,
        actor: &Actor,
    ) -> Result<Settled> {
        let reserved = &shipment.id.clone();
        let age = self.clock.now() - shipment.created_at;
        match shipment.status {
            ShipmentStatus::Created | ShipmentStatus::Delivered => {}
            ShipmentStatus::Failed | ShipmentStatus::Voided => {
                self.release(tenant, order.id(), reserved, "not_bought", actor)
                    .await?;
                return Ok(Settled::Released);
            }
            ShipmentStatus::Pending => match carrier.find_lost_label(&shipment).await? {
                Some(found) => {
                    shipment =
                        self.record_label(tenant, shipment, found)
                            .await
                            .map_err(|source| Error::LabelNotRecorded {
                                shipment: reserved.clone(),
                                source,
                            })?;
                }
                None if age < self.label_timing.lookup_lag => {
                    return Err(CarrierError::Unconfirmed {
                            carrier: "UPS",
                            message: format!(
                                "the label bought at {} is not confirmed yet; try again in a few minutes",
                                shipment.created_at.format("%H:%M:%S")
                            ),
                        }
                        .into());
                }
                None => {
                    shipment.status = ShipmentStatus::Failed;
                    shipment.updated_at = self.clock.now();
                    self.store.update_shipment(tenant, &shipment).await?;
                    self.release(tenant, order.id(), reserved, "never_sold", actor)
                        .await?;
                    return Ok(Settled::Released);
                }
            },
        }
        // The carrier sold it: this order's label, adopted (or voided, if the shop cancelled
        // the order meanwhile).
        let order = self.load(tenant, order.id()).await?;
        match self
            .ship_with(tenant, order, shipment, carrier, actor)
            .await
        {
            Ok(out) => Ok(Settled::Shipped(Box::new(out))),
            Err(Error::Conflict(_)) => Ok(Settled::Released),
            Err(e) => Err(e),
        }
    }

    /// Settles the reservations no hub is running any more (a hub stopped mid-purchase, an
    /// answer was lost and nobody came back): sold labels are adopted, or voided for orders
    /// the shop cancelled meanwhile. Answers how many were settled, and the ones that could
    /// not be, with why.
    pub async fn settle_abandoned_labels(
        &self,
        tenant: &TenantId,
    ) -> Result<(usize, Vec<(OrderId, Error)>)> {
        let Some(carrier) = self.carriers.for_tenant(tenant).await else {
            return Ok((0, Vec::new()));
        };
        let (mut settled, mut failed) = (0, Vec::new());
        for id in self.store.orders_labeling(tenant).await? {
            let Ok(order) = self.load(tenant, &id).await else {
                continue;
            };
            let Some(reserved) = order.state.labeling.clone() else {
                continue;
            };
            match self
                .settle(
                    tenant,
                    &order,
                    &reserved,
                    carrier.as_ref(),
                    &Actor::system(),
                )
                .await
            {
                Ok(_) => settled += 1,
                // A purchase still under way, or a lost answer not confirmed yet.
                Err(Error::Refused(Refusal::LabelInProgress { .. }))
                | Err(Error::Carrier(CarrierError::Unconfirmed { .. })) => {}
                Err(Error::Conflict(_)) => settled += 1,
                Err(e) => failed.push((id, e)),
            }
        }
        Ok((settled, failed))
    }

    /// Before an operation other than ship on a reserved order: settles the reservation if
    /// no purchase is running for it, so an order a stopped hub left reserved is not stuck.
    /// Answers the order as it then is.
    pub(super) async fn settled_for_work(
        &self,
        tenant: &TenantId,
        order: Order,
        actor: &Actor,
    ) -> Result<Order> {
        let Some(reserved) = order.state.labeling.clone() else {
            return Ok(order);
        };
        let Some(carrier) = self.carriers.for_tenant(tenant).await else {
            return Ok(order);
        };
        match self
            .settle(tenant, &order, &reserved, carrier.as_ref(), actor)
            .await
        {
            Ok(_) | Err(Error::Conflict(_)) => self.load(tenant, order.id()).await,
            // Still being bought: the workflow refuses with `label_in_progress`.
            Err(Error::Refused(Refusal::LabelInProgress { .. })) => Ok(order),
            Err(e) => Err(e),
        }
    }

    /// Buys a label outside the normal flow (a replacement, a manual address). The order, if
    /// named, must exist; its status does not change. The shipment is recorded before the
    /// carrier is called; a lost answer leaves it pending.
    pub async fn create_shipment(
        &self,
        tenant: &TenantId,
        order_id: Option<&OrderId>,
        service: ServiceCode,
        package: Package,
        ship_to: Option<Address>,
    ) -> Result<Shipment> {
        let order = match order_id {
            Some(id) => Some(self.load(tenant, id).await?),
            None => None,
        };
        let ship_to = ship_to
            .or_else(|| order.as_ref().and_then(|o| o.ship_to.clone()))
            .ok_or(Refusal::Invalid(
                "a shipment needs a ship_to address (or an order that has one)",
            ))?;
        let carrier = self
            .carriers
            .for_tenant(tenant)
            .await
            .ok_or(Error::CarrierNotConfigured)?;
        let now = self.clock.now();
        let mut shipment = Shipment {
            id: ShipmentId::generate(),
            order_id: order.as_ref().map(|o| o.id().clone()),
            status: ShipmentStatus::Pending,
            carrier: carrier.name().into(),
            service,
            tracking_number: None,
            estimated_delivery: None,
            package,
            ship_to: Some(ship_to),
            created_at: now,
            updated_at: now,
            boxed_at: None,
            more_packages: Vec::new(),
        };
        self.store.insert_shipment(tenant, &shipment).await?;
        let name = order.as_ref().map(|o| o.name.as_str());
        match self.purchase(carrier.as_ref(), &shipment, name).await {
            Ok(bought) => {
                let id = shipment.id.clone();
                self.record_label(tenant, shipment, bought)
                    .await
                    .map_err(|source| Error::LabelNotRecorded {
                        shipment: id,
                        source,
                    })
            }
            Err(e @ CarrierError::Unconfirmed { .. }) => Err(e.into()),
            Err(e) => {
                shipment.status = ShipmentStatus::Failed;
                shipment.updated_at = self.clock.now();
                self.store.update_shipment(tenant, &shipment).await?;
                Err(e.into())
            }
        }
    }
}
