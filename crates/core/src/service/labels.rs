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

    /// The label of a shipment's `package`-th box (1: the first) in the format asked for: as
    /// kept, or converted once from the one the carrier sold (fetched again from the carrier
    /// when the local copy is gone) and then kept.
    pub async fn label(
        &self,
        tenant: &TenantId,
        id: &ShipmentId,
        package: u32,
        format: crate::model::LabelFormat,
    ) -> Result<Vec<u8>> {
        let shipment = self.shipment(tenant, id).await?;
        if package == 0 || package as usize > shipment.parcels() {
            return Err(Error::not_found("label", format!("{id} box {package}")));
        }
        if let Some(bytes) = self.store.label(tenant, id, package, format).await? {
            return Ok(bytes);
        }
        let (have, original) = self
            .original_label(tenant, &shipment, package)
            .await?
            .ok_or_else(|| Error::not_found("label", format!("{id} ({})", format.as_str())))?;
        let converted = self
            .labels
            .convert(have, &original, format)
            .map_err(|message| Error::InvalidField {
                field: "format".into(),
                message,
            })?;
        self.store
            .put_label(tenant, id, package, format, &converted)
            .await?;
        Ok(converted)
    }

    /// A box's label as stored, in whichever format the carrier sold it; fetched again from
    /// the carrier (Label Recovery, by the box's own tracking number) when the local copy is
    /// gone. `None` if there never was one.
    async fn original_label(
        &self,
        tenant: &TenantId,
        shipment: &Shipment,
        package: u32,
    ) -> Result<Option<(crate::model::LabelFormat, Vec<u8>)>> {
        use crate::model::LabelFormat;
        let id = &shipment.id;
        for f in [
            LabelFormat::Zpl,
            LabelFormat::Gif,
            LabelFormat::Png,
            LabelFormat::Pdf,
        ] {
            if let Some(bytes) = self.store.label(tenant, id, package, f).await? {
                return Ok(Some((f, bytes)));
            }
        }
        let tracking = match package {
            1 => shipment.tracking_number.clone(),
            n => shipment
                .more_packages
                .get(n as usize - 2)
                .and_then(|p| p.tracking_number.clone()),
        };
        if tracking.is_none() || shipment.status == ShipmentStatus::Voided {
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
        // The carrier recovers a label by its tracking number: this box's.
        let of_this_box = Shipment {
            tracking_number: tracking,
            more_packages: Vec::new(),
            ..shipment.clone()
        };
        let (format, bytes) = carrier.recover_label(&of_this_box).await?;
        self.store
            .put_label(tenant, id, package, format, &bytes)
            .await?;
        Ok(Some((format, bytes)))
    }
}
