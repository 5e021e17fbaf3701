//! Orders at the bench: lists and details (with where each line is picked from), the operations a
//! packer asks for through the workflow, taking the next order, reviews and holds.

use serde::Serialize;

use crate::domain::{Location, OrderId, Package, ServiceCode, Sku, TenantId, UserId, natural_cmp};
use crate::error::{Error, Result};
use crate::model::{
    Actor, Order, OrderEvent, OrderFilter, OrderSummary, Page, Shipment, ShipmentFilter, StockMove,
};
use crate::ports::{LiveEvent, OrderToWork};
use crate::workflow::{self, Action, OrderStatus, PickItem, Refusal};

use super::Fulfillment;
use super::weighing::WeighIn;

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
        /// The boxes after the first, when the order needs several.
        more_boxes: Vec<Package>,
        weigh_in: WeighIn,
    },
    /// Buys the label. A `package` other than the one packed is packed (and weighed) first.
    Ship {
        service: ServiceCode,
        package: Option<Package>,
        weigh_in: WeighIn,
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
    pub stock: StockAtLocation,
    pub on_hand: i64,
}

/// What the shelf a line is picked from holds for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StockAtLocation {
    InStock,
    /// Less on hand than the line needs.
    Short,
    OutOfStock,
    /// The SKU has no stock recorded anywhere (picking it is allowed, but flagged).
    NoStockRecorded,
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
    pub expected_weight: super::ExpectedWeight,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OperationOutcome {
    pub order: Order,
    pub shipment: Option<Shipment>,
    pub warnings: Vec<Warning>,
}

impl Fulfillment {
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
        let expected_weight = self.expected_weight(tenant, &order).await?;
        Ok(OrderDetail {
            order,
            locations,
            shipments,
            events,
            expected_weight,
        })
    }

    /// Where each line of an order is picked from: the first location (in natural order) that
    /// has the SKU on hand, else the first that has a record of it, else the default location.
    pub(super) async fn line_locations(
        &self,
        tenant: &TenantId,
        order: &Order,
    ) -> Result<Vec<LineLocation>> {
        let default = self.settings(tenant).await?.default_location;
        let mut out = Vec::with_capacity(order.lines().len());
        for line in order.lines() {
            let levels = self.sorted_stock(tenant, &line.sku).await?;
            out.push(locate(&levels, line.quantity, default.as_ref()));
        }
        Ok(out)
    }

    /// On hand of a SKU per location, in natural location order.
    pub(super) async fn sorted_stock(
        &self,
        tenant: &TenantId,
        sku: &Sku,
    ) -> Result<Vec<(Location, i64)>> {
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
            Operation::Pack {
                package,
                more_boxes,
                weigh_in,
            } => {
                let boxes: Vec<&Package> = std::iter::once(&package).chain(&more_boxes).collect();
                let (weighed, heard) = self
                    .weigh_boxes(tenant, &order, &boxes, &weigh_in, actor)
                    .await?;
                warnings.extend(heard);
                Action::Pack {
                    package,
                    more_boxes,
                    weighed,
                }
            }
            Operation::Ship {
                service,
                package,
                weigh_in,
            } => {
                if let Some(p) = &package
                    && order.state.labeling.is_none()
                    && order.state.package.as_ref() != Some(p)
                    && matches!(order.status(), OrderStatus::Picked | OrderStatus::Packed)
                {
                    let (weighed, heard) = self
                        .weigh_boxes(tenant, &order, &[p], &weigh_in, actor)
                        .await?;
                    let pack = Action::Pack {
                        package: p.clone(),
                        more_boxes: Vec::new(),
                        weighed,
                    };
                    order = self.commit(tenant, &order, &pack, &[], actor).await?;
                    warnings.extend(heard);
                }
                let mut out = self.ship(tenant, order, service, package, actor).await?;
                warnings.append(&mut out.warnings);
                out.warnings = warnings;
                return Ok(out);
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

    pub(super) async fn commit(
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

    /// Why the shop holds the order, if it does (it cannot be assigned meanwhile).
    pub async fn order_hold(&self, tenant: &TenantId, id: &OrderId) -> Result<Option<String>> {
        Ok(self.store.order_hold(tenant, id).await?)
    }

    /// Deletes all of a tenant's order data (orders, shipments, labels, events). Stock stays.
    pub async fn clear_orders(&self, tenant: &TenantId) -> Result<u64> {
        let count = self.store.clear_orders(tenant).await?;
        self.bus.publish(tenant, LiveEvent::OrdersCleared { count });
        Ok(count)
    }
}

pub(super) fn locate(
    levels: &[(Location, i64)],
    needed: u32,
    default: Option<&Location>,
) -> LineLocation {
    let at = |(l, n): &(Location, i64), stock| LineLocation {
        location: Some(l.as_str().into()),
        stock,
        on_hand: *n,
    };
    if let Some(l) = levels.iter().find(|(_, n)| *n >= i64::from(needed)) {
        return at(l, StockAtLocation::InStock);
    }
    if let Some(l) = levels.iter().find(|(_, n)| *n > 0) {
        return at(l, StockAtLocation::Short);
    }
    if let Some(l) = levels.first() {
        return at(l, StockAtLocation::OutOfStock);
    }
    LineLocation {
        location: default.map(|d| d.as_str().to_owned()),
        stock: StockAtLocation::NoStockRecorded,
        on_hand: 0,
    }
}
