//! Shopify for Packbench: the Admin GraphQL client (one pinned version), the order import
//! mapping (one bench order per fulfillment order at the tenant's locations), and the adapter
//! at core's `Shop` port. Facts and sources: shared/notes/shopify.md.

pub mod bulk;
pub mod client;
pub mod cost;
pub mod import;
pub mod orders;
pub mod webhook;
pub mod wire;

pub use client::{Operation, Patience, Retry, ShopifyClient, ShopifyConfig, ShopifyError};

/// The Admin API version every call uses; bump it (and the schema in specs/shopify) each quarter.
pub const API_VERSION: &str = "2026-10";

macro_rules! operation {
    ($name:literal, $file:literal) => {
        Operation {
            name: $name,
            document: include_str!(concat!("../graphql/", $file)),
        }
    };
    // An operation followed by the fragments it spreads (GraphQL refuses unused ones).
    ($name:literal, $file:literal, $($fragment:literal),+) => {
        Operation {
            name: $name,
            document: concat!(
                include_str!(concat!("../graphql/", $file)),
                $(include_str!(concat!("../graphql/", $fragment))),+
            ),
        }
    };
}

/// A page of orders for an incremental import, each with its first fulfillment orders and
/// their first line items (sizes are variables, so the client can cost and fit the page).
pub const ORDERS_FOR_BENCH: Operation = operation!(
    "OrdersForBench",
    "orders_for_bench.graphql",
    "bench_fulfillment_order.graphql",
    "bench_line_item.graphql"
);
/// An order's further fulfillment orders.
pub const ORDER_FULFILLMENT_ORDERS: Operation = operation!(
    "OrderFulfillmentOrders",
    "order_fulfillment_orders.graphql",
    "bench_fulfillment_order.graphql",
    "bench_line_item.graphql"
);
/// A fulfillment order's further line items.
pub const FULFILLMENT_ORDER_LINE_ITEMS: Operation = operation!(
    "FulfillmentOrderLineItems",
    "fulfillment_order_line_items.graphql",
    "bench_line_item.graphql"
);
pub const ORDERS_COUNT: Operation = operation!("OrdersCount", "orders_count.graphql");
pub const BULK_ORDERS_RUN: Operation = operation!("BulkOrdersRun", "bulk_orders_run.graphql");
pub const BULK_OPERATION: Operation = operation!("BulkOperation", "bulk_operation.graphql");
pub const FULFILLMENT_ORDER_FOR_PUSH: Operation = operation!(
    "FulfillmentOrderForPush",
    "fulfillment_order_for_push.graphql"
);
pub const FULFILLMENT_CREATE: Operation =
    operation!("FulfillmentCreate", "fulfillment_create.graphql");

/// The query a bulk export runs (no page sizes: Shopify's bulk queries take none).
pub const BULK_ORDERS: &str = include_str!("../graphql/bulk_orders.graphql");

/// Every operation the client sends (the schema and cost tests walk them all).
pub const OPERATIONS: [Operation; 8] = [
    ORDERS_FOR_BENCH,
    ORDER_FULFILLMENT_ORDERS,
    FULFILLMENT_ORDER_LINE_ITEMS,
    ORDERS_COUNT,
    BULK_ORDERS_RUN,
    BULK_OPERATION,
    FULFILLMENT_ORDER_FOR_PUSH,
    FULFILLMENT_CREATE,
];

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use packbench_core::domain::TenantId;
use packbench_core::ports::{Shop, ShopError, ShopOrderPage, Shops, Store};
use packbench_core::settings::Settings;

/// Orders per page handed to the import from a bulk export.
const BULK_PAGE: usize = 500;
/// The cursor of a bulk export's next page (the export itself is held by the `ShopifyShop`).
const BULK_CURSOR: &str = "bulk-export";

/// A tenant's Shopify store at the `Shop` port.
pub struct ShopifyShop {
    client: Arc<ShopifyClient>,
    shop: String,
    location_ids: Vec<String>,
    notify_customer: bool,
    /// An import of at least this many orders goes through a bulk export.
    bulk_from: u64,
    /// The bulk export a first import is reading.
    bulk: tokio::sync::Mutex<Option<bulk::BulkOrders>>,
}

impl ShopifyShop {
    fn error(&self, e: ShopifyError) -> ShopError {
        ShopError {
            shop: self.shop.clone(),
            message: e.to_string(),
        }
    }

    /// The next page of orders: from the bulk export being read, or one page from Shopify.
    async fn page_of_orders(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        after: Option<&str>,
    ) -> Result<(Vec<wire::Order>, Option<String>), ShopifyError> {
        // A first import of a big store, or a catch-up after a long time away, is exported in
        // bulk: paging that far would take long at the store's restore rate, and Shopify stops
        // paging at 25,000 objects.
        if after.is_none()
            && self.bulk_from > 0
            && self.client.orders_count(since, self.bulk_from).await? >= self.bulk_from
        {
            let export = self.client.bulk_orders(since).await?;
            *self.bulk.lock().await = Some(export);
        } else if after != Some(BULK_CURSOR) {
            let page = self.client.orders_page(since, after).await?;
            let next = page.next_cursor().map(str::to_owned);
            return Ok((page.nodes, next));
        }
        let mut slot = self.bulk.lock().await;
        let Some(export) = slot.as_mut() else {
            return Err(ShopifyError::Bulk(
                "the bulk export being read is gone; sync again".into(),
            ));
        };
        let orders = export.next_orders(BULK_PAGE)?;
        if orders.len() < BULK_PAGE {
            *slot = None;
            return Ok((orders, None));
        }
        Ok((orders, Some(BULK_CURSOR.to_owned())))
    }
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
            .map_err(|e| self.error(e))
    }

    async fn orders_page(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        after: Option<&str>,
    ) -> Result<ShopOrderPage, ShopError> {
        let (nodes, next) = self
            .page_of_orders(since, after)
            .await
            .map_err(|e| self.error(e))?;
        Ok(ShopOrderPage {
            cancelled: nodes
                .iter()
                .filter(|o| o.cancelled_at.is_some())
                .flat_map(|o| o.fulfillment_orders.nodes.iter().map(|fo| fo.id.clone()))
                .collect(),
            fetched: nodes.len(),
            newest: nodes.iter().map(|o| o.updated_at).max(),
            orders: nodes
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
    clients: std::sync::Mutex<std::collections::HashMap<ClientKey, Arc<ShopifyClient>>>,
    patience: Patience,
    bulk_from: u64,
}

/// What a logged-in client is kept under: every credential it was made with, so a tenant
/// that names the same shop with a different token, client id or secret never gets another
/// tenant's client (and the token that client fetched). No `Debug`: it holds secrets.
#[derive(PartialEq, Eq, Hash)]
struct ClientKey {
    base: String,
    token: String,
    /// Client id and secret, for the client credentials grant.
    credentials: Option<(String, String)>,
}

/// An import of this many orders or more (a first import, or a catch-up) goes through a bulk
/// export: at Standard limits paging reads ~6 orders a second (BENCHMARKS.md), so 1,000 orders
/// take minutes.
pub const BULK_FROM: u64 = 1_000;

impl ShopifyShops {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            clients: std::sync::Mutex::new(std::collections::HashMap::new()),
            patience: Patience::default(),
            bulk_from: BULK_FROM,
        }
    }

    /// How long calls wait on a throttling store or a running bulk export.
    pub fn with_patience(mut self, patience: Patience) -> Self {
        self.patience = patience;
        self
    }

    /// From how many orders an import uses a bulk export (0: never).
    pub fn with_bulk_from(mut self, orders: u64) -> Self {
        self.bulk_from = orders;
        self
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
        let key = ClientKey {
            base: base.clone(),
            token: token.clone(),
            credentials: credentials.clone(),
        };
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
                            patience: self.patience,
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
            bulk_from: self.bulk_from,
            bulk: tokio::sync::Mutex::new(None),
        }))
    }
}
