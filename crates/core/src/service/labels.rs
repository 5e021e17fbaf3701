//! Shipments and their labels: lists, the label in each format (kept, or converted from the
//! original), and voids.

use crate::domain::{ShipmentId, TenantId};
use crate::error::{Error, Result};
use crate::model::{Actor, Order, Page, Shipment, ShipmentFilter, ShipmentStatus, StockMove};
use crate::workflow::{self, Action, Refusal};

use super::{Fulfillment, OperationOutcome};

impl Fulfillment {
    pub(super) async fn void(
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

    /// A label in the format asked for: as kept, or converted once from the one the carrier
    /// sold (fetched again from the carrier when the local copy is gone) and then kept.
    pub async fn label(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
        format: crate::model::LabelFormat,
    ) -> Result<Vec<u8>> {
        self.shipment(tenant, id).await?;
        if let Some(bytes) = self.store.label(tenant, id, format).await? {
            return Ok(bytes);
        }
        let (have, original) = self
            .original_label(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found("label", format!("{id} ({})", format.as_str())))?;
        let converted = self
            .labels
            .convert(have, &original, format)
            .map_err(|message| Error::InvalidField {
                field: "format".into(),
                message,
            })?;
        self.store.put_label(tenant, id, format, &converted).await?;
        Ok(converted)
    }

    /// The label as stored, in whichever format the carrier sold it; fetched again from the
    /// carrier (Label Recovery) when the local copy is gone. `None` if there never was one.
    async fn original_label(
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
        // Every label is bought to an address; a shipment without one had it erased by a
        // privacy request, with its label images, and the carrier's copy holds it too.
        if shipment.ship_to.is_none() {
            return Err(Error::Conflict(format!(
                "the label of {id} was erased at the shop's request (a privacy redaction) and is not fetched again"
            )));
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
}
