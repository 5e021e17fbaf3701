//! The shop side: push state, the webhook inbox, the import watermark.

use async_trait::async_trait;
use packbench_core::domain::{OrderId, TenantId};
use packbench_core::model::Timestamp;
use packbench_core::ports::ShopSyncStore;
use packbench_core::ports::{PushState, PushStatus, StoreError, StoreResult};
use sqlx::Row;

use crate::rows::{self, db, ms, opt_text, text};

use super::{SqlStore, Touches};

#[async_trait]
impl ShopSyncStore for SqlStore {
    async fn set_push_state(
        &self,
        tenant: &TenantId,
        order: &OrderId,
        state: &PushState,
        now: Timestamp,
    ) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query(
            "insert into shop_push (tenant_id, order_id, state, reason, fulfillment_id, updated_at)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (tenant_id, order_id) do update set state = excluded.state,
               reason = excluded.reason, fulfillment_id = excluded.fulfillment_id,
               updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(order.as_str())
        .bind(state.state.as_str())
        .bind(state.reason.clone())
        .bind(state.fulfillment_id.clone())
        .bind(ms(now))
        .execute(w.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn push_state(
        &self,
        tenant: &TenantId,
        order: &OrderId,
    ) -> StoreResult<Option<PushState>> {
        let row = sqlx::query(
            "select state, reason, fulfillment_id from shop_push where tenant_id = $1 and order_id = $2",
        )
        .bind(tenant.as_str())
        .bind(order.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            let state = text(&r, "state")?;
            Ok(PushState {
                state: PushStatus::parse(&state).ok_or_else(|| {
                    StoreError::Backend(format!("unknown shop push state `{state}`").into())
                })?,
                reason: opt_text(&r, "reason")?,
                fulfillment_id: opt_text(&r, "fulfillment_id")?,
            })
        })
        .transpose()
    }

    async fn unsynced_shipped_orders(
        &self,
        tenant: &TenantId,
        limit: u32,
    ) -> StoreResult<Vec<OrderId>> {
        let rows = sqlx::query(
            "select o.order_id from sales_order o
             left join shop_push p on p.tenant_id = o.tenant_id and p.order_id = o.order_id
             where o.tenant_id = $1 and o.status in ('shipped', 'delivered')
               and o.external_id is not null and (p.state is null or p.state <> 'synced')
             order by o.updated_at, o.order_id limit $2",
        )
        .bind(tenant.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows::order_ids(&rows)
    }

    async fn inbox_put(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        topic: &str,
        body: &[u8],
        now: Timestamp,
    ) -> StoreResult<bool> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let done = sqlx::query(
            "insert into webhook_inbox (tenant_id, webhook_id, topic, body, received_at)
             values ($1, $2, $3, $4, $5) on conflict (tenant_id, webhook_id) do nothing",
        )
        .bind(tenant.as_str())
        .bind(webhook_id)
        .bind(topic)
        .bind(body.to_vec())
        .bind(ms(now))
        .execute(w.pool())
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn inbox_pending(
        &self,
        tenant: &TenantId,
        limit: u32,
    ) -> StoreResult<Vec<(String, String, Vec<u8>)>> {
        let rows = sqlx::query(
            "select webhook_id, topic, body from webhook_inbox
             where tenant_id = $1 and processed_at is null order by received_at, webhook_id limit $2",
        )
        .bind(tenant.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok((
                    text(r, "webhook_id")?,
                    text(r, "topic")?,
                    r.try_get::<Vec<u8>, _>("body").map_err(db)?,
                ))
            })
            .collect()
    }

    async fn inbox_done(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query(
            "update webhook_inbox set processed_at = $3, body = $4 where tenant_id = $1 and webhook_id = $2",
        )
        .bind(tenant.as_str())
        .bind(webhook_id)
        .bind(ms(now))
        .bind(Vec::<u8>::new())
        .execute(w.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn sync_watermark(&self, tenant: &TenantId) -> StoreResult<Option<Timestamp>> {
        let row = sqlx::query("select watermark from sync_state where tenant_id = $1")
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| rows::time(&r, "watermark")).transpose()
    }

    async fn set_sync_watermark(&self, tenant: &TenantId, at: Timestamp) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query(
            "insert into sync_state (tenant_id, watermark) values ($1, $2)
             on conflict (tenant_id) do update set watermark = excluded.watermark",
        )
        .bind(tenant.as_str())
        .bind(ms(at))
        .execute(w.pool())
        .await
        .map_err(db)?;
        Ok(())
    }
}
