//! Stock by shelf location: levels, counts and adjustments, their history, and what an order takes
//! when it ships.

use crate::domain::{Location, Sku, TenantId, Weight, natural_cmp};
use crate::error::Result;
use crate::model::{Actor, Order, StockChange, StockEvent, StockLevel, StockMove};
use crate::ports::LiveEvent;
use crate::weighing::{SkuWeight, WeightSource};
use crate::workflow::Refusal;

use super::Fulfillment;

impl Fulfillment {
    /// What shipping takes from stock: each line from its locations in natural order; what no
    /// location covers comes off the first one (going negative shows a count to fix). SKUs with
    /// no stock recorded are left alone.
    pub(super) async fn stock_to_take(
        &self,
        tenant: &TenantId,
        order: &Order,
    ) -> Result<Vec<StockMove>> {
        let mut moves = Vec::new();
        for line in order.lines() {
            let levels = self.sorted_stock(tenant, &line.sku).await?;
            let Some(first) = levels.first() else {
                continue;
            };
            let mut left = i64::from(line.quantity);
            for (location, on_hand) in &levels {
                let take = left.min((*on_hand).max(0));
                if take > 0 {
                    moves.push(StockMove {
                        sku: line.sku.clone(),
                        location: location.clone(),
                        delta: -take,
                    });
                    left -= take;
                }
            }
            if left > 0 {
                moves.push(StockMove {
                    sku: line.sku.clone(),
                    location: first.0.clone(),
                    delta: -left,
                });
            }
        }
        Ok(moves)
    }

    pub async fn stock(
        &self,
        tenant: &TenantId,
        sku: Option<&Sku>,
        location: Option<&Location>,
    ) -> Result<Vec<StockLevel>> {
        let mut levels = self.store.stock(tenant, sku, location).await?;
        levels.sort_by(|a, b| {
            natural_cmp(&a.sku, &b.sku)
                .then_with(|| natural_cmp(a.location.as_str(), b.location.as_str()))
        });
        Ok(levels)
    }

    pub async fn change_stock(
        &self,
        tenant: &TenantId,
        changes: &[StockChange],
        cause: &str,
        actor: &Actor,
    ) -> Result<Vec<StockLevel>> {
        if changes.is_empty() {
            return Err(Refusal::Invalid("no stock changes given").into());
        }
        let levels = self
            .store
            .change_stock(tenant, changes, cause, actor, self.clock.now())
            .await?;
        for l in &levels {
            self.bus.publish(
                tenant,
                LiveEvent::StockChanged {
                    sku: l.sku.clone(),
                    location: l.location.as_str().to_owned(),
                    on_hand: l.on_hand,
                    cause: cause.to_owned(),
                },
            );
        }
        Ok(levels)
    }

    pub async fn stock_events(
        &self,
        tenant: &TenantId,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<StockEvent>> {
        Ok(self.store.stock_events(tenant, after_seq, limit).await?)
    }

    /// Every SKU's known unit weight, by SKU.
    pub async fn sku_weights(&self, tenant: &TenantId) -> Result<Vec<SkuWeight>> {
        Ok(self.store.sku_weights(tenant, None).await?)
    }

    /// Sets (or, with `None`, forgets) unit weights measured at the bench; they win over the
    /// shop's. Answers the SKUs' weights as now known.
    pub async fn set_sku_weights(
        &self,
        tenant: &TenantId,
        weights: &[(Sku, Option<Weight>)],
    ) -> Result<Vec<SkuWeight>> {
        self.store
            .set_sku_weights(tenant, weights, WeightSource::Bench, self.clock.now())
            .await?;
        let skus: Vec<Sku> = weights.iter().map(|(s, _)| s.clone()).collect();
        Ok(self.store.sku_weights(tenant, Some(&skus)).await?)
    }
}
