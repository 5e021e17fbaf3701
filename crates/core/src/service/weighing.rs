//! Weighing a box at pack (`crate::weighing` decides): the items' weights and the tenant's
//! rule are gathered here; a box off its weight is held, and an admin or an operator the
//! tenant names may pack it anyway, with a reason the order's events keep.

use std::collections::HashMap;

use serde::Serialize;

use crate::domain::{Package, Sku, TenantId, Weight, WeightUnit};
use crate::error::{Error, Result};
use crate::model::{Actor, Order};
use crate::weighing::{self, Verdict};
use crate::workflow::Weighed;

use super::{Fulfillment, Warning};

/// How the packer weighed the boxes beyond their weights: the empty boxes' weight, and why
/// boxes off their expected weight are right after all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeighIn {
    /// The empty boxes' weight, all together.
    pub tare: Option<Weight>,
    pub override_reason: Option<String>,
}

/// What an order's items should weigh, before any box (the order's detail shows it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectedWeight {
    /// Whether packed boxes are weighed at all (`settings.weight_check.enabled`).
    pub checked: bool,
    pub unit: WeightUnit,
    /// The items' weight; `None` when a SKU's weight is not known.
    pub items: Option<f64>,
    pub unknown_skus: Vec<String>,
}

impl Fulfillment {
    async fn weights_of(
        &self,
        tenant: &TenantId,
        order: &Order,
    ) -> Result<HashMap<String, Weight>> {
        let mut skus: Vec<Sku> = order.lines().iter().map(|l| l.sku.clone()).collect();
        skus.dedup();
        Ok(self
            .store
            .sku_weights(tenant, Some(&skus))
            .await?
            .into_iter()
            .map(|w| (w.sku.key(), w.weight))
            .collect())
    }

    /// What the order's items should weigh, as far as their weights are known.
    pub async fn expected_weight(
        &self,
        tenant: &TenantId,
        order: &Order,
    ) -> Result<ExpectedWeight> {
        let settings = self.settings(tenant).await?;
        let unit = settings.units.weight;
        let items = weighing::items_weight(order.lines(), &self.weights_of(tenant, order).await?);
        Ok(ExpectedWeight {
            checked: settings.weight_check.enabled,
            unit,
            items: items.grams.map(|g| g / unit.grams_per_unit()),
            unknown_skus: items.unknown.iter().map(ToString::to_string).collect(),
        })
    }

    /// Weighs the boxes about to be packed, together, against all the order's items. Boxes
    /// within the tolerance, or of an order whose weight is not known (said in a warning), are
    /// packed; outside it they are held, unless someone allowed to gives a reason.
    pub(super) async fn weigh_boxes(
        &self,
        tenant: &TenantId,
        order: &Order,
        boxes: &[&Package],
        weigh_in: &WeighIn,
        actor: &Actor,
    ) -> Result<(Option<Weighed>, Vec<Warning>)> {
        let settings = self.settings(tenant).await?;
        let rule = &settings.weight_check;
        if !rule.enabled {
            return Ok((None, Vec::new()));
        }
        let weights = self.weights_of(tenant, order).await?;
        let grams: f64 = boxes.iter().map(|b| b.weight.grams()).sum();
        let Ok(actual) = Weight::new(grams, WeightUnit::G) else {
            return Err(Error::Invalid(crate::domain::ParseError::new(
                "weight",
                "the boxes together weigh more than 1000 kg",
            )));
        };
        let weighing = weighing::weigh(
            order.lines(),
            &weights,
            weigh_in.tare,
            actual,
            rule,
            settings.units.weight,
        );
        let mut warnings = Vec::new();
        let override_reason = match weighing.verdict {
            Verdict::Within => None,
            Verdict::Unknown => {
                warnings.push(Warning {
                    code: "weight_unknown",
                    message: format!("{}: the box was not weighed against it", weighing.message()),
                    sku: weighing.unknown_skus.first().cloned(),
                });
                None
            }
            Verdict::Held => match &weigh_in.override_reason {
                None => return Err(Error::WeightHeld(Box::new(weighing))),
                Some(reason) => {
                    self.may_override_weight(tenant, actor, &rule.may_override)
                        .await?;
                    Some(reason.clone())
                }
            },
        };
        Ok((
            Some(Weighed {
                weighing,
                override_reason,
            }),
            warnings,
        ))
    }

    /// Admins may pack a box off its weight; operators only when the tenant names them.
    async fn may_override_weight(
        &self,
        tenant: &TenantId,
        actor: &Actor,
        named: &[String],
    ) -> Result<()> {
        let user = match &actor.user_id {
            Some(id) => self.store.user(tenant, id).await?,
            None => None,
        };
        let allowed = user
            .is_some_and(|u| u.role == crate::domain::Role::Admin || named.contains(&u.username));
        if allowed {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "only an admin, or an operator named in the settings' weight_check.may_override, may pack a box off its expected weight; ask one to check the box"
                    .into(),
            ))
        }
    }
}
