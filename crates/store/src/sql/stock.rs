//! Stock by location, changes and their events.

use async_trait::async_trait;
use packbench_core::domain::{Location, ShipmentId, Sku, TenantId, Weight};
use packbench_core::model::{Actor, StockChange, StockEvent, StockLevel, StockMove, Timestamp};
use packbench_core::ports::StockStore;
use packbench_core::ports::StoreResult;
use packbench_core::weighing::{SkuWeight, WeightSource};

use crate::rows::{self, db, int, ms, text};

use super::write::allocate;
use super::{Args, SqlStore, Touches};

#[async_trait]
impl StockStore for SqlStore {
    async fn on_hand(&self, tenant: &TenantId, sku: &Sku) -> StoreResult<Vec<(Location, i64)>> {
        if let Some(w) = &self.sqlite_work {
            let (tenant, sku) = (tenant.as_str().to_owned(), sku.key());
            return w
                .run(move |c| crate::fast::sqlite_work::on_hand(c, &tenant, &sku))
                .await?;
        }
        const ON_HAND: &str =
            "select location, on_hand from stock where tenant_id = $1 and sku_key = $2";
        if self.pg_hot.is_some() {
            let rows = self
                .hot_fetch_all(
                    sqlx::query::<sqlx::Postgres>(ON_HAND)
                        .bind(tenant.as_str())
                        .bind(sku.key()),
                )
                .await?;
            return rows
                .iter()
                .map(|r| Ok((rows::location(&text(r, "location")?)?, int(r, "on_hand")?)))
                .collect();
        }
        let rows = sqlx::query(ON_HAND)
            .bind(tenant.as_str())
            .bind(sku.key())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| Ok((rows::location(&text(r, "location")?)?, int(r, "on_hand")?)))
            .collect()
    }

    async fn stock(
        &self,
        tenant: &TenantId,
        sku: Option<&Sku>,
        location: Option<&Location>,
    ) -> StoreResult<Vec<StockLevel>> {
        let mut a = Args::default();
        let mut sql = format!(
            "select sku_key, sku, location, on_hand from stock where tenant_id = {}",
            a.text(tenant.as_str())
        );
        if let Some(s) = sku {
            sql += &format!(" and sku_key = {}", a.text(s.key()));
        }
        let fetched = a.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        let levels = fetched
            .iter()
            .map(|r| {
                Ok((
                    text(r, "sku_key")?,
                    text(r, "sku")?,
                    rows::location(&text(r, "location")?)?,
                    int(r, "on_hand")?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        if levels.is_empty() {
            return Ok(Vec::new());
        }
        let demand = self.demand(tenant, sku).await?;
        let mut out = allocate(levels, &demand);
        if let Some(l) = location {
            out.retain(|s| s.location == *l);
        }
        Ok(out)
    }

    async fn change_stock(
        &self,
        tenant: &TenantId,
        changes: &[StockChange],
        cause: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Vec<StockLevel>> {
        let w = self.write(Touches::OrdersOrStock).await;
        let mut tx = w.begin().await?;
        let first = Self::next_stock_seqs(&mut tx, tenant, changes.len() as i64).await?;
        let mut touched = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            let (sku, location, ..) = Self::apply_stock(
                &mut tx,
                tenant,
                first + i as i64,
                c,
                cause,
                None,
                None,
                actor,
                now,
            )
            .await?;
            touched.push((sku, location));
        }
        tx.commit().await.map_err(db)?;
        let mut out = Vec::new();
        for (sku, location) in touched {
            let sku = rows::sku(&sku)?;
            out.extend(self.stock(tenant, Some(&sku), Some(&location)).await?);
        }
        out.dedup_by(|a, b| a.sku == b.sku && a.location == b.location);
        Ok(out)
    }

    async fn stock_events(
        &self,
        tenant: &TenantId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<StockEvent>> {
        let rows = sqlx::query(
            "select seq, sku, location, delta, on_hand, cause, order_id, shipment_id, user_id, created_at from stock_event
             where tenant_id = $1 and seq > $2 order by seq limit $3",
        )
        .bind(tenant.as_str())
        .bind(after_seq)
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(rows::stock_event).collect()
    }

    async fn shipment_stock_moves(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
    ) -> StoreResult<Vec<StockMove>> {
        let rows = sqlx::query(
            "select sku, location, delta from stock_event where tenant_id = $1 and shipment_id = $2 and cause = 'shipped' order by seq",
        )
        .bind(tenant.as_str())
        .bind(shipment.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(StockMove {
                    sku: rows::sku(&text(r, "sku")?)?,
                    location: rows::location(&text(r, "location")?)?,
                    delta: int(r, "delta")?,
                })
            })
            .collect()
    }

    async fn sku_weights(
        &self,
        tenant: &TenantId,
        skus: Option<&[Sku]>,
    ) -> StoreResult<Vec<SkuWeight>> {
        let mut a = Args::default();
        let mut sql = format!(
            "select sku, weight, unit, source, updated_at from sku_weight where tenant_id = {}",
            a.text(tenant.as_str())
        );
        if let Some(skus) = skus {
            if skus.is_empty() {
                return Ok(Vec::new());
            }
            let keys: Vec<String> = skus.iter().map(|s| a.text(s.key())).collect();
            sql += &format!(" and sku_key in ({})", keys.join(", "));
        }
        sql += " order by sku_key";
        let fetched = a.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        fetched.iter().map(rows::sku_weight).collect()
    }

    async fn set_sku_weights(
        &self,
        tenant: &TenantId,
        weights: &[(Sku, Option<Weight>)],
        source: WeightSource,
        now: Timestamp,
    ) -> StoreResult<()> {
        // The shop's weight fills in or follows the shop; the bench's is the warehouse's own.
        const KEEP: &str = "insert into sku_weight (tenant_id, sku_key, sku, weight, unit, source, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7)
             on conflict (tenant_id, sku_key) do update set sku = excluded.sku, weight = excluded.weight,
               unit = excluded.unit, source = excluded.source, updated_at = excluded.updated_at";
        const FROM_SHOP: &str = " where sku_weight.source = 'shop'
               and (sku_weight.weight <> excluded.weight or sku_weight.unit <> excluded.unit)";
        if weights.is_empty() {
            return Ok(());
        }
        let w = self.write(Touches::NoOrderOrStock).await;
        let mut tx = w.begin().await?;
        for (sku, weight) in weights {
            match weight {
                Some(weight) => {
                    let sql = match source {
                        WeightSource::Shop => format!("{KEEP}{FROM_SHOP}"),
                        WeightSource::Bench => KEEP.to_owned(),
                    };
                    sqlx::query(&sql)
                        .bind(tenant.as_str())
                        .bind(sku.key())
                        .bind(sku.as_str())
                        .bind(weight.value())
                        .bind(weight.unit().as_str())
                        .bind(source.as_str())
                        .bind(ms(now))
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                None if source == WeightSource::Bench => {
                    sqlx::query("delete from sku_weight where tenant_id = $1 and sku_key = $2")
                        .bind(tenant.as_str())
                        .bind(sku.key())
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                // The shop not knowing a weight takes nothing away.
                None => {}
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }
}
