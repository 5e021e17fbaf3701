//! Shipments, their label files and their tracking events.

use async_trait::async_trait;
use packbench_core::domain::{ShipmentId, TenantId};
use packbench_core::model::{DayLabel, LabelFormat, Page, Shipment, ShipmentFilter, Timestamp};
use packbench_core::ports::ShipmentStore;
use packbench_core::ports::{StoreError, StoreResult, TrackingEvent, TrackingKind};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::rows::{self, db, ms, opt_text, text, to_json};

use super::{Args, SHIPMENT_READ, SqlStore, Touches};

#[async_trait]
impl ShipmentStore for SqlStore {
    async fn insert_shipment(&self, tenant: &TenantId, s: &Shipment) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let mut tx = w.begin().await?;
        Self::insert_shipment_in(&mut tx, tenant, s).await?;
        tx.commit().await.map_err(db)
    }

    async fn update_shipment(&self, tenant: &TenantId, s: &Shipment) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let r = sqlx::query(
            "update shipment set status = $3, tracking_number = $4, estimated_delivery = $5, package = $6, updated_at = $7
             where tenant_id = $1 and shipment_id = $2",
        )
        .bind(tenant.as_str())
        .bind(s.id.as_str())
        .bind(s.status.as_str())
        .bind(s.tracking_number.as_ref().map(|t| t.as_str().to_owned()))
        .bind(s.estimated_delivery.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(to_json(&s.package))
        .bind(ms(s.updated_at))
        .execute(w.pool())
        .await
        .map_err(db)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("shipment"));
        }
        Ok(())
    }

    async fn shipment(&self, tenant: &TenantId, id: &ShipmentId) -> StoreResult<Option<Shipment>> {
        let row = sqlx::query(&format!(
            "select {SHIPMENT_READ} from shipment where tenant_id = $1 and shipment_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| rows::shipment(&r)).transpose()
    }

    async fn shipments(
        &self,
        tenant: &TenantId,
        f: &ShipmentFilter,
    ) -> StoreResult<Page<Shipment>> {
        let mut a = Args::default();
        let mut sql = format!(
            "select {SHIPMENT_READ} from shipment where tenant_id = {}",
            a.text(tenant.as_str())
        );
        if let Some(o) = &f.order_id {
            sql += &format!(" and order_id = {}", a.text(o.as_str()));
        }
        if let Some(s) = f.status {
            sql += &format!(" and status = {}", a.text(s.as_str()));
        }
        match f.boxed {
            Some(false) => {
                sql += " and boxed_at is null and status in ('created', 'delivered')";
            }
            Some(true) => sql += " and boxed_at is not null",
            None => {}
        }
        if let Some(t) = f.since {
            sql += &format!(" and updated_at >= {}", a.int(ms(t)));
        }
        if let Some((t, id)) = &f.after {
            let (pt, pt2, pi) = (a.int(ms(*t)), a.int(ms(*t)), a.text(id.as_str()));
            sql +=
                &format!(" and (created_at > {pt} or (created_at = {pt2} and shipment_id > {pi}))");
        }
        let limit = f.limit.clamp(1, 500);
        sql += &format!(
            " order by created_at, shipment_id limit {}",
            a.int(i64::from(limit) + 1)
        );
        let fetched: Vec<AnyRow> = a.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        let mut items: Vec<Shipment> = fetched
            .iter()
            .map(rows::shipment)
            .collect::<StoreResult<_>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|s| (s.created_at, s.id.as_str().to_owned()))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn put_label(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        format: LabelFormat,
        bytes: &[u8],
    ) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query(
            "insert into label (tenant_id, shipment_id, format, content) values ($1, $2, $3, $4)
             on conflict (tenant_id, shipment_id, format) do update set content = excluded.content",
        )
        .bind(tenant.as_str())
        .bind(shipment.as_str())
        .bind(format.as_str())
        .bind(bytes.to_vec())
        .execute(w.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn label(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        format: LabelFormat,
    ) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query(
            "select content from label where tenant_id = $1 and shipment_id = $2 and format = $3",
        )
        .bind(tenant.as_str())
        .bind(shipment.as_str())
        .bind(format.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| r.try_get::<Vec<u8>, _>("content").map_err(db))
            .transpose()
    }

    async fn put_tracking_events(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        events: &[TrackingEvent],
    ) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let mut tx = w.begin().await?;
        sqlx::query("delete from tracking_event where tenant_id = $1 and shipment_id = $2")
            .bind(tenant.as_str())
            .bind(shipment.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        for (seq, e) in events.iter().enumerate() {
            sqlx::query(
                "insert into tracking_event
                 (tenant_id, shipment_id, seq, at, kind, code, description, location)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(tenant.as_str())
            .bind(shipment.as_str())
            .bind(seq as i64)
            .bind(ms(e.at))
            .bind(e.kind.as_str())
            .bind(e.code.as_str())
            .bind(e.description.as_str())
            .bind(e.location.clone())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn tracking_events(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
    ) -> StoreResult<Vec<TrackingEvent>> {
        let rows = sqlx::query(
            "select at, kind, code, description, location from tracking_event
             where tenant_id = $1 and shipment_id = $2 order by seq",
        )
        .bind(tenant.as_str())
        .bind(shipment.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(TrackingEvent {
                    at: rows::time(r, "at")?,
                    kind: TrackingKind::parse(&text(r, "kind")?),
                    code: text(r, "code")?,
                    description: text(r, "description")?,
                    location: opt_text(r, "location")?,
                })
            })
            .collect()
    }

    async fn shipment_by_tracking(
        &self,
        tenant: &TenantId,
        tracking: &str,
    ) -> StoreResult<Option<Shipment>> {
        let row = sqlx::query(&format!(
            "select {SHIPMENT_READ} from shipment where tenant_id = $1 and tracking_number = $2
             order by created_at desc limit 1"
        ))
        .bind(tenant.as_str())
        .bind(tracking)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| rows::shipment(&r)).transpose()
    }

    async fn mark_boxed(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        now: Timestamp,
    ) -> StoreResult<Shipment> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query(
            "update shipment set boxed_at = coalesce(boxed_at, $3) where tenant_id = $1 and shipment_id = $2",
        )
        .bind(tenant.as_str())
        .bind(shipment.as_str())
        .bind(ms(now))
        .execute(w.pool())
        .await
        .map_err(db)?;
        drop(w);
        self.shipment(tenant, shipment)
            .await?
            .ok_or(StoreError::NotFound("shipment"))
    }

    async fn labels_between(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<DayLabel>> {
        let columns: Vec<String> = SHIPMENT_READ
            .split(", ")
            .map(|c| format!("s.{c}"))
            .collect();
        let mut a = Args::default();
        let t = a.text(tenant.as_str());
        let (bought_from, bought_to) = (a.int(ms(from)), a.int(ms(to)));
        let (voided_from, voided_to) = (a.int(ms(from)), a.int(ms(to)));
        let sql = format!(
            "select {}, o.name as order_name from shipment s
             left join sales_order o on o.tenant_id = s.tenant_id and o.order_id = s.order_id
             where s.tenant_id = {t}
               and ((s.created_at >= {bought_from} and s.created_at < {bought_to}
                     and s.status in ('created', 'delivered', 'voided'))
                 or (s.status = 'voided' and s.updated_at >= {voided_from} and s.updated_at < {voided_to}))
             order by s.created_at, s.shipment_id",
            columns.join(", ")
        );
        let fetched: Vec<AnyRow> = a.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        fetched
            .iter()
            .map(|r| {
                Ok(DayLabel {
                    shipment: rows::shipment(r)?,
                    order_name: opt_text(r, "order_name")?,
                })
            })
            .collect()
    }
}
