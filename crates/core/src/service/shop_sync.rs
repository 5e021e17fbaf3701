//! Keeping the bench and the shop in step: imports (pages or a bulk export, through the `Shop`
//! port), the shop's edits and cancellations, webhooks kept and processed, and shipped orders
//! reported back.

use serde::Serialize;
use serde_json::json;

use crate::domain::{OrderId, ShipmentId, TenantId};
use crate::error::{Error, Result};
use crate::model::{Actor, NewOrder, Order, Shipment, Timestamp};
use crate::ports::{LiveEvent, PushStatus};
use crate::weighing::WeightSource;
use crate::workflow::{Action, OrderStatus, Refusal};

use super::Fulfillment;
use super::privacy::privacy_request;

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

impl Fulfillment {
    /// Keeps the unit weights the shop gives a page's items (never over the bench's own), so
    /// boxes of these orders can be weighed.
    async fn learn_shop_weights(
        &self,
        tenant: &TenantId,
        orders: &[NewOrder],
        now: Timestamp,
    ) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        let weights: Vec<_> = orders
            .iter()
            .flat_map(|o| &o.lines)
            .filter_map(|l| Some((l.sku.clone(), Some(l.weight?))))
            .filter(|(sku, _)| seen.insert(sku.key()))
            .collect();
        Ok(self
            .store
            .set_sku_weights(tenant, &weights, WeightSource::Shop, now)
            .await?)
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
            self.learn_shop_weights(tenant, &page.orders, now).await?;
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
    pub(super) async fn apply_shop_edit(
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

    /// The shop cancelled an order: cancel it here if it has not left; if it has, say so
    /// loudly (a live `shop_cancelled_shipped` event) and leave it as it is.
    pub(super) async fn apply_shop_cancellation(
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
    pub(super) async fn push_to_shop(
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
                    state: PushStatus::Pending,
                    reason: None,
                    fulfillment_id: None,
                },
                now,
            )
            .await?;
        let push = FulfillmentPush {
            fulfillment_order_id: fo.clone(),
            company: "UPS".into(),
            tracking_numbers: std::iter::once(tracking)
                .chain(
                    shipment
                        .more_packages
                        .iter()
                        .filter_map(|p| p.tracking_number.as_ref()),
                )
                .map(|t| t.as_str().to_owned())
                .collect(),
        };
        let state = match shop.push_fulfillment(&push).await {
            Ok(PushOutcome::Created { fulfillment_id }) => PushState {
                state: PushStatus::Synced,
                reason: None,
                fulfillment_id: Some(fulfillment_id),
            },
            Ok(PushOutcome::AlreadyFulfilled) => PushState {
                state: PushStatus::Synced,
                reason: Some("already fulfilled in the shop".into()),
                fulfillment_id: None,
            },
            Err(e) => PushState {
                state: PushStatus::Failed,
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
                    && done.state == PushStatus::Synced
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
                        .filter(|(_, r)| r.as_ref().map_or(true, |s| s.state != PushStatus::Synced))
                        .count(),
                    total: ids.len(),
                },
            );
        }
        Ok(out)
    }

    /// The order's report to the shop, if one was attempted.
    pub async fn push_state(
        &self,
        tenant: &TenantId,
        id: &OrderId,
    ) -> Result<Option<crate::ports::PushState>> {
        Ok(self.store.push_state(tenant, id).await?)
    }
}
