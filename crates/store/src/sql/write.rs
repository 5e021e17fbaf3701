//! The writes inside a transaction that several roles share: a transition with everything
//! written beside it, a shipment, a claim, stock moves and their events, order lines, and
//! what open orders allocate of stock.

use std::collections::HashMap;

use packbench_core::domain::{Location, OrderId, ShipmentId, Sku, TenantId, UserId};
use packbench_core::model::{Actor, Order, Shipment, StockChange, StockLevel, Timestamp};
use packbench_core::ports::{OrderToWork, StoreError, StoreResult};
use packbench_core::workflow::Transition;
use sqlx::{Any, Transaction};

use crate::fast::hot_writes::Claim;
use crate::rows::{self, db, int, ms, text, to_json};

use super::{AlsoWritten, Args, Backend, SHIPMENT_COLUMNS, SqlStore, Touches};

impl SqlStore {
    pub(super) async fn insert_shipment_in(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &TenantId,
        s: &Shipment,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "insert into shipment (tenant_id, {SHIPMENT_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(tenant.as_str())
        .bind(s.id.as_str())
        .bind(s.order_id.as_ref().map(|o| o.as_str().to_owned()))
        .bind(s.status.as_str())
        .bind(s.carrier.as_str())
        .bind(s.service.as_str())
        .bind(s.tracking_number.as_ref().map(|t| t.as_str().to_owned()))
        .bind(s.estimated_delivery.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(to_json(&s.package))
        .bind(s.ship_to.as_ref().map(to_json))
        .bind(ms(s.created_at))
        .bind(ms(s.updated_at))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
        for (seq, p) in (2..).zip(&s.more_packages) {
            sqlx::query(
                "insert into shipment_package (tenant_id, shipment_id, seq, package, tracking_number, boxed_at)
                 values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(tenant.as_str())
            .bind(s.id.as_str())
            .bind(seq as i64)
            .bind(to_json(&p.package))
            .bind(p.tracking_number.as_ref().map(|t| t.as_str().to_owned()))
            .bind(p.boxed_at.map(ms))
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        }
        Ok(())
    }

    /// `save_transition`'s writes, on each database's fastest path (on the plain path, or
    /// when it moves stock or a label reservation, in a transaction of its own).
    pub(super) async fn save_transition_to_db(
        &self,
        tenant: &TenantId,
        before: &Order,
        t: &Transition,
        writes: AlsoWritten<'_>,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Order> {
        let AlsoWritten { stock, shipment } = writes;
        // A transition that moves no stock (picks, packs, assigns): the order, its changed
        // lines and the event, committed with the other transitions waiting by then (SQLite's
        // `fast::sqlite_work`, PostgreSQL's `fast::pg_group_commit`), at the version it started from.
        // A transition that takes or ends a label reservation is written in full below.
        if stock.is_empty() && shipment.is_none() && t.state.labeling == before.state.labeling {
            let change = crate::fast::hot_writes::Change::of(tenant, before, t, actor, now);
            let saved = if let Some(w) = &self.sqlite_work {
                Some(
                    w.write(move |c| {
                        crate::fast::sqlite_work::save_transition(c, &change)
                            .map_err(crate::rows::sqlite_err)
                    })
                    .await?,
                )
            } else if let Some((committer, _)) = &self.pg_commit {
                Some(committer.save(change).await?)
            } else {
                None
            };
            match saved {
                Some(false) => return Err(StoreError::Conflict(format!("order {}", t.state.id))),
                Some(true) => {
                    return Ok(Order {
                        state: t.state.clone(),
                        version: before.version + 1,
                        updated_at: now,
                        ..before.clone()
                    });
                }
                None => {}
            }
        }
        // The cache follows this order's write (`after_save`); stock moved retires it.
        let w = self
            .write(if stock.is_empty() {
                Touches::OneTransition
            } else {
                Touches::OrdersOrStock
            })
            .await;
        let next = &t.state;
        let mut tx = w.begin().await?;
        if let Some(s) = shipment {
            Self::insert_shipment_in(&mut tx, tenant, s).await?;
        }
        let updated = sqlx::query(
            "update sales_order set status = $3, version = version + 1, assigned_to = $4, package = $5, shipment_id = $6,
             cancel_reason = $7, updated_at = $8, labeling = $10 where tenant_id = $1 and order_id = $2 and version = $9",
        )
        .bind(tenant.as_str())
        .bind(next.id.as_str())
        .bind(next.status.as_str())
        .bind(next.assigned_to.as_ref().map(|u| u.as_str().to_owned()))
        .bind(rows::boxes_column(next))
        .bind(next.shipment_id.as_ref().map(|s| s.as_str().to_owned()))
        .bind(next.cancel_reason.clone())
        .bind(ms(now))
        .bind(before.version)
        .bind(next.labeling.as_ref().map(|s| s.as_str().to_owned()))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if updated.rows_affected() != 1 {
            tx.rollback().await.map_err(db)?;
            return Err(StoreError::Conflict(format!("order {}", next.id)));
        }
        for (old, new) in before.state.lines.iter().zip(&next.lines) {
            if old.picked != new.picked {
                sqlx::query("update order_line set picked = $4 where tenant_id = $1 and order_id = $2 and line_no = $3")
                    .bind(tenant.as_str())
                    .bind(next.id.as_str())
                    .bind(i64::from(new.line_no))
                    .bind(i64::from(new.picked))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
        let version = before.version + 1;
        Self::insert_event(
            &mut tx,
            tenant,
            &next.id,
            version,
            t.event_kind,
            &t.payload,
            actor,
            now,
        )
        .await?;
        if !stock.is_empty() {
            let shipment = next
                .shipment_id
                .as_ref()
                .or(before.state.shipment_id.as_ref());
            let first = Self::next_stock_seqs(&mut tx, tenant, stock.len() as i64).await?;
            for (i, m) in stock.iter().enumerate() {
                let change = StockChange::Adjust {
                    sku: m.sku.clone(),
                    location: m.location.clone(),
                    delta: m.delta,
                };
                Self::apply_stock(
                    &mut tx,
                    tenant,
                    first + i as i64,
                    &change,
                    t.event_kind,
                    Some(&next.id),
                    shipment,
                    actor,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(Order {
            state: next.clone(),
            version,
            updated_at: now,
            ..before.clone()
        })
    }

    /// Claims the oldest pending order in the database: the order with its stock flags.
    pub(super) async fn claim_in_db(
        &self,
        tenant: &TenantId,
        user: &UserId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<OrderToWork>> {
        let claim = Claim {
            tenant: tenant.as_str().to_owned(),
            user: user.as_str().to_owned(),
            by: actor.user_id.as_ref().map(|u| u.as_str().to_owned()),
            station: actor.station_id.clone(),
            at: ms(now),
        };
        if let Some(w) = &self.sqlite_work {
            return w
                .write(move |c| crate::fast::sqlite_work::claim(c, &claim))
                .await;
        }
        if let Some((claimer, _)) = &self.pg_claim {
            return claimer.claim(claim).await;
        }
        self.claim_in_transaction(&claim).await
    }

    /// The plain path's claim: the oldest claimable order, its `assigned` event, then the
    /// order read back, in one transaction. PostgreSQL skips orders another claim has locked
    /// (otherwise a claim that lost the race for the oldest order would find none); SQLite's
    /// gate has one claim at a time.
    async fn claim_in_transaction(&self, cl: &Claim) -> StoreResult<Option<OrderToWork>> {
        let skip_locked = match self.backend {
            Backend::Postgres => " for update skip locked",
            Backend::Sqlite => "",
        };
        let w = self.write(Touches::OneTransition).await;
        let mut tx = w.begin().await?;
        let claimed = sqlx::query(&format!(
            "update sales_order set status = 'processing', assigned_to = $2, version = version + 1, updated_at = $3
             where tenant_id = $1 and status = 'pending' and hold_reason is null and order_id = (
                select order_id from sales_order where tenant_id = $1 and status = 'pending'
                and hold_reason is null order by created_at, order_id limit 1{skip_locked})
             returning order_id, version"
        ))
        .bind(cl.tenant.as_str())
        .bind(cl.user.as_str())
        .bind(cl.at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(claimed) = claimed else {
            tx.rollback().await.map_err(db)?;
            return Ok(None);
        };
        let (id, version) = (text(&claimed, "order_id")?, int(&claimed, "version")?);
        sqlx::query(
            "insert into order_event (tenant_id, order_id, seq, kind, user_id, station_id, payload, created_at)
             values ($1, $2, $3, 'assigned', $4, $5, $6, $7)",
        )
        .bind(cl.tenant.as_str())
        .bind(id.as_str())
        .bind(version)
        .bind(cl.by.clone())
        .bind(cl.station.clone())
        .bind(serde_json::json!({"user_id": cl.user, "auto": true}).to_string())
        .bind(cl.at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let mut order = rows::OrderRows::default();
        for r in &sqlx::query(&rows::ORDER_TO_WORK)
            .bind(cl.tenant.as_str())
            .bind(id.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
        {
            order.add(r, true)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(order.into_work())
    }

    /// Takes `n` stock event numbers for the tenant (locks the tenant's counter row).
    pub(super) async fn next_stock_seqs(
        tx: &mut Transaction<'_, Any>,
        tenant: &TenantId,
        n: i64,
    ) -> StoreResult<i64> {
        let row = sqlx::query(
            "update tenant set stock_seq = stock_seq + $2 where tenant_id = $1 returning stock_seq",
        )
        .bind(tenant.as_str())
        .bind(n)
        .fetch_one(&mut **tx)
        .await
        .map_err(db)?;
        Ok(int(&row, "stock_seq")? - n + 1)
    }

    /// Applies one stock change inside a transaction and records it.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn apply_stock(
        tx: &mut Transaction<'_, Any>,
        tenant: &TenantId,
        seq: i64,
        change: &StockChange,
        cause: &str,
        order: Option<&OrderId>,
        shipment: Option<&ShipmentId>,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<(String, Location, i64, i64)> {
        let (sku, location, set, delta) = match change {
            StockChange::Set {
                sku,
                location,
                on_hand,
            } => (sku, location, Some(*on_hand), 0),
            StockChange::Adjust {
                sku,
                location,
                delta,
            } => (sku, location, None, *delta),
        };
        let previous: i64 = sqlx::query(
            "select on_hand from stock where tenant_id = $1 and sku_key = $2 and location = $3",
        )
        .bind(tenant.as_str())
        .bind(sku.key())
        .bind(location.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(db)?
        .map(|r| int(&r, "on_hand"))
        .transpose()?
        .unwrap_or(0);
        let on_hand = set.unwrap_or(previous + delta);
        let delta = on_hand - previous;
        sqlx::query(
            "insert into stock (tenant_id, sku_key, sku, location, on_hand, updated_at) values ($1, $2, $3, $4, $5, $6)
             on conflict (tenant_id, sku_key, location) do update set on_hand = excluded.on_hand, updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(sku.key())
        .bind(sku.as_str())
        .bind(location.as_str())
        .bind(on_hand)
        .bind(ms(now))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
        sqlx::query(
            "insert into stock_event (tenant_id, seq, sku, location, delta, on_hand, cause, order_id, shipment_id, user_id, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(tenant.as_str())
        .bind(seq)
        .bind(sku.as_str())
        .bind(location.as_str())
        .bind(delta)
        .bind(on_hand)
        .bind(cause)
        .bind(order.map(|o| o.as_str().to_owned()))
        .bind(shipment.map(|s| s.as_str().to_owned()))
        .bind(actor.user_id.as_ref().map(|u| u.as_str().to_owned()))
        .bind(ms(now))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
        Ok((sku.as_str().to_owned(), location.clone(), on_hand, delta))
    }

    /// An order's lines, numbered from 1, nothing picked.
    pub(super) async fn insert_lines(
        tx: &mut Transaction<'_, Any>,
        tenant: &TenantId,
        order: &OrderId,
        lines: &[packbench_core::model::NewOrderLine],
    ) -> StoreResult<()> {
        for (i, line) in lines.iter().enumerate() {
            sqlx::query(
                "insert into order_line (tenant_id, order_id, line_no, sku, sku_key, barcode, title, quantity, picked)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
            )
            .bind(tenant.as_str())
            .bind(order.as_str())
            .bind(i as i64 + 1)
            .bind(line.sku.as_str())
            .bind(line.sku.key())
            .bind(line.barcode.as_ref().map(|b| b.as_str().to_owned()))
            .bind(line.title.as_str())
            .bind(i64::from(line.quantity))
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn insert_event(
        tx: &mut Transaction<'_, Any>,
        tenant: &TenantId,
        order: &OrderId,
        seq: i64,
        kind: &str,
        payload: &serde_json::Value,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "insert into order_event (tenant_id, order_id, seq, kind, user_id, station_id, payload, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant.as_str())
        .bind(order.as_str())
        .bind(seq)
        .bind(kind)
        .bind(actor.user_id.as_ref().map(|u| u.as_str().to_owned()))
        .bind(actor.station_id.clone())
        .bind(payload.to_string())
        .bind(ms(now))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
        Ok(())
    }

    /// Units still needed by open orders, per SKU key.
    pub(super) async fn demand(
        &self,
        tenant: &TenantId,
        sku: Option<&Sku>,
    ) -> StoreResult<HashMap<String, i64>> {
        let mut args = Args::default();
        let t = args.text(tenant.as_str());
        let mut sql = format!(
            "select l.sku_key, cast(sum(l.quantity) as bigint) as units from order_line l
             join sales_order o on o.tenant_id = l.tenant_id and o.order_id = l.order_id
             where l.tenant_id = {t} and o.status in ('pending', 'processing', 'picked', 'packed')"
        );
        if let Some(s) = sku {
            sql.push_str(&format!(" and l.sku_key = {}", args.text(s.key())));
        }
        sql.push_str(" group by l.sku_key");
        let rows = args.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        rows.iter()
            .map(|r| Ok((text(r, "sku_key")?, int(r, "units")?)))
            .collect()
    }
}

/// Splits what open orders need of a SKU over its locations in natural order.
pub(super) fn allocate(
    mut levels: Vec<(String, String, Location, i64)>,
    demand: &HashMap<String, i64>,
) -> Vec<StockLevel> {
    use packbench_core::domain::natural_cmp;
    levels.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| natural_cmp(a.2.as_str(), b.2.as_str()))
    });
    let mut left: HashMap<&str, i64> = HashMap::new();
    let mut out = Vec::with_capacity(levels.len());
    let count = levels.len();
    for (i, (key, sku, location, on_hand)) in levels.iter().enumerate() {
        let need = left
            .entry(key)
            .or_insert_with(|| demand.get(key).copied().unwrap_or(0));
        let last_of_sku = i + 1 == count || levels[i + 1].0 != *key;
        let take = if last_of_sku {
            *need
        } else {
            (*need).min((*on_hand).max(0))
        };
        *need -= take;
        out.push(StockLevel {
            sku: sku.clone(),
            location: location.clone(),
            on_hand: *on_hand,
            allocated: take,
            available: on_hand - take,
        });
    }
    out
}
