//! Work on many orders at once: batch ship with per-order results and progress, and the combined
//! pick list.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::{OrderId, ServiceCode, ShipmentId, TenantId, natural_cmp};
use crate::error::{Error, Result};
use crate::model::{Actor, OrderFilter};
use crate::ports::LiveEvent;
use crate::workflow::OrderStatus;

use super::Fulfillment;
use super::orders::locate;

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

/// One row of a combined pick list: a SKU at a location, with what each order needs of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PickListEntry {
    pub location: Option<String>,
    pub sku: String,
    pub title: String,
    pub barcode: Option<String>,
    pub quantity: u32,
    pub stock: super::StockAtLocation,
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

impl Fulfillment {
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

    pub(super) async fn ship_one(
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
}
