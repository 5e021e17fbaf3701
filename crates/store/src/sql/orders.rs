//! Orders: imports (multi-row inserts), lists, transitions with their version check, label
//! reservations, claims, reviews, clearing.

use std::collections::HashMap;

use async_trait::async_trait;
use packbench_core::domain::{OrderId, TenantId, UserId};
use packbench_core::model::{
    Actor, NewOrder, Order, OrderEvent, OrderFilter, OrderSummary, Page, Shipment, StockMove,
    Timestamp,
};
use packbench_core::ports::OrderStore;
use packbench_core::ports::{OrderToWork, StoreError, StoreResult};
use packbench_core::workflow::{OrderStatus, Transition};

use crate::rows::{self, db, int, ms, opt_text, text, to_json};

use crate::rows::{ORDER_BY_ID, ORDER_TO_WORK};

use super::{AlsoWritten, Args, SqlStore, Touches};

#[async_trait]
impl OrderStore for SqlStore {
    async fn insert_order(
        &self,
        tenant: &TenantId,
        order: &NewOrder,
        now: Timestamp,
    ) -> StoreResult<Order> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let id = OrderId::generate();
        let mut tx = w.begin().await?;
        sqlx::query(
            "insert into sales_order (tenant_id, order_id, name, external_id, status, version, customer_name, ship_to, created_at, updated_at, hold_reason, shop_order_id)
             values ($1, $2, $3, $4, 'pending', 1, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(order.name.as_str())
        .bind(order.external_id.clone())
        .bind(order.customer_name.clone())
        .bind(order.ship_to.as_ref().map(to_json))
        .bind(ms(order.created_at))
        .bind(ms(now))
        .bind(order.hold.clone())
        .bind(order.shop_order_id.clone())
        .execute(&mut *tx)
        .await
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("order {} already imported", order.name)),
            other => other,
        })?;
        Self::insert_lines(&mut tx, tenant, &id, &order.lines).await?;
        let payload = serde_json::json!({"name": order.name, "external_id": order.external_id, "lines": order.lines.len()});
        Self::insert_event(
            &mut tx,
            tenant,
            &id,
            1,
            "imported",
            &payload,
            &Actor::system(),
            now,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        self.order(tenant, &id)
            .await?
            .ok_or(StoreError::NotFound("order"))
    }

    async fn import_orders(
        &self,
        tenant: &TenantId,
        orders: &[NewOrder],
        now: Timestamp,
    ) -> StoreResult<Vec<Option<OrderId>>> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let mut tx = w.begin().await?;
        let ids: Vec<OrderId> = orders.iter().map(|_| OrderId::generate()).collect();
        let mut inserted = std::collections::HashSet::new();
        for (chunk_ids, chunk) in ids.chunks(200).zip(orders.chunks(200)) {
            let mut a = Args::bulk(self.backend);
            let values: Vec<String> = chunk_ids
                .iter()
                .zip(chunk)
                .map(|(id, o)| {
                    format!(
                        "({}, {}, {}, {}, 'pending', 1, {}, {}, {}, {}, {}, {})",
                        a.text(tenant.as_str()),
                        a.text(id.as_str()),
                        a.text(o.name.as_str()),
                        a.opt_text(o.external_id.clone()),
                        a.opt_text(o.customer_name.clone()),
                        a.opt_text(o.ship_to.as_ref().map(to_json)),
                        a.int(ms(o.created_at)),
                        a.int(ms(now)),
                        a.opt_text(o.hold.clone()),
                        a.opt_text(o.shop_order_id.clone()),
                    )
                })
                .collect();
            // Orders already here (same external id or name) are skipped; the ids returned are
            // the ones created.
            let sql = format!(
                "insert into sales_order (tenant_id, order_id, name, external_id, status, version, customer_name, ship_to, created_at, updated_at, hold_reason, shop_order_id)
                 values {} on conflict do nothing returning order_id",
                values.join(", ")
            );
            for row in a.query(&sql).fetch_all(&mut *tx).await.map_err(db)? {
                inserted.insert(text(&row, "order_id")?);
            }
        }
        let created: Vec<Option<OrderId>> = ids
            .into_iter()
            .map(|id| inserted.contains(id.as_str()).then_some(id))
            .collect();
        // Orders already here follow the shop's hold: held ones get it, released ones lose it.
        for (hold, chunk) in [(true, orders), (false, orders)] {
            let ext: Vec<&str> = chunk
                .iter()
                .zip(&created)
                .filter(|(o, c)| c.is_none() && o.hold.is_some() == hold)
                .filter_map(|(o, _)| o.external_id.as_deref())
                .collect();
            for part in ext.chunks(400) {
                let mut a = Args::bulk(self.backend);
                let reason = a.opt_text(hold.then(|| "on hold in Shopify".to_string()));
                let t = a.text(tenant.as_str());
                let list: Vec<String> = part.iter().map(|e| a.text(*e)).collect();
                let sql = format!(
                    "update sales_order set hold_reason = {reason} where tenant_id = {t} and external_id in ({})",
                    list.join(", ")
                );
                a.query(&sql).execute(&mut *tx).await.map_err(db)?;
            }
        }
        // Lines and events of the new orders, many rows per statement.
        let new: Vec<(&OrderId, &NewOrder)> = created
            .iter()
            .zip(orders)
            .filter_map(|(id, o)| id.as_ref().map(|id| (id, o)))
            .collect();
        let lines: Vec<(&OrderId, usize, &packbench_core::model::NewOrderLine)> = new
            .iter()
            .flat_map(|(id, o)| o.lines.iter().enumerate().map(move |(i, l)| (*id, i, l)))
            .collect();
        for chunk in lines.chunks(400) {
            let mut a = Args::bulk(self.backend);
            let values: Vec<String> = chunk
                .iter()
                .map(|(id, i, l)| {
                    format!(
                        "({}, {}, {}, {}, {}, {}, {}, {}, 0)",
                        a.text(tenant.as_str()),
                        a.text(id.as_str()),
                        a.int(*i as i64 + 1),
                        a.text(l.sku.as_str()),
                        a.text(l.sku.key()),
                        a.opt_text(l.barcode.as_ref().map(|b| b.as_str().to_owned())),
                        a.text(l.title.as_str()),
                        a.int(i64::from(l.quantity)),
                    )
                })
                .collect();
            let sql = format!(
                "insert into order_line (tenant_id, order_id, line_no, sku, sku_key, barcode, title, quantity, picked) values {}",
                values.join(", ")
            );
            a.query(&sql).execute(&mut *tx).await.map_err(db)?;
        }
        for chunk in new.chunks(400) {
            let mut a = Args::bulk(self.backend);
            let values: Vec<String> = chunk
                .iter()
                .map(|(id, o)| {
                    let payload = serde_json::json!({"name": o.name, "external_id": o.external_id, "lines": o.lines.len()});
                    format!(
                        "({}, {}, 1, 'imported', null, null, {}, {})",
                        a.text(tenant.as_str()),
                        a.text(id.as_str()),
                        a.text(payload.to_string()),
                        a.int(ms(now)),
                    )
                })
                .collect();
            let sql = format!(
                "insert into order_event (tenant_id, order_id, seq, kind, user_id, station_id, payload, created_at) values {}",
                values.join(", ")
            );
            a.query(&sql).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(created)
    }

    async fn order(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Option<Order>> {
        Ok(self
            .order_rows(&ORDER_BY_ID, false, tenant, id)
            .await?
            .into_order())
    }

    async fn order_to_work(
        &self,
        tenant: &TenantId,
        id: &OrderId,
    ) -> StoreResult<Option<OrderToWork>> {
        let Some(working) = &self.working else {
            return Ok(self
                .order_rows(&ORDER_TO_WORK, true, tenant, id)
                .await?
                .into_work());
        };
        if let Some(kept) = working.get(tenant.as_str(), id.as_str()) {
            return Ok(Some(kept));
        }
        let since = working.generation();
        let read = self
            .order_rows(&ORDER_TO_WORK, true, tenant, id)
            .await?
            .into_work();
        if let Some(w) = &read {
            working.read(tenant.as_str(), since, w);
        }
        Ok(read)
    }

    async fn replace_order_lines(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        lines: &[packbench_core::model::NewOrderLine],
        now: Timestamp,
    ) -> StoreResult<()> {
        let w = self.write(Touches::OrdersOrStock).await;
        let mut tx = w.begin().await?;
        let row = sqlx::query(
            "update sales_order set version = version + 1, updated_at = $3
             where tenant_id = $1 and order_id = $2 returning version",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound("order"))?;
        let version = int(&row, "version")?;
        sqlx::query("delete from order_line where tenant_id = $1 and order_id = $2")
            .bind(tenant.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Self::insert_lines(&mut tx, tenant, id, lines).await?;
        let payload = serde_json::json!({"lines": lines.len()});
        Self::insert_event(
            &mut tx,
            tenant,
            id,
            version,
            "edited_in_shop",
            &payload,
            &Actor::system(),
            now,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn set_order_review(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        reason: Option<&str>,
    ) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query(
            "update sales_order set review_reason = $3 where tenant_id = $1 and order_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(reason.map(str::to_owned))
        .execute(w.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn order_review(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Option<String>> {
        self.order_reason(tenant, id, "select review_reason as reason from sales_order where tenant_id = $1 and order_id = $2").await
    }

    async fn clear_order_review(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let w = self.write(Touches::OrdersOrStock).await;
        let mut tx = w.begin().await?;
        let row = sqlx::query(
            "update sales_order set review_reason = null, version = version + 1, updated_at = $3
             where tenant_id = $1 and order_id = $2 and review_reason is not null returning version",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(db)?;
            // No flag to clear, or no such order.
            return match self.order(tenant, id).await? {
                Some(_) => Ok(false),
                None => Err(StoreError::NotFound("order")),
            };
        };
        let version = int(&row, "version")?;
        Self::insert_event(
            &mut tx,
            tenant,
            id,
            version,
            "review_cleared",
            &serde_json::json!({}),
            actor,
            now,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn order_hold(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Option<String>> {
        self.order_reason(
            tenant,
            id,
            "select hold_reason as reason from sales_order where tenant_id = $1 and order_id = $2",
        )
        .await
    }

    async fn order_by_external_id(
        &self,
        tenant: &TenantId,
        external_id: &str,
    ) -> StoreResult<Option<OrderId>> {
        let row = sqlx::query(
            "select order_id from sales_order where tenant_id = $1 and external_id = $2",
        )
        .bind(tenant.as_str())
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            OrderId::parse(&text(&r, "order_id")?).map_err(|e| rows::corrupt(e.to_string()))
        })
        .transpose()
    }

    async fn orders(&self, tenant: &TenantId, f: &OrderFilter) -> StoreResult<Page<OrderSummary>> {
        let mut a = Args::default();
        let mut sql = format!(
            "select order_id, name, status, customer_name, assigned_to, created_at, updated_at from sales_order o where tenant_id = {}",
            a.text(tenant.as_str())
        );
        if let Some(s) = f.status {
            sql += &format!(" and status = {}", a.text(s.as_str()));
        }
        if let Some(q) = &f.q {
            let like = format!(
                "%{}%",
                q.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let p = a.text(like);
            sql += &format!(
                " and (lower(name) like {p} escape '\\' or lower(coalesce(customer_name, '')) like {p} escape '\\' or lower(order_id) like {p} escape '\\')"
            );
        }
        if let Some(sku) = &f.sku {
            sql += &format!(
                " and exists (select 1 from order_line l where l.tenant_id = o.tenant_id and l.order_id = o.order_id and l.sku_key = {})",
                a.text(sku.key())
            );
        }
        if let Some(u) = &f.assigned_to {
            sql += &format!(" and assigned_to = {}", a.text(u.as_str()));
        }
        if let Some(t) = f.created_from {
            sql += &format!(" and created_at >= {}", a.int(ms(t)));
        }
        if let Some(t) = f.created_to {
            sql += &format!(" and created_at < {}", a.int(ms(t)));
        }
        if let Some((t, id)) = &f.after {
            let (pt, pt2, pi) = (a.int(ms(*t)), a.int(ms(*t)), a.text(id.as_str()));
            sql += &format!(" and (created_at > {pt} or (created_at = {pt2} and order_id > {pi}))");
        }
        let limit = f.limit.clamp(1, 500);
        sql += &format!(
            " order by created_at, order_id limit {}",
            a.int(i64::from(limit) + 1)
        );
        let fetched = a.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        let mut items: Vec<OrderSummary> = fetched
            .iter()
            .map(rows::order_summary)
            .collect::<StoreResult<_>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|o| (o.created_at, o.id.as_str().to_owned()))
        } else {
            None
        };
        if !items.is_empty() {
            let mut a = Args::default();
            let t = a.text(tenant.as_str());
            let ids: Vec<String> = items.iter().map(|o| a.text(o.id.as_str())).collect();
            let sql = format!(
                "select order_id, cast(count(*) as bigint) as lines, cast(sum(quantity) as bigint) as units, cast(sum(picked) as bigint) as picked
                 from order_line where tenant_id = {t} and order_id in ({}) group by order_id",
                ids.join(", ")
            );
            let counts = a.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
            let mut by_id: HashMap<String, (i64, i64, i64)> = HashMap::new();
            for r in &counts {
                by_id.insert(
                    text(r, "order_id")?,
                    (int(r, "lines")?, int(r, "units")?, int(r, "picked")?),
                );
            }
            for o in &mut items {
                if let Some((l, u, p)) = by_id.get(o.id.as_str()) {
                    o.line_count = *l as u32;
                    o.units = *u as u32;
                    o.picked_units = *p as u32;
                }
            }
        }
        Ok(Page { items, next })
    }

    async fn status_counts(&self, tenant: &TenantId) -> StoreResult<Vec<(OrderStatus, i64)>> {
        let rows = sqlx::query("select status, cast(count(*) as bigint) as n from sales_order where tenant_id = $1 group by status")
            .bind(tenant.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| Ok((rows::status(&text(r, "status")?)?, int(r, "n")?)))
            .collect()
    }

    async fn order_events(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Vec<OrderEvent>> {
        let rows = sqlx::query(
            "select seq, kind, user_id, station_id, payload, created_at from order_event where tenant_id = $1 and order_id = $2 order by seq",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(rows::order_event).collect()
    }

    async fn save_transition(
        &self,
        tenant: &TenantId,
        before: &Order,
        t: &Transition,
        stock: &[StockMove],
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Order> {
        let saved = self
            .save_transition_to_db(
                tenant,
                before,
                t,
                AlsoWritten {
                    stock,
                    shipment: None,
                },
                actor,
                now,
            )
            .await;
        self.after_save(tenant, before, &saved);
        saved
    }

    async fn reserve_label(
        &self,
        tenant: &TenantId,
        before: &Order,
        t: &Transition,
        shipment: &Shipment,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Order> {
        let saved = self
            .save_transition_to_db(
                tenant,
                before,
                t,
                AlsoWritten {
                    stock: &[],
                    shipment: Some(shipment),
                },
                actor,
                now,
            )
            .await;
        self.after_save(tenant, before, &saved);
        saved
    }

    async fn orders_labeling(&self, tenant: &TenantId) -> StoreResult<Vec<OrderId>> {
        let rows = sqlx::query(
            "select order_id from sales_order where tenant_id = $1 and labeling is not null order by updated_at, order_id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows::order_ids(&rows)
    }

    async fn claim_next(
        &self,
        tenant: &TenantId,
        user: &UserId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Order>> {
        let since = self.working.as_ref().map(|w| w.generation());
        let claimed = self.claim_in_db(tenant, user, actor, now).await?;
        if let Some(w) = &claimed {
            if let (Some(working), Some(since)) = (&self.working, since) {
                working.read(tenant.as_str(), since, w);
            }
            if let Some(floors) = &self.claim_floors {
                floors.claimed(tenant.as_str());
            }
        }
        Ok(claimed.map(|w| w.order))
    }

    async fn clear_orders(&self, tenant: &TenantId) -> StoreResult<u64> {
        let w = self.write(Touches::OrdersOrStock).await;
        let mut tx = w.begin().await?;
        // Deleted first and looked at after: a reservation that committed before the delete
        // reached its row is seen (PostgreSQL re-reads a row it waited for), one after it
        // finds no order to reserve.
        let deleted =
            sqlx::query("delete from sales_order where tenant_id = $1 returning labeling")
                .bind(tenant.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        let buying = deleted
            .iter()
            .filter(|r| opt_text(*r, "labeling").ok().flatten().is_some())
            .count();
        if buying > 0 {
            tx.rollback().await.map_err(db)?;
            return Err(StoreError::Conflict(format!(
                "labels are being bought for {buying} order(s); wait for them to finish"
            )));
        }
        let n = deleted.len() as u64;
        for table in [
            "order_line",
            "order_event",
            "label",
            "package_label",
            "shipment_package",
            "shipment",
            "tracking_event",
            "idempotency_key",
            "sync_state",
            "shop_push",
        ] {
            sqlx::query(&format!("delete from {table} where tenant_id = $1"))
                .bind(tenant.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(n)
    }
}
