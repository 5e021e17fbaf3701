//! UPS for Packbench: the REST client ([`client`]), its wire types ([`wire`]) and request
//! bodies ([`request`]), and [`UpsCarrier`], the adapter at core's `Carrier` port.
//! Facts and sources: shared/notes/ups.md.

pub mod accounts;
pub mod client;
pub mod request;
pub mod tracking;
pub mod wire;

use async_trait::async_trait;
use base64::Engine;
use packbench_core::domain::{Package, ServiceCode, TrackingNumber};
use packbench_core::model::{Address, LabelFormat, Shipment};
use packbench_core::ports::{
    AddressCheck, Carrier, CarrierError, LabelPurchase, LabelRequest, PackageLabel, Rate,
    TrackingReport,
};

pub use accounts::UpsAccounts;
pub use client::{UpsClient, UpsConfig, UpsError};
pub use request::ShipperAccount;

const CARRIER: &str = "UPS";
/// The carrier name shipments carry (the seed answers `"carrier": "ups"`).
const NAME: &str = "ups";

/// A tenant's UPS account at the `Carrier` port.
pub struct UpsCarrier {
    client: std::sync::Arc<UpsClient>,
    account: ShipperAccount,
    label_format: LabelFormat,
}

impl UpsCarrier {
    pub fn new(
        client: std::sync::Arc<UpsClient>,
        account: ShipperAccount,
        label_format: LabelFormat,
    ) -> Self {
        Self {
            client,
            account,
            label_format,
        }
    }
}

impl From<UpsError> for CarrierError {
    fn from(e: UpsError) -> Self {
        match e {
            UpsError::Rejected { code, message, .. } => CarrierError::Rejected {
                carrier: CARRIER,
                code,
                message,
            },
            UpsError::Auth { code, message } => CarrierError::Rejected {
                carrier: CARRIER,
                code,
                message: format!(
                    "the UPS credentials were refused ({message}); check client id, secret and that the API products are enabled"
                ),
            },
            UpsError::Unknown(message) => CarrierError::Unconfirmed {
                carrier: CARRIER,
                message,
            },
            UpsError::Unavailable(message) | UpsError::Malformed(message) => {
                CarrierError::Unavailable {
                    carrier: CARRIER,
                    message,
                }
            }
        }
    }
}

fn decode_label(code: &str, base64_image: &str) -> Result<(LabelFormat, Vec<u8>), CarrierError> {
    let format = match code.trim().to_ascii_uppercase().as_str() {
        "ZPL" => LabelFormat::Zpl,
        "GIF" => LabelFormat::Gif,
        "PNG" => LabelFormat::Png,
        "PDF" => LabelFormat::Pdf,
        other => {
            return Err(CarrierError::Unavailable {
                carrier: CARRIER,
                message: format!("UPS sent a label as `{other}`, which Packbench cannot print"),
            });
        }
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_image.trim())
        .map_err(|e| CarrierError::Unavailable {
            carrier: CARRIER,
            message: format!("the label image is not base64: {e}"),
        })?;
    Ok((format, bytes))
}

/// Every package's tracking number and label of a ship answer, in the order asked.
pub fn purchase_from(response: &wire::ShipmentResponse) -> Result<LabelPurchase, CarrierError> {
    let results = &response.shipment_results;
    let sold = &results.shipment_identification_number;
    let mut packages = results.package_results.iter().map(|p| {
        let label = p
            .shipping_label
            .as_ref()
            .ok_or_else(|| CarrierError::Unconfirmed {
                carrier: CARRIER,
                message: format!(
                    "UPS sold {sold} but sent no label for {}",
                    p.tracking_number
                ),
            })?;
        // The label is sold by now: one we cannot read is recovered, never bought again.
        let (format, label) = decode_label(&label.image_format.code, &label.graphic_image)
            .map_err(|e| CarrierError::Unconfirmed {
                carrier: CARRIER,
                message: format!("UPS sold {} but {e}", p.tracking_number),
            })?;
        let tracking_number =
            TrackingNumber::parse(&p.tracking_number).map_err(|e| CarrierError::Unconfirmed {
                carrier: CARRIER,
                message: format!("UPS answered a tracking number we cannot read: {e}"),
            })?;
        Ok((tracking_number, format, label))
    });
    let (tracking_number, label_format, label) =
        packages.next().ok_or_else(|| CarrierError::Unconfirmed {
            carrier: CARRIER,
            message: format!("UPS sold {sold} but sent no package result"),
        })??;
    let more_packages = packages
        .map(|p| {
            p.map(|(tracking_number, _, label)| PackageLabel {
                tracking_number,
                label,
            })
        })
        .collect::<Result<_, CarrierError>>()?;
    Ok(LabelPurchase {
        tracking_number,
        estimated_delivery: None,
        label_format,
        label,
        more_packages,
    })
}

#[async_trait]
impl Carrier for UpsCarrier {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn buy_label(&self, r: &LabelRequest) -> Result<LabelPurchase, CarrierError> {
        let body = request::ship(&request::ShipInput {
            account: &self.account,
            ship_to: &r.ship_to,
            service: r.service,
            packages: &std::iter::once(&r.package)
                .chain(&r.more_packages)
                .collect::<Vec<_>>(),
            reference: r.shipment_id.as_str(),
            order_name: r.order_name.as_deref(),
            label_format: self.label_format,
        });
        let response = self.client.ship(&body).await?;
        for alert in response.response.alert.iter() {
            tracing::info!(code = %alert.code, message = %alert.description.trim(), "UPS alert on a label");
        }
        purchase_from(&response)
    }

    async fn void_label(&self, shipment: &Shipment) -> Result<(), CarrierError> {
        let Some(n) = &shipment.tracking_number else {
            // Nothing was ever sold for this shipment.
            return Ok(());
        };
        Ok(self.client.void(n.as_str()).await?)
    }

    async fn recover_label(
        &self,
        shipment: &Shipment,
    ) -> Result<(LabelFormat, Vec<u8>), CarrierError> {
        let n = shipment
            .tracking_number
            .as_ref()
            .ok_or(CarrierError::Rejected {
                carrier: CARRIER,
                code: "no_tracking_number".into(),
                message: "this shipment has no label to recover".into(),
            })?;
        let r = self
            .client
            .recover_label(n.as_str(), request::label_code(self.label_format))
            .await?;
        decode_label(
            &r.label_image.label_image_format.code,
            &r.label_image.graphic_image,
        )
    }

    async fn find_lost_label(
        &self,
        shipment: &Shipment,
    ) -> Result<Option<LabelPurchase>, CarrierError> {
        let found = self
            .client
            .track_reference(shipment.id.as_str(), &self.account.number)
            .await?;
        // Every package UPS sold under this reference (each box carries it), in the order
        // UPS lists them: the first is the shipment's number.
        let mut numbers: Vec<String> = Vec::new();
        for n in found
            .shipment
            .iter()
            .flat_map(|s| s.package.iter())
            .map(|p| p.tracking_number.trim().to_string())
            .filter(|n| !n.is_empty())
        {
            if !numbers.contains(&n) {
                numbers.push(n);
            }
        }
        let mut labels = Vec::with_capacity(numbers.len());
        for number in &numbers {
            let tracking_number =
                TrackingNumber::parse(number).map_err(|e| CarrierError::Unavailable {
                    carrier: CARRIER,
                    message: format!("UPS answered a tracking number we cannot read: {e}"),
                })?;
            let r = self
                .client
                .recover_label(number, request::label_code(self.label_format))
                .await?;
            let (label_format, label) = decode_label(
                &r.label_image.label_image_format.code,
                &r.label_image.graphic_image,
            )?;
            labels.push((tracking_number, label_format, label));
        }
        let mut labels = labels.into_iter();
        let Some((tracking_number, label_format, label)) = labels.next() else {
            return Ok(None);
        };
        Ok(Some(LabelPurchase {
            tracking_number,
            estimated_delivery: None,
            label_format,
            label,
            more_packages: labels
                .map(|(tracking_number, _, label)| PackageLabel {
                    tracking_number,
                    label,
                })
                .collect(),
        }))
    }

    async fn track(&self, shipment: &Shipment) -> Result<TrackingReport, CarrierError> {
        let n = shipment
            .tracking_number
            .as_ref()
            .ok_or(CarrierError::Rejected {
                carrier: CARRIER,
                code: "no_tracking_number".into(),
                message: "this shipment has no tracking number yet".into(),
            })?;
        let response = self.client.track(n.as_str()).await?;
        Ok(tracking::report(&response))
    }

    async fn rates(&self, ship_to: &Address, package: &Package) -> Result<Vec<Rate>, CarrierError> {
        let body = request::rate_shop(&self.account, ship_to, package);
        let response = self.client.rate_shop(&body).await?;
        Ok(response
            .rated_shipment
            .iter()
            .filter_map(|r| {
                let service = ServiceCode::ALL
                    .into_iter()
                    .find(|s| s.ups_code() == r.service.code.trim())?;
                let money = r
                    .negotiated_rate_charges
                    .as_ref()
                    .and_then(|n| n.total_charge.clone())
                    .or_else(|| r.total_charges.clone())?;
                Some(Rate {
                    service,
                    carrier_service_code: r.service.code.trim().into(),
                    amount: money.monetary_value.trim().into(),
                    currency: money.currency_code.trim().into(),
                    transit_days: r
                        .guaranteed_delivery
                        .as_ref()
                        .and_then(|g| g.business_days_in_transit.as_deref())
                        .and_then(|d| d.trim().parse().ok()),
                })
            })
            .collect())
    }

    async fn check_address(&self, a: &Address) -> Result<AddressCheck, CarrierError> {
        let country = a.country.as_deref().unwrap_or("US").to_ascii_uppercase();
        if country != "US" && country != "PR" {
            return Ok(AddressCheck {
                verdict: "not_checked".into(),
                candidates: Vec::new(),
            });
        }
        let r = self
            .client
            .validate_address(&request::validate_address(a))
            .await?;
        let verdict = if r.valid_address_indicator.is_some() {
            "valid"
        } else if r.ambiguous_address_indicator.is_some() {
            "ambiguous"
        } else {
            "not_found"
        };
        let candidates = r
            .candidate
            .iter()
            .map(|c| {
                let k = &c.address_key_format;
                Address {
                    lines: k.address_line.0.clone(),
                    city: k.political_division2.clone(),
                    state: k.political_division1.clone(),
                    postal_code: k.postcode_primary_low.clone(),
                    country: k.country_code.clone(),
                    ..Address::default()
                }
            })
            .collect();
        Ok(AddressCheck {
            verdict: verdict.into(),
            candidates,
        })
    }
}
