//! Shipments, their label files and their tracking events.

use async_trait::async_trait;
use packbench_core::domain::{ShipmentId, TenantId};
use packbench_core::model::{DayLabel, LabelFormat, Page, Shipment, ShipmentFilter, Timestamp};
use packbench_core::ports::ShipmentStore;
use packbench_core::ports::{StoreError, StoreResult, TrackingEvent, TrackingKind};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::rows::{self, db, int, ms, opt_text, text, to_json};

use super::{Args, SHIPMENT_READ, SqlStore, Touches};

impl SqlStore {
    /// Fills in each shipment's boxes after the first, in one query for all of them.
    async fn with_packages(
        &self,
        tenant: &TenantId,
        shipments: &mut [Shipment],
    ) -> StoreResult<()> {
        if shipments.is_empty() {
            return Ok(());
        }
        let mut a = Args::default();
        let t = a.text(tenant.as_str());
        let ids: Vec<String> = shipments.iter().map(|s| a.text(s.id.as_str())).collect();
        let sql = format!(
            "select shipment_id, seq, package, tracking_number, boxed_at from shipment_package
             where tenant_id = {t} and shipment_id in ({}) order by shipment_id, seq",
            ids.join(", ")
        );
        let fetched: Vec<AnyRow> = a.query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        for r in &fetched {
            let id = text(r, "shipment_id")?;
            if let Some(s) = shipments.iter_mut().find(|s| s.id.as_str() == id) {
                s.more_packages.push(rows::shipment_package(r)?);
            }
        }
        Ok(())
    }
}

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
        let mut tx = w.begin().await?;
        for (seq, p) in (2i64..).zip(&s.more_packages) {
            sqlx::query(
                "update shipment_package set tracking_number = $4, package = $5
                 where tenant_id = $1 and shipment_id = $2 and seq = $3",
            )
            .bind(tenant.as_str())
            .bind(s.id.as_str())
            .bind(seq)
            .bind(p.tracking_number.as_ref().map(|t| t.as_str().to_owned()))
            .bind(to_json(&p.package))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
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
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("shipment"));
        }
        tx.commit().await.map_err(db)
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
        let Some(row) = row else {
            return Ok(None);
        };
        let mut one = [rows::shipment(&row)?];
        self.with_packages(tenant, &mut one).await?;
        let [s] = one;
        Ok(Some(s))
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
            self.with_packages(tenant, &mut items).await?;
            items
                .last()
                .map(|s| (s.created_at, s.id.as_str().to_owned()))
        } else {
            self.with_packages(tenant, &mut items).await?;
            None
        };
        Ok(Page { items, next })
    }

    async fn put_label(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        package: u32,
        format: LabelFormat,
        bytes: &[u8],
    ) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        if package <= 1 {
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
            return Ok(());
        }
        sqlx::query(
            "insert into package_label (tenant_id, shipment_id, seq, format, content) values ($1, $2, $3, $4, $5)
             on conflict (tenant_id, shipment_id, seq, format) do update set content = excluded.content",
        )
        .bind(tenant.as_str())
        .bind(shipment.as_str())
        .bind(i64::from(package))
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
        package: u32,
        format: LabelFormat,
    ) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query(
            "select content from label where tenant_id = $1 and shipment_id = $2 and format = $3 and $4 <= 1
             union all
             select content from package_label where tenant_id = $1 and shipment_id = $2 and format = $3 and seq = $4",
        )
        .bind(tenant.as_str())
        .bind(shipment.as_str())
        .bind(format.as_str())
        .bind(i64::from(package))
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
    ) -> StoreResult<Option<(Shipment, u32)>> {
        let found = sqlx::query(
            "select shipment_id, cast(1 as bigint) as seq, created_at from shipment where tenant_id = $1 and tracking_number = $2
             union all
             select p.shipment_id, p.seq, s.created_at from shipment_package p
               join shipment s on s.tenant_id = p.tenant_id and s.shipment_id = p.shipment_id
              where p.tenant_id = $1 and p.tracking_number = $2
             order by created_at desc limit 1",
        )
        .bind(tenant.as_str())
        .bind(tracking)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(row) = found else {
            return Ok(None);
        };
        let id = rows::parsed(ShipmentId::parse(&text(&row, "shipment_id")?))?;
        let seq = u32::try_from(int(&row, "seq")?).map_err(|e| rows::corrupt(e.to_string()))?;
        Ok(self.shipment(tenant, &id).await?.map(|s| (s, seq)))
    }

    async fn mark_boxed(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        package: u32,
        now: Timestamp,
    ) -> StoreResult<Shipment> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let sql = if package <= 1 {
            "update shipment set boxed_at = coalesce(boxed_at, $3) where tenant_id = $1 and shipment_id = $2 and $4 <= 1"
        } else {
            "update shipment_package set boxed_at = coalesce(boxed_at, $3) where tenant_id = $1 and shipment_id = $2 and seq = $4"
        };
        sqlx::query(sql)
            .bind(tenant.as_str())
            .bind(shipment.as_str())
            .bind(ms(now))
            .bind(i64::from(package))
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
        let mut shipments = fetched
            .iter()
            .map(rows::shipment)
            .collect::<StoreResult<Vec<_>>>()?;
        self.with_packages(tenant, &mut shipments).await?;
        shipments
            .into_iter()
            .zip(&fetched)
            .map(|(shipment, r)| {
                Ok(DayLabel {
                    shipment,
                    order_name: opt_text(r, "order_name")?,
                })
            })
            .collect()
    }
}
