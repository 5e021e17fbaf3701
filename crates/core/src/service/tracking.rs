//! Following parcels to delivery: a shipment's tracking refreshed from the carrier, and the
//! shipments still on their way.

use crate::domain::{ShipmentId, TenantId};
use crate::error::{Error, Result};
use crate::model::{Actor, Shipment, ShipmentFilter, ShipmentStatus};
use crate::ports::{LiveEvent, TrackingEvent, TrackingKind};
use crate::workflow::{Action, OrderStatus, Refusal};

use super::Fulfillment;

/// What a tracking refresh found.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackOutcome {
    pub shipment: Shipment,
    /// The first box's events (the shipment's own, kept).
    pub events: Vec<TrackingEvent>,
    /// Each box after the first: which (2 and up) and what the carrier says of it now.
    pub boxes: Vec<(u32, Vec<TrackingEvent>)>,
    pub order_status: Option<OrderStatus>,
}

impl Fulfillment {
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
        // Each further box is followed by its own number; the shipment is delivered when
        // every box is.
        let mut boxes = Vec::with_capacity(shipment.more_packages.len());
        for (n, p) in (2..).zip(&shipment.more_packages) {
            let Some(number) = &p.tracking_number else {
                boxes.push((n, Vec::new()));
                continue;
            };
            let this_box = Shipment {
                tracking_number: Some(number.clone()),
                more_packages: Vec::new(),
                ..shipment.clone()
            };
            boxes.push((n, carrier.track(&this_box).await?.events));
        }
        let is_delivered =
            |events: &[TrackingEvent]| events.iter().any(|e| e.kind == TrackingKind::Delivered);
        let delivered =
            is_delivered(&report.events) && boxes.iter().all(|(_, events)| is_delivered(events));
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
            boxes,
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
}
