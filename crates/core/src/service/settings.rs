//! A tenant's settings (cached briefly), each station's device settings, and what the carrier
//! account offers (rates, address checks).

use serde_json::{Value, json};

use crate::domain::{Package, TenantId};
use crate::error::{Error, Result};
use crate::ports::{AddressCheck, Rate};
use crate::settings::Settings;

use super::{Fulfillment, SETTINGS_FRESH_FOR};

impl Fulfillment {
    pub async fn settings(&self, tenant: &TenantId) -> Result<Settings> {
        let now = self.clock.now();
        if let Ok(cache) = self.settings_cache.lock()
            && let Some((at, s)) = cache.get(tenant)
            && now - *at < SETTINGS_FRESH_FOR
        {
            return Ok(s.clone());
        }
        let doc = self.store.settings(tenant).await?;
        let settings = Settings::from_document(doc.as_ref())?;
        if let Ok(mut cache) = self.settings_cache.lock() {
            cache.insert(tenant.clone(), (now, settings.clone()));
        }
        Ok(settings)
    }

    /// Whether the tenant has saved any settings yet.
    pub async fn has_settings(&self, tenant: &TenantId) -> Result<bool> {
        Ok(self.store.settings(tenant).await?.is_some())
    }

    /// Whether labels can be bought at all for this tenant (checked before batch work starts).
    pub async fn has_carrier(&self, tenant: &TenantId) -> bool {
        self.carriers.for_tenant(tenant).await.is_some()
    }

    /// Every service's price and transit days for a package, before buying.
    pub async fn rates(
        &self,
        tenant: &TenantId,
        ship_to: &crate::model::Address,
        package: &Package,
    ) -> Result<Vec<Rate>> {
        let carrier = self
            .carriers
            .for_tenant(tenant)
            .await
            .ok_or(Error::CarrierNotConfigured)?;
        Ok(carrier.rates(ship_to, package).await?)
    }

    /// What the carrier thinks of an address (a warning before buying, never a block).
    pub async fn check_address(
        &self,
        tenant: &TenantId,
        address: &crate::model::Address,
    ) -> Result<AddressCheck> {
        let carrier = self
            .carriers
            .for_tenant(tenant)
            .await
            .ok_or(Error::CarrierNotConfigured)?;
        Ok(carrier.check_address(address).await?)
    }

    /// Validates and saves a settings patch; answers the public view.
    pub async fn patch_settings(&self, tenant: &TenantId, patch: &Value) -> Result<Value> {
        let stored = self.store.settings(tenant).await?;
        let (settings, doc) = Settings::merge(stored.as_ref(), patch)?;
        self.store
            .put_settings(tenant, &doc, self.clock.now())
            .await?;
        if let Ok(mut cache) = self.settings_cache.lock() {
            cache.remove(tenant);
        }

        Ok(settings.public_view())
    }

    pub async fn device_settings(&self, tenant: &TenantId, station: &str) -> Result<Value> {
        Ok(self
            .store
            .device_settings(tenant, station)
            .await?
            .unwrap_or_else(|| json!({})))
    }

    /// Which scale, scanner and printers a station uses, and how it prints labels: every field
    /// is checked (`crate::devices`), and a mistake is named with its field, nothing kept.
    pub async fn save_device_settings(
        &self,
        tenant: &TenantId,
        station: &str,
        doc: &Value,
    ) -> Result<Value> {
        let invalid = |field: &str, message: String| Error::InvalidField {
            field: field.to_owned(),
            message,
        };
        let Some(fields) = doc.as_object() else {
            return Err(invalid("settings", "device settings are an object".into()));
        };
        crate::devices::check_device_settings(fields).map_err(|e| invalid(&e.field, e.message))?;
        if doc.to_string().len() > 64 * 1024 {
            return Err(invalid(
                "settings",
                "device settings are at most 64 KB".into(),
            ));
        }
        self.store
            .put_device_settings(tenant, station, doc, self.clock.now())
            .await?;
        Ok(doc.clone())
    }
}
