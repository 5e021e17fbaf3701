//! Tenant and device settings. The tenant settings' secrets are sealed on the way in and
//! opened on the way out (`crate::sealed`): the rest of the hub sees plain settings.

use async_trait::async_trait;
use packbench_core::domain::TenantId;
use packbench_core::model::Timestamp;
use packbench_core::ports::SettingsStore;
use packbench_core::ports::{StoreError, StoreResult};
use packbench_core::settings::visit_secrets;
use serde_json::Value;

use super::{SqlStore, Touches};
use crate::rows::{db, text};
use crate::sealed::{SealError, is_sealed};

impl SqlStore {
    /// Seals `doc`'s plain secrets for `tenant`; `true` when there was one to seal.
    fn seal_secrets(&self, tenant: &str, doc: &mut Value) -> StoreResult<bool> {
        let mut sealed_any = false;
        visit_secrets(doc, |field, value| {
            if is_sealed(value) {
                return Ok(());
            }
            let key = self.secret_key.as_ref().ok_or_else(|| {
                StoreError::Backend(
                    format!("{field} cannot be kept: this hub has no secret key to seal it with")
                        .into(),
                )
            })?;
            *value = key.seal(tenant, field, value);
            sealed_any = true;
            Ok(())
        })?;
        Ok(sealed_any)
    }

    /// Opens `doc`'s sealed secrets for `tenant` (plain ones, kept before sealing, stay so).
    fn open_secrets(&self, tenant: &str, doc: &mut Value) -> Result<(), SealError> {
        visit_secrets(doc, |field, value| {
            if is_sealed(value) {
                let key = self.secret_key.as_ref().ok_or(SealError::NoKey)?;
                *value = key.open(tenant, field, value)?;
            }
            Ok(())
        })
    }

    /// Checks that this hub's key opens every tenant's secrets, and seals the secrets kept in
    /// plain text before sealing existed. Answers how many tenants' settings were sealed.
    pub async fn seal_stored_secrets(&self) -> StoreResult<usize> {
        let w = self.write(Touches::NoOrderOrStock).await;
        let rows = sqlx::query("select tenant_id, document from tenant_setting")
            .fetch_all(w.pool())
            .await
            .map_err(db)?;
        let mut sealed = 0;
        for row in rows {
            let tenant = text(&row, "tenant_id")?;
            let mut doc: Value = serde_json::from_str(&text(&row, "document")?)
                .map_err(|e| crate::rows::corrupt(e.to_string()))?;
            let mut opened = doc.clone();
            self.open_secrets(&tenant, &mut opened)
                .map_err(|e| StoreError::Backend(e.into()))?;
            if self.seal_secrets(&tenant, &mut doc)? {
                sqlx::query("update tenant_setting set document = $1 where tenant_id = $2")
                    .bind(doc.to_string())
                    .bind(tenant)
                    .execute(w.pool())
                    .await
                    .map_err(db)?;
                sealed += 1;
            }
        }
        Ok(sealed)
    }
}

#[async_trait]
impl SettingsStore for SqlStore {
    async fn settings(&self, tenant: &TenantId) -> StoreResult<Option<serde_json::Value>> {
        let mut doc = self
            .document(
                "select document from tenant_setting where tenant_id = $1",
                &[tenant.as_str()],
            )
            .await?;
        if let Some(doc) = &mut doc {
            self.open_secrets(tenant.as_str(), doc)
                .map_err(|e| StoreError::Backend(e.into()))?;
        }
        Ok(doc)
    }

    async fn put_settings(
        &self,
        tenant: &TenantId,
        doc: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut doc = doc.clone();
        self.seal_secrets(tenant.as_str(), &mut doc)?;
        let doc = &doc;
        self.put_document(
            "insert into tenant_setting (tenant_id, document, updated_at) values ($1, $2, $3)
             on conflict (tenant_id) do update set document = excluded.document, updated_at = excluded.updated_at",
            &[tenant.as_str()],
            doc,
            now,
        )
        .await
    }

    async fn device_settings(
        &self,
        tenant: &TenantId,
        station: &str,
    ) -> StoreResult<Option<serde_json::Value>> {
        self.document(
            "select document from device_setting where tenant_id = $1 and station_id = $2",
            &[tenant.as_str(), station],
        )
        .await
    }

    async fn put_device_settings(
        &self,
        tenant: &TenantId,
        station: &str,
        doc: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.put_document(
            "insert into device_setting (tenant_id, station_id, document, updated_at) values ($1, $2, $3, $4)
             on conflict (tenant_id, station_id) do update set document = excluded.document, updated_at = excluded.updated_at",
            &[tenant.as_str(), station],
            doc,
            now,
        )
        .await
    }
}
