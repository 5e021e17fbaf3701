//! Tenants, users and sessions.

use async_trait::async_trait;
use packbench_core::domain::{Role, TenantId, TenantSlug, UserId};
use packbench_core::model::{Tenant, Timestamp, User};
use packbench_core::ports::AccountStore;
use packbench_core::ports::{Session, StoreError, StoreResult};

use crate::rows::{self, db, int, ms, opt_text, text};

use super::{SqlStore, Touches};

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_tenant(
        &self,
        slug: &TenantSlug,
        name: &str,
        now: Timestamp,
    ) -> StoreResult<Tenant> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let id = TenantId::generate();
        sqlx::query("insert into tenant (tenant_id, slug, name, stock_seq, created_at) values ($1, $2, $3, 0, $4)")
            .bind(id.as_str())
            .bind(slug.as_str())
            .bind(name)
            .bind(ms(now))
            .execute(w.pool())
            .await
            .map_err(|e| match db(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("tenant `{slug}` already exists")),
                other => other,
            })?;
        Ok(Tenant {
            id,
            slug: slug.clone(),
            name: name.to_owned(),
        })
    }

    async fn tenant_by_slug(&self, slug: &str) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query("select tenant_id, slug, name from tenant where slug = $1")
            .bind(slug)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| {
            Ok(Tenant {
                id: TenantId::parse(&text(&r, "tenant_id")?)
                    .map_err(|e| rows::corrupt(e.to_string()))?,
                slug: TenantSlug::parse(&text(&r, "slug")?)
                    .map_err(|e| rows::corrupt(e.to_string()))?,
                name: text(&r, "name")?,
            })
        })
        .transpose()
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = sqlx::query("select tenant_id, slug, name from tenant order by slug")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(Tenant {
                    id: TenantId::parse(&text(r, "tenant_id")?)
                        .map_err(|e| rows::corrupt(e.to_string()))?,
                    slug: TenantSlug::parse(&text(r, "slug")?)
                        .map_err(|e| rows::corrupt(e.to_string()))?,
                    name: text(r, "name")?,
                })
            })
            .collect()
    }

    async fn create_user(
        &self,
        tenant: &TenantId,
        username: &str,
        password_hash: &str,
        role: Role,
        now: Timestamp,
    ) -> StoreResult<User> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let id = UserId::generate();
        sqlx::query(
            "insert into app_user (tenant_id, user_id, username, password_hash, role, created_at) values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(ms(now))
        .execute(w.pool())
        .await
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("user `{username}` already exists")),
            other => other,
        })?;
        Ok(User {
            id,
            username: username.to_owned(),
            role,
        })
    }

    async fn credentials(
        &self,
        tenant: &TenantId,
        username: &str,
    ) -> StoreResult<Option<(User, String)>> {
        let row = sqlx::query("select user_id, username, role, password_hash from app_user where tenant_id = $1 and username = $2")
            .bind(tenant.as_str())
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| Ok((rows::user(&r)?, text(&r, "password_hash")?)))
            .transpose()
    }

    async fn user(&self, tenant: &TenantId, id: &UserId) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "select user_id, username, role from app_user where tenant_id = $1 and user_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| rows::user(&r)).transpose()
    }

    async fn set_password(
        &self,
        tenant: &TenantId,
        user: &UserId,
        password_hash: &str,
    ) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query("update app_user set password_hash = $3 where tenant_id = $1 and user_id = $2")
            .bind(tenant.as_str())
            .bind(user.as_str())
            .bind(password_hash)
            .execute(w.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn count_login_attempts(
        &self,
        tenant: &TenantId,
        key: &str,
        delta: i64,
        now: Timestamp,
        fresh_since: Timestamp,
    ) -> StoreResult<u32> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let row = sqlx::query(
            "insert into login_failure (tenant_id, username, failures, last_attempt_at)
             values ($1, $2, case when $3 > 0 then $3 else 0 end, $4)
             on conflict (tenant_id, username) do update set
                failures = case
                    when login_failure.last_attempt_at is null or login_failure.last_attempt_at < $5
                        then case when $3 > 0 then $3 else 0 end
                    when login_failure.failures + $3 < 0 then 0
                    else login_failure.failures + $3 end,
                last_attempt_at = $4
             returning failures",
        )
        .bind(tenant.as_str())
        .bind(key)
        .bind(delta)
        .bind(ms(now))
        .bind(ms(fresh_since))
        .fetch_one(w.pool())
        .await
        .map_err(db)?;
        Ok(int(&row, "failures")?.clamp(0, i64::from(u32::MAX)) as u32)
    }

    async fn clear_login_attempts(&self, tenant: &TenantId, key: &str) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query("delete from login_failure where tenant_id = $1 and username = $2")
            .bind(tenant.as_str())
            .bind(key)
            .execute(w.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn forget_stale_login_attempts(
        &self,
        tenant: &TenantId,
        before: Timestamp,
    ) -> StoreResult<u64> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let done = sqlx::query(
            "delete from login_failure where tenant_id = $1
             and (last_attempt_at is null or last_attempt_at < $2)",
        )
        .bind(tenant.as_str())
        .bind(ms(before))
        .execute(w.pool())
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn create_session(
        &self,
        tenant: &TenantId,
        token_hash: &str,
        user: &UserId,
        station_id: Option<&str>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query(
            "insert into session (tenant_id, token_hash, user_id, station_id, created_at, expires_at) values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.as_str())
        .bind(token_hash)
        .bind(user.as_str())
        .bind(station_id.map(str::to_owned))
        .bind(ms(now))
        .bind(ms(expires_at))
        .execute(w.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn session(
        &self,
        tenant: &TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "select u.user_id, u.username, u.role, s.station_id, s.expires_at from session s
             join app_user u on u.tenant_id = s.tenant_id and u.user_id = s.user_id
             where s.tenant_id = $1 and s.token_hash = $2 and s.revoked_at is null and s.expires_at > $3",
        )
        .bind(tenant.as_str())
        .bind(token_hash)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            Ok(Session {
                user: rows::user(&r)?,
                station_id: opt_text(&r, "station_id")?,
                expires_at: rows::time(&r, "expires_at")?,
            })
        })
        .transpose()
    }

    async fn end_session(
        &self,
        tenant: &TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let w = self.write(Touches::NoOrderOrStock).await;
        sqlx::query("update session set revoked_at = $3 where tenant_id = $1 and token_hash = $2 and revoked_at is null")
            .bind(tenant.as_str())
            .bind(token_hash)
            .bind(ms(now))
            .execute(w.pool())
            .await
            .map_err(db)?;
        Ok(())
    }
}
