//! Label to box: at a station that asks for it, the packer scans the printed label's tracking
//! barcode once it is on the box, so a label stuck on the wrong box is caught at the bench and
//! not by the customer. A scan of another label is refused, naming the order it belongs to;
//! labels bought and never scanned are listed (`GET shipments?boxed=false`, end of day).

use crate::domain::{OrderId, ShipmentId, TenantId};
use crate::error::{Error, Result};
use crate::model::{Shipment, ShipmentStatus};

use super::Fulfillment;

/// A scanned tracking barcode as it is compared: no spaces, upper case (a UPS label prints
/// `1Z 999 AA1 01 2345 6784`; its barcode reads `1Z999AA10123456784`).
fn scanned(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

impl Fulfillment {
    async fn order_name(&self, tenant: &TenantId, id: Option<&OrderId>) -> String {
        match id {
            Some(id) => match self.load(tenant, id).await {
                Ok(o) => o.name,
                Err(_) => id.to_string(),
            },
            None => "a label bought without an order".into(),
        }
    }

    /// The packer scanned `code` off the box that should carry this shipment's label: the
    /// right label is recorded as on its box (again: no change); any other is refused.
    pub async fn box_scan(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        code: &str,
    ) -> Result<Shipment> {
        let this = self
            .store
            .shipment(tenant, shipment)
            .await?
            .ok_or_else(|| Error::not_found("shipment", shipment))?;
        let code = scanned(code);
        let name = self.order_name(tenant, this.order_id.as_ref()).await;
        // Which of this shipment's boxes the label is (1: the first), if it is one of them.
        if let Some(box_no) = this.box_of(&code) {
            return match this.status {
                ShipmentStatus::Created | ShipmentStatus::Delivered => Ok(self
                    .store
                    .mark_boxed(tenant, shipment, box_no, self.clock.now())
                    .await?),
                _ => Err(Error::WrongLabel {
                    message: format!(
                        "this label of {name} was voided: take it off the box and throw it away, it must not ship"
                    ),
                    belongs_to: this.order_id.clone(),
                }),
            };
        }
        if code.is_empty() || code.len() > 64 {
            return Err(Error::WrongLabel {
                message: format!(
                    "nothing was read: scan the tracking barcode on the label printed for {name}"
                ),
                belongs_to: None,
            });
        }
        match self.store.shipment_by_tracking(tenant, &code).await? {
            Some((other, _)) => {
                let theirs = self.order_name(tenant, other.order_id.as_ref()).await;
                Err(Error::WrongLabel {
                    message: format!(
                        "wrong label: {code} is the label of {theirs}, not of {name}; take it off this box and put it on {theirs}'s"
                    ),
                    belongs_to: other.order_id,
                })
            }
            None => Err(Error::WrongLabel {
                message: format!(
                    "{code} is not a label bought here: scan the tracking barcode (1Z…) on the label printed for {name}"
                ),
                belongs_to: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_scan_is_compared_without_spaces_or_case() {
        assert_eq!(
            super::scanned(" 1z 999 aa1 01 2345 6784\n"),
            "1Z999AA10123456784"
        );
    }
}
