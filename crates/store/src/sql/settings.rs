//! Tenant and device settings.

use async_trait::async_trait;
use packbench_core::domain::TenantId;
use packbench_core::model::Timestamp;
use packbench_core::ports::SettingsStore;
use packbench_core::ports::StoreResult;

use super::SqlStore;

#[async_trait]
impl SettingsStore for SqlStore {
    async fn settings(&self, tenant: &TenantId) -> StoreResult<Option<serde_json::Value>> {
        self.document(
            "select document from tenant_setting where tenant_id = $1",
            &[tenant.as_str()],
        )
        .await
    }

    async fn put_settings(
        &self,
        tenant: &TenantId,
        doc: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<()> {
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
