//! Shopify for Packbench: the Admin GraphQL client (one pinned version), the order import
//! mapping (one bench order per fulfillment order at the tenant's locations), and the adapter
//! at core's `Shop` port. Facts and sources: shared/notes/shopify.md.

pub mod client;
pub mod import;
pub mod webhook;
pub mod wire;

pub use client::{ShopifyClient, ShopifyConfig, ShopifyError};

/// The Admin API version every call uses; bump it (and the schema in specs/shopify) each quarter.
pub const API_VERSION: &str = "2026-10";

pub const ORDERS_FOR_BENCH: &str = include_str!("../graphql/orders_for_bench.graphql");

pub const FULFILLMENT_ORDER_FOR_PUSH: &str =
    include_str!("../graphql/fulfillment_order_for_push.graphql");
pub const FULFILLMENT_CREATE: &str = include_str!("../graphql/fulfillment_create.graphql");

/// Every operation the client sends (the schema test walks them all).
pub const OPERATIONS: [(&str, &str); 3] = [
    ("OrdersForBench", ORDERS_FOR_BENCH),
    ("FulfillmentOrderForPush", FULFILLMENT_ORDER_FOR_PUSH),
    ("FulfillmentCreate", FULFILLMENT_CREATE),
];

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use packbench_core::domain::TenantId;
use packbench_core::ports::{Shop, ShopError, ShopOrderPage, Shops, Store};
use packbench_core::settings::Settings;

/// Orders per page of an import.
const PAGE_SIZE: u32 = 250;

/// A tenant's Shopify store at the `Shop` port.
pub struct ShopifyShop {
    client: Arc<ShopifyClient>,
    shop: String,
    location_ids: Vec<String>,
    notify_customer: bool,
}

#[async_trait]
impl Shop for ShopifyShop {
    async fn push_fulfillment(
        &self,
        push: &packbench_core::ports::FulfillmentPush,
    ) -> Result<packbench_core::ports::PushOutcome, ShopError> {
        self.client
            .push_fulfillment(push, self.notify_customer)
            .await
            .map_err(|e| ShopError {
                shop: self.shop.clone(),
                message: e.to_string(),
            })
    }

    async fn orders_page(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        after: Option<&str>,
    ) -> Result<ShopOrderPage, ShopError> {
        let page = self
            .client
            .orders_page(since, after, PAGE_SIZE)
            .await
            .map_err(|e| ShopError {
                shop: self.shop.clone(),
                message: e.to_string(),
            })?;
        let next = page
            .page_info
            .as_ref()
            .filter(|p| p.has_next_page)
            .and_then(|p| p.end_cursor.clone());
        Ok(ShopOrderPage {
            cancelled: page
                .nodes
                .iter()
                .filter(|o| o.cancelled_at.is_some())
                .flat_map(|o| o.fulfillment_orders.nodes.iter().map(|fo| fo.id.clone()))
                .collect(),
            fetched: page.nodes.len(),
            newest: page.nodes.iter().map(|o| o.updated_at).max(),
            orders: page
                .nodes
                .iter()
                .flat_map(|o| import::bench_orders(o, &self.location_ids))
                .collect(),
            next,
        })
    }
}

/// Each tenant's store, from its settings (`shopify.shop_domain`, `access_token`,
/// `api_base_url`, `location_ids`); clients are kept per store so the cost bucket is shared.
pub struct ShopifyShops {
    store: Arc<dyn Store>,
    clients: std::sync::Mutex<std::collections::HashMap<(String, String), Arc<ShopifyClient>>>,
}

impl ShopifyShops {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            clients: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }
}

#[async_trait]
impl Shops for ShopifyShops {
    async fn for_tenant(&self, tenant: &TenantId) -> Option<Arc<dyn Shop>> {
        let doc = self.store.settings(tenant).await.ok()?;
        let s = Settings::from_document(doc.as_ref()).ok()?.shopify;
        let domain = s.shop_domain.clone()?;
        let credentials = match (&s.client_id, &s.client_secret) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.expose().to_string())),
            _ => None,
        };
        let token = match (&s.access_token, &credentials) {
            (Some(t), _) => t.expose().to_string(),
            (None, Some(_)) => String::new(),
            (None, None) => return None,
        };
        let base = s
            .api_base_url
            .clone()
            .unwrap_or_else(|| ShopifyClient::base_url_for(&domain));
        let key = (
            base.clone(),
            format!("{token}|{:?}", credentials.as_ref().map(|c| &c.0)),
        );
        let client = {
            let mut clients = self.clients.lock().ok()?;
            match clients.get(&key) {
                Some(c) => c.clone(),
                None => {
                    let c = Arc::new(
                        ShopifyClient::new(ShopifyConfig {
                            api_base_url: base,
                            access_token: token,
                            credentials,
                            timeout: Duration::from_secs(30),
                        })
                        .ok()?,
                    );
                    clients.insert(key, c.clone());
                    c
                }
            }
        };
        Some(Arc::new(ShopifyShop {
            client,
            shop: domain,
            location_ids: s.location_ids.clone(),
            notify_customer: s.notify_customer,
        }))
    }
}
