//! Reading the shop's orders: import pages sized to Shopify's cost cap and the store's bucket,
//! each order completed past its first page of fulfillment orders and line items, the count
//! that decides on a bulk export, and the bulk export itself (run, polled, downloaded).

use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{Retry, ShopifyClient, ShopifyError};

impl ShopifyClient {
    /// One page of orders updated since `since` (oldest first), each whole: when an order has
    /// more fulfillment orders, or a fulfillment order more line items, than the page holds,
    /// the rest are fetched before the page is answered.
    pub async fn orders_page(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        after: Option<&str>,
    ) -> Result<crate::wire::Connection<crate::wire::Order>, ShopifyError> {
        let query = since.map(updated_since);
        let sizes = json!({"after": after, "query": query,
            "fulfillmentOrders": FULFILLMENT_ORDERS_PER_ORDER, "lineItems": LINE_ITEMS_PER_FULFILLMENT_ORDER});
        let mut variables = sizes.clone();
        variables["first"] = self.orders_per_page(&sizes).await?.into();
        let data: crate::wire::OrdersData = match self
            .call(crate::ORDERS_FOR_BENCH, variables.clone(), Retry::Query)
            .await
        {
            // The first answer told the bucket's size: a smaller page may fit it.
            Err(ShopifyError::BucketTooSmall { .. }) => {
                variables["first"] = self.orders_per_page(&sizes).await?.into();
                self.call(crate::ORDERS_FOR_BENCH, variables, Retry::Query)
                    .await?
            }
            other => other?,
        };
        let mut orders = data.orders;
        for order in &mut orders.nodes {
            self.complete(order).await?;
        }
        Ok(orders)
    }

    /// The most orders one page may ask for: its requested cost within Shopify's cap and the
    /// store's bucket (a connection's cost grows by the same amount per item asked for).
    pub async fn orders_per_page(&self, variables: &Value) -> Result<u64, ShopifyError> {
        let at = |n: u64| {
            let mut v = variables.clone();
            v["first"] = n.into();
            crate::cost::requested(crate::ORDERS_FOR_BENCH.document, &v)
                .map_err(|e| ShopifyError::Malformed(format!("OrdersForBench: {e}")))
        };
        let (one, two) = (at(1)?, at(2)?);
        let cap = match self.bucket_size().await {
            Some(b) => crate::cost::MAX_QUERY_COST.min(b as u64),
            None => crate::cost::MAX_QUERY_COST,
        };
        if one > cap {
            return Err(ShopifyError::BucketTooSmall {
                operation: "OrdersForBench".into(),
                cost: one,
                bucket: cap,
            });
        }
        let per_order = (two - one).max(1);
        Ok((1 + (cap - one) / per_order).min(crate::cost::MAX_PAGE))
    }

    /// Fetches what one page left out of an order: its further fulfillment orders, and the
    /// further line items of each.
    async fn complete(&self, order: &mut crate::wire::Order) -> Result<(), ShopifyError> {
        while let Some(after) = order.fulfillment_orders.next_cursor().map(str::to_owned) {
            let data: crate::wire::OrderFulfillmentOrdersData = self
                .call(
                    crate::ORDER_FULFILLMENT_ORDERS,
                    json!({"id": order.id, "after": after,
                        "fulfillmentOrders": MORE_FULFILLMENT_ORDERS, "lineItems": LINE_ITEMS_PER_FULFILLMENT_ORDER}),
                    Retry::Query,
                )
                .await?;
            let more = data
                .order
                .ok_or_else(|| {
                    ShopifyError::Graphql(format!(
                        "order {} is not in the store any more",
                        order.id
                    ))
                })?
                .fulfillment_orders;
            order.fulfillment_orders.nodes.extend(more.nodes);
            order.fulfillment_orders.page_info = more.page_info;
        }
        for fo in &mut order.fulfillment_orders.nodes {
            while let Some(after) = fo.line_items.next_cursor().map(str::to_owned) {
                let data: crate::wire::FulfillmentOrderLineItemsData = self
                    .call(
                        crate::FULFILLMENT_ORDER_LINE_ITEMS,
                        json!({"id": fo.id, "after": after, "lineItems": MORE_LINE_ITEMS}),
                        Retry::Query,
                    )
                    .await?;
                let more = data
                    .fulfillment_order
                    .ok_or_else(|| {
                        ShopifyError::Graphql(format!(
                            "fulfillment order {} is not in the store any more",
                            fo.id
                        ))
                    })?
                    .line_items;
                fo.line_items.nodes.extend(more.nodes);
                fo.line_items.page_info = more.page_info;
            }
        }
        Ok(())
    }

    /// How many orders were updated since `since`, counted up to `limit`.
    pub async fn orders_count(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        limit: u64,
    ) -> Result<u64, ShopifyError> {
        let data: crate::wire::OrdersCountData = self
            .call(
                crate::ORDERS_COUNT,
                json!({"query": since.map(updated_since), "limit": limit}),
                Retry::Query,
            )
            .await?;
        Ok(data.orders_count.map_or(0, |c| c.count))
    }

    /// Exports every order updated since `since` with Shopify's Bulk Operations API: starts
    /// the export, looks at it until it ends (within `Patience::bulk`), and downloads its
    /// JSONL file (the file's URL is signed: no token goes with it).
    pub async fn bulk_orders(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<crate::bulk::BulkOrders, ShopifyError> {
        let inner = match since {
            Some(t) => crate::BULK_ORDERS.replacen(
                "orders(sortKey: UPDATED_AT)",
                &format!(
                    "orders(sortKey: UPDATED_AT, query: {})",
                    serde_json::to_string(&updated_since(t)).unwrap_or_default()
                ),
                1,
            ),
            None => crate::BULK_ORDERS.to_owned(),
        };
        let started: crate::wire::BulkRunData = self
            .call(
                crate::BULK_ORDERS_RUN,
                json!({"query": inner}),
                Retry::Mutation,
            )
            .await?;
        let payload = started
            .bulk_operation_run_query
            .ok_or_else(|| ShopifyError::Malformed("bulkOperationRunQuery answered null".into()))?;
        if !payload.user_errors.is_empty() {
            let messages: Vec<String> = payload
                .user_errors
                .iter()
                .map(|e| match &e.code {
                    Some(c) => format!("{} ({c})", e.message),
                    None => e.message.clone(),
                })
                .collect();
            return Err(ShopifyError::Bulk(messages.join("; ")));
        }
        let op = payload
            .bulk_operation
            .ok_or_else(|| ShopifyError::Malformed("a bulk export without an id".into()))?;
        tracing::info!(export = %op.id, "Shopify bulk export started");
        let t0 = std::time::Instant::now();
        let mut pause = self.config.patience.bulk_poll;
        let done = loop {
            tokio::time::sleep(pause).await;
            pause = (pause * 3 / 2).min(Duration::from_secs(5));
            let data: crate::wire::BulkOperationData = self
                .call(crate::BULK_OPERATION, json!({"id": op.id}), Retry::Query)
                .await?;
            let now = data.bulk_operation.ok_or_else(|| {
                ShopifyError::Bulk(format!("bulk export {} is not known to the store", op.id))
            })?;
            match now.status.as_str() {
                "CREATED" | "RUNNING" | "CANCELING" => {}
                "COMPLETED" => break now,
                other => {
                    return Err(ShopifyError::Bulk(format!(
                        "bulk export {} ended {other}{}",
                        op.id,
                        now.error_code
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default()
                    )));
                }
            }
            if t0.elapsed() > self.config.patience.bulk {
                return Err(ShopifyError::Bulk(format!(
                    "bulk export {} still running after {} s; the next sync starts over",
                    op.id,
                    t0.elapsed().as_secs()
                )));
            }
        };
        tracing::info!(
            export = %done.id,
            objects = done.object_count.as_deref().unwrap_or("0"),
            orders = done.root_object_count.as_deref().unwrap_or("0"),
            secs = t0.elapsed().as_secs(),
            "Shopify bulk export finished"
        );
        let Some(url) = done.url else {
            // Nothing matched: Shopify makes no file.
            return crate::bulk::BulkOrders::empty();
        };
        let mut resp = self
            .http
            .get(&url)
            .timeout(Duration::from_secs(30 * 60))
            .send()
            .await
            .map_err(|e| ShopifyError::Unavailable(format!("bulk export file: {e}")))?;
        if !resp.status().is_success() {
            return Err(ShopifyError::Bulk(format!(
                "downloading the bulk export file: HTTP {}",
                resp.status()
            )));
        }
        let mut file = crate::bulk::BulkOrders::writer()?;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| ShopifyError::Unavailable(format!("bulk export file: {e}")))?
        {
            file.write(&chunk)?;
        }
        file.finish()
    }
}

/// Fulfillment orders per order and line items per fulfillment order on an import page; most
/// orders fit, the rest are fetched after (`ShopifyClient::complete`).
pub const FULFILLMENT_ORDERS_PER_ORDER: u64 = 2;
pub const LINE_ITEMS_PER_FULFILLMENT_ORDER: u64 = 10;
/// Page sizes when following an order's further fulfillment orders or line items.
const MORE_FULFILLMENT_ORDERS: u64 = 10;
const MORE_LINE_ITEMS: u64 = 250;

/// Shopify's search syntax for "updated at or after".
fn updated_since(t: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "updated_at:>='{}'",
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}
