//! Privacy requests and redaction.

use async_trait::async_trait;
use packbench_core::domain::{OrderId, TenantId};
use packbench_core::model::{Actor, PrivacyKind, PrivacyRequest, REDACTED, Timestamp};
use packbench_core::ports::PrivacyStore;
use packbench_core::ports::StoreResult;

use crate::rows::{self, db, int, ms, opt_int, opt_text, text, ts};

use super::{Args, SqlStore, Touches};

/// What a replay answers once the first answer's customer details were erased.
const REDACTED_ANSWER: &str = r#"{"data":null,"redacted":"this answer named an order whose customer details were erased at the shop's request"}"#;

#[async_trait]
impl PrivacyStore for SqlStore {
    async fn put_privacy_request(
        &self,
        tenant: &TenantId,
        r: &PrivacyRequest,
    ) -> StoreResult<bool> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let done = sqlx::query(
            "insert into privacy_request (tenant_id, request_id, kind, customer_id, shop_order_ids, received_at, completed_at, result)
             values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (tenant_id, request_id) do nothing",
        )
        .bind(tenant.as_str())
        .bind(r.id.as_str())
        .bind(r.kind.as_str())
        .bind(r.customer_id.clone())
        .bind(serde_json::json!(r.shop_order_ids).to_string())
        .bind(ms(r.received_at))
        .bind(r.completed_at.map(ms))
        .bind(r.result.as_ref().map(|v| v.to_string()))
        .execute(w.pool())
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn privacy_requests(
        &self,
        tenant: &TenantId,
        open: bool,
    ) -> StoreResult<Vec<PrivacyRequest>> {
        let rows = sqlx::query(&format!(
            "select request_id, kind, customer_id, shop_order_ids, received_at, completed_at, result
             from privacy_request where tenant_id = $1 {} order by received_at desc, request_id",
            if open { "and completed_at is null" } else { "" }
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let json = |col: &str| -> StoreResult<Option<serde_json::Value>> {
                    opt_text(r, col)?
                        .map(|t| serde_json::from_str(&t).map_err(|e| rows::corrupt(e.to_string())))
                        .transpose()
                };
                let kind = text(r, "kind")?;
                Ok(PrivacyRequest {
                    id: text(r, "request_id")?,
                    kind: PrivacyKind::parse(&kind)
                        .ok_or_else(|| rows::corrupt(format!("privacy request kind {kind}")))?,
                    customer_id: opt_text(r, "customer_id")?,
                    shop_order_ids: serde_json::from_value(
                        json("shop_order_ids")?.unwrap_or_default(),
                    )
                    .map_err(|e| rows::corrupt(e.to_string()))?,
                    received_at: rows::time(r, "received_at")?,
                    completed_at: opt_int(r, "completed_at")?.map(ts).transpose()?,
                    result: json("result")?,
                })
            })
            .collect()
    }

    async fn update_privacy_request(
        &self,
        tenant: &TenantId,
        id: &str,
        result: &serde_json::Value,
        completed_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query(
            "update privacy_request set result = $3, completed_at = $4 where tenant_id = $1 and request_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(result.to_string())
        .bind(completed_at.map(ms))
        .execute(w.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn orders_from_shop(
        &self,
        tenant: &TenantId,
        shop_order_ids: Option<&[String]>,
    ) -> StoreResult<Vec<OrderId>> {
        let mut a = Args::default();
        let t = a.text(tenant.as_str());
        let which = match shop_order_ids {
            None => "shop_order_id is not null".to_owned(),
            Some([]) => return Ok(Vec::new()),
            Some(ids) => {
                let list: Vec<String> = ids.iter().map(|i| a.text(i.as_str())).collect();
                format!("shop_order_id in ({})", list.join(", "))
            }
        };
        let sql = format!(
            "select order_id from sales_order where tenant_id = {t} and {which} order by created_at, order_id"
        );
        a.query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                OrderId::parse(&text(r, "order_id")?).map_err(|e| rows::corrupt(e.to_string()))
            })
            .collect()
    }

    async fn redact_order(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let w = self.write(Touches::OrdersOrStock).await;
        let mut tx = w.begin().await?;
        let row = sqlx::query(
            "update sales_order set customer_name = $3, ship_to = null, version = version + 1, updated_at = $4
             where tenant_id = $1 and order_id = $2
               and (ship_to is not null or customer_name is null or customer_name <> $3)
             returning version",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(REDACTED)
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(db)?;
            return Ok(false);
        };
        let version = int(&row, "version")?;
        let mut labels = 0;
        for table in ["label", "package_label"] {
            labels += sqlx::query(&format!(
                "delete from {table} where tenant_id = $1
                   and shipment_id in (select shipment_id from shipment where tenant_id = $1 and order_id = $2)"
            ))
            .bind(tenant.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        }
        sqlx::query("update shipment set ship_to = null where tenant_id = $1 and order_id = $2")
            .bind(tenant.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        // First answers kept for replays (an operation's, a batch's) that name the order hold
        // its customer's details too: they are replaced by a note saying why.
        let replays = sqlx::query(
            "update idempotency_key set response = $3
             where tenant_id = $1 and status_code is not null and response like $4",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(REDACTED_ANSWER.as_bytes().to_vec())
        .bind(format!("%\"{}\"%", id.as_str()).into_bytes())
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        Self::insert_event(
            &mut tx,
            tenant,
            id,
            version,
            "customer_redacted",
            &serde_json::json!({"label_images_erased": labels, "answers_erased": replays}),
            &Actor::system(),
            now,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }
}
