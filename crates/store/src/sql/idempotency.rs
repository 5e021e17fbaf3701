//! Idempotency keys.

use async_trait::async_trait;
use packbench_core::domain::{TenantId, UserId};
use packbench_core::model::{IdempotencyStart, Timestamp, UNFINISHED_REQUEST_INTERRUPTED_AFTER};
use packbench_core::ports::IdempotencyStore;
use packbench_core::ports::StoreResult;
use sqlx::Row;

use crate::rows::{self, db, ms, opt_int, text};

use super::{SqlStore, Touches};

#[async_trait]
impl IdempotencyStore for SqlStore {
    async fn idempotency_start(
        &self,
        tenant: &TenantId,
        key: &str,
        user: &UserId,
        fingerprint: &str,
        now: Timestamp,
    ) -> StoreResult<IdempotencyStart> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let inserted = sqlx::query(
            "insert into idempotency_key (tenant_id, idem_key, user_id, fingerprint, created_at) values ($1, $2, $3, $4, $5)
             on conflict (tenant_id, idem_key) do nothing",
        )
        .bind(tenant.as_str())
        .bind(key)
        .bind(user.as_str())
        .bind(fingerprint)
        .bind(ms(now))
        .execute(w.pool())
        .await
        .map_err(db)?;
        if inserted.rows_affected() == 1 {
            return Ok(IdempotencyStart::Proceed);
        }
        let row = sqlx::query("select fingerprint, status_code, response, created_at from idempotency_key where tenant_id = $1 and idem_key = $2")
            .bind(tenant.as_str())
            .bind(key)
            .fetch_optional(w.pool())
            .await
            .map_err(db)?;
        let Some(row) = row else {
            // Abandoned between our insert and our read: the caller may simply retry.
            return Ok(IdempotencyStart::InProgress);
        };
        if text(&row, "fingerprint")? != fingerprint {
            return Ok(IdempotencyStart::Mismatch);
        }
        match (
            opt_int(&row, "status_code")?,
            row.try_get::<Option<Vec<u8>>, _>("response").map_err(db)?,
        ) {
            (Some(status), Some(body)) => Ok(IdempotencyStart::Replay {
                status: status as u16,
                body,
            }),
            _ => {
                let since = rows::time(&row, "created_at")?;
                if now - since > UNFINISHED_REQUEST_INTERRUPTED_AFTER {
                    Ok(IdempotencyStart::Interrupted { since })
                } else {
                    Ok(IdempotencyStart::InProgress)
                }
            }
        }
    }

    async fn idempotency_finish(
        &self,
        tenant: &TenantId,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query("update idempotency_key set status_code = $3, response = $4 where tenant_id = $1 and idem_key = $2")
            .bind(tenant.as_str())
            .bind(key)
            .bind(i64::from(status))
            .bind(body.to_vec())
            .execute(w.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn idempotency_abandon(&self, tenant: &TenantId, key: &str) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query("delete from idempotency_key where tenant_id = $1 and idem_key = $2 and status_code is null")
            .bind(tenant.as_str())
            .bind(key)
            .execute(w.pool())
            .await
            .map_err(db)?;
        Ok(())
    }
}
