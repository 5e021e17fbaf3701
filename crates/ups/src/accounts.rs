//! Each tenant's UPS account, built from its settings (DESIGN.md §4 `ups` and `shipper`), at
//! core's `Carriers` port. Clients are kept per credentials so the OAuth token is reused
//! across calls and tenants sharing nothing share no token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use packbench_core::domain::TenantId;
use packbench_core::model::LabelFormat;
use packbench_core::ports::{Carrier, Carriers, Store};
use packbench_core::settings::{Settings, UpsEnvironment, UpsLabelFormat};

use crate::client::{CIE_URL, PRODUCTION_URL};
use crate::{ShipperAccount, UpsCarrier, UpsClient, UpsConfig};

/// Base URL, client id, client secret, account number.
type ClientKey = (String, String, String, String);

pub struct UpsAccounts {
    store: Arc<dyn Store>,
    timeout: Duration,
    clients: Mutex<HashMap<ClientKey, Arc<UpsClient>>>,
}

impl UpsAccounts {
    /// `timeout` bounds each UPS call; a ship call past it is reconciled, never repeated.
    pub fn new(store: Arc<dyn Store>, timeout: Duration) -> Self {
        Self {
            store,
            timeout,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// What is missing from the settings before labels can be bought (empty when ready).
    pub fn missing(settings: &Settings) -> Vec<&'static str> {
        let u = &settings.ups;
        let s = &settings.shipper;
        let mut missing = Vec::new();
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
        if blank(&u.client_id) {
            missing.push("ups.client_id");
        }
        if u.client_secret.is_none() {
            missing.push("ups.client_secret");
        }
        if blank(&u.account_number) {
            missing.push("ups.account_number");
        }
        if blank(&s.name) {
            missing.push("shipper.name");
        }
        if s.address.lines.is_empty() {
            missing.push("shipper.address.lines");
        }
        if blank(&s.address.city) {
            missing.push("shipper.address.city");
        }
        if blank(&s.address.country) {
            missing.push("shipper.address.country");
        }
        missing
    }

    fn client(&self, settings: &Settings) -> Option<Arc<UpsClient>> {
        let u = &settings.ups;
        let base_url = u.base_url.clone().unwrap_or_else(|| {
            match u.environment {
                UpsEnvironment::Cie => CIE_URL,
                UpsEnvironment::Production => PRODUCTION_URL,
            }
            .to_string()
        });
        let client_id = u.client_id.clone()?;
        let secret = u.client_secret.as_ref()?.expose().to_string();
        let account = u.account_number.clone()?;
        let key = (
            base_url.clone(),
            client_id.clone(),
            secret.clone(),
            account.clone(),
        );
        let mut clients = self.clients.lock().ok()?;
        if let Some(c) = clients.get(&key) {
            return Some(c.clone());
        }
        let client = Arc::new(
            UpsClient::new(UpsConfig {
                base_url,
                client_id,
                client_secret: secret,
                account_number: Some(account),
                transaction_src: "packbench".into(),
                timeout: self.timeout,
            })
            .ok()?,
        );
        clients.insert(key, client.clone());
        Some(client)
    }
}

#[async_trait]
impl Carriers for UpsAccounts {
    async fn for_tenant(&self, tenant: &TenantId) -> Option<Arc<dyn Carrier>> {
        let doc = self.store.settings(tenant).await.ok()?;
        let settings = Settings::from_document(doc.as_ref()).ok()?;
        if !Self::missing(&settings).is_empty() {
            return None;
        }
        let client = self.client(&settings)?;
        let label_format = match settings.ups.label_format {
            UpsLabelFormat::Zpl => LabelFormat::Zpl,
            UpsLabelFormat::Gif => LabelFormat::Gif,
        };
        Some(Arc::new(UpsCarrier::new(
            client,
            ShipperAccount {
                number: settings.ups.account_number.clone()?,
                shipper: settings.shipper.clone(),
            },
            label_format,
        )))
    }
}
