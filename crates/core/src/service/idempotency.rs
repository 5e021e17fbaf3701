//! Idempotency keys: a request's first answer kept, so a retried request (a lost answer, a
//! double click) gets that answer again instead of acting twice. The caller fingerprints the
//! request; a key reused for another request, or by another user, is not a replay.

use crate::domain::{TenantId, UserId};
use crate::error::Result;
use crate::model::IdempotencyStart;

use super::Fulfillment;

impl Fulfillment {
    /// Starts a request under `key`, or says why it may not run (a replay, still running,
    /// interrupted, another request's key).
    pub async fn idempotency_start(
        &self,
        tenant: &TenantId,
        key: &str,
        user: &UserId,
        fingerprint: &str,
    ) -> Result<IdempotencyStart> {
        Ok(self
            .store
            .idempotency_start(tenant, key, user, fingerprint, self.clock.now())
            .await?)
    }

    /// Keeps the answer the request under `key` got.
    pub async fn idempotency_finish(
        &self,
        tenant: &TenantId,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<()> {
        Ok(self
            .store
            .idempotency_finish(tenant, key, status, body)
            .await?)
    }

    /// Forgets a key whose request failed before changing anything, so a retry can run.
    pub async fn idempotency_abandon(&self, tenant: &TenantId, key: &str) -> Result<()> {
        Ok(self.store.idempotency_abandon(tenant, key).await?)
    }
}
