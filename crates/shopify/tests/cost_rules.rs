//! The client under Shopify's cost rules, against the Shopify sim on loopback: nothing over
//! the cap is sent, pages fit, nested pages are followed, bulk exports are read, and a store
//! that cannot or will not answer fails the call after a bounded wait, never hangs.

use packbench_core::ports::{Clock, SystemClock};
use std::time::{Duration, Instant};

use packbench_shopify::{Operation, Patience, Retry, ShopifyClient, ShopifyConfig, ShopifyError};
use packbench_sim::{ShopifySim, ShopifySimConfig};
use serde_json::{Value, json};

async fn served(sim: &std::sync::Arc<ShopifySim>, patience: Patience) -> (ShopifyClient, String) {
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    let base = format!("http://{addr}/admin/api/{}", packbench_shopify::API_VERSION);
    let client = ShopifyClient::new(ShopifyConfig {
        api_base_url: base.clone(),
        access_token: sim.config().access_token,
        credentials: None,
        timeout: Duration::from_secs(10),
        patience,
    })
    .unwrap();
    (client, format!("{base}/graphql.json"))
}

/// A GraphQL request sent to the sim by hand (not through the client), and its answer.
async fn by_hand(sim: &ShopifySim, url: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(url)
        .header("X-Shopify-Access-Token", sim.config().access_token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn client_for(sim: &std::sync::Arc<ShopifySim>, patience: Patience) -> ShopifyClient {
    served(sim, patience).await.0
}

/// The import's query before issue 23: 250 orders × 10 fulfillment orders × 50 line items.
const OLD_IMPORT: Operation = Operation {
    name: "OldOrdersForBench",
    document: r#"query OldOrdersForBench($first: Int!) { orders(first: $first, sortKey: UPDATED_AT) {
        pageInfo { hasNextPage endCursor }
        nodes { id name createdAt updatedAt cancelledAt customer { displayName } shippingAddress { zip }
          fulfillmentOrders(first: 10) { nodes { id status assignedLocation { location { id } }
            lineItems(first: 50) { nodes { id remainingQuantity lineItem { sku title variant { barcode } } } } } } } } }"#,
};

#[tokio::test]
async fn a_query_over_the_cap_is_refused_by_the_sim_and_never_sent_by_the_client() {
    let sim = ShopifySim::new(ShopifySimConfig::default());
    let (client, url) = served(&sim, Patience::default()).await;
    // Sent by hand, the sim refuses it as Shopify does, before running it.
    let answer = by_hand(
        &sim,
        &url,
        json!({"query": OLD_IMPORT.document, "variables": {"first": 250}}),
    )
    .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED",
        "{answer}"
    );
    assert_eq!(answer["errors"][0]["extensions"]["cost"], 388_752);
    assert!(answer["data"].is_null());
    let queries = sim.queries();
    // The client works the cost out first and never sends it.
    let err = client
        .call::<Value>(OLD_IMPORT, json!({"first": 250}), Retry::Query)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ShopifyError::TooCostly {
            operation: "OldOrdersForBench".into(),
            cost: 388_752,
            max: 1_000
        }
    );
    assert_eq!(sim.queries(), queries, "nothing was sent");
}

#[tokio::test]
async fn pages_fit_the_cap_and_an_order_with_120_lines_and_3_fulfillment_orders_comes_whole() {
    let sim = ShopifySim::new(ShopifySimConfig {
        orders: 40,
        ..Default::default()
    });
    let big = sim.add_order(120, 1);
    let split = sim.add_order(9, 3);
    let client = client_for(&sim, Patience::default()).await;
    let mut after: Option<String> = None;
    let mut orders = Vec::new();
    loop {
        let page = client.orders_page(None, after.as_deref()).await.unwrap();
        assert!(page.nodes.len() <= 18, "a page fits 1,000 points");
        after = page.next_cursor().map(str::to_owned);
        orders.extend(page.nodes);
        if after.is_none() {
            break;
        }
    }
    assert_eq!(orders.len(), 42);
    let big = orders.iter().find(|o| o.name == big).unwrap();
    let lines: usize = big
        .fulfillment_orders
        .nodes
        .iter()
        .map(|fo| fo.line_items.nodes.len())
        .sum();
    assert_eq!(lines, 120, "every line, past the first page of 10");
    let mut ids: Vec<&str> = big.fulfillment_orders.nodes[0]
        .line_items
        .nodes
        .iter()
        .map(|l| l.id.as_str())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 120, "no line twice");
    let split = orders.iter().find(|o| o.name == split).unwrap();
    assert_eq!(split.fulfillment_orders.nodes.len(), 3, "past the first 2");
    assert_eq!(
        split
            .fulfillment_orders
            .nodes
            .iter()
            .map(|fo| fo.line_items.nodes.len())
            .sum::<usize>(),
        9
    );
}

#[tokio::test]
async fn a_bucket_smaller_than_one_page_fails_at_once_with_what_it_needs() {
    let sim = ShopifySim::new(ShopifySimConfig {
        bucket: Some(50.0),
        restore_rate: 5.0,
        ..Default::default()
    });
    let client = client_for(&sim, Patience::default()).await;
    let t = Instant::now();
    let err = client.orders_page(None, None).await.unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "no long wait: {:?}",
        t.elapsed()
    );
    assert!(
        matches!(err, ShopifyError::BucketTooSmall { bucket: 50, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("holds only 50"), "{err}");
}

#[tokio::test]
async fn a_store_that_keeps_throttling_fails_the_call_after_the_bounded_wait() {
    // Room for one page, then 2 points a second: the next page would wait minutes.
    let sim = ShopifySim::new(ShopifySimConfig {
        orders: 60,
        bucket: Some(1_000.0),
        restore_rate: 2.0,
        ..Default::default()
    });
    let patience = Patience {
        throttled: Duration::from_secs(3),
        ..Patience::default()
    };
    let client = client_for(&sim, patience).await;
    let first = client.orders_page(None, None).await.unwrap();
    let t = Instant::now();
    let mut after = first.next_cursor().map(str::to_owned);
    let err = loop {
        match client.orders_page(None, after.as_deref()).await {
            Ok(p) => after = p.next_cursor().map(str::to_owned),
            Err(e) => break e,
        }
        assert!(
            after.is_some(),
            "60 orders at 2 points a second cannot all come"
        );
    };
    assert!(matches!(err, ShopifyError::Throttled { .. }), "{err}");
    assert!(err.to_string().contains("try again"), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "bounded: {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn a_bulk_export_is_run_polled_downloaded_and_read_whole() {
    let sim = ShopifySim::new(ShopifySimConfig {
        orders: 300,
        bulk_ms: 400,
        ..Default::default()
    });
    let big = sim.add_order(120, 2);
    let client = client_for(
        &sim,
        Patience {
            bulk_poll: Duration::from_millis(50),
            ..Patience::default()
        },
    )
    .await;
    assert_eq!(client.orders_count(None, 1_000).await.unwrap(), 301);
    let mut export = client.bulk_orders(None).await.unwrap();
    assert_eq!(sim.exports(), 1);
    let mut orders = Vec::new();
    loop {
        let page = export.next_orders(100).unwrap();
        if page.is_empty() {
            break;
        }
        orders.extend(page);
    }
    assert_eq!(orders.len(), 301);
    let big = orders.iter().find(|o| o.name == big).unwrap();
    assert_eq!(big.fulfillment_orders.nodes.len(), 2);
    assert_eq!(
        big.fulfillment_orders
            .nodes
            .iter()
            .map(|f| f.line_items.nodes.len())
            .sum::<usize>(),
        120
    );

    // A catch-up exports only what changed since the watermark.
    let since = SystemClock.now() - chrono::Duration::minutes(5);
    assert_eq!(client.orders_count(Some(since), 1_000).await.unwrap(), 1);
    let mut export = client.bulk_orders(Some(since)).await.unwrap();
    let changed = export.next_orders(1_000).unwrap();
    assert_eq!(changed.len(), 1, "only the order added just now");
    assert_eq!(changed[0].name, big.name);
}

#[tokio::test]
async fn a_bulk_export_that_runs_too_long_fails_the_import_with_a_clear_error() {
    let sim = ShopifySim::new(ShopifySimConfig {
        orders: 10,
        bulk_ms: 60_000,
        ..Default::default()
    });
    let client = client_for(
        &sim,
        Patience {
            bulk: Duration::from_millis(600),
            bulk_poll: Duration::from_millis(50),
            ..Patience::default()
        },
    )
    .await;
    let err = client.bulk_orders(None).await.err().unwrap();
    assert!(err.to_string().contains("still running"), "{err}");
}

#[tokio::test]
async fn a_store_with_a_small_bucket_gets_smaller_pages() {
    // A bucket of 500 (Shopify's smallest plans have had 1,000 and 50/s; a stand-in may be
    // smaller still): the first page asked is refused, then pages shrink to fit.
    let sim = ShopifySim::new(ShopifySimConfig {
        orders: 30,
        bucket: Some(500.0),
        restore_rate: 500.0,
        ..Default::default()
    });
    let client = client_for(&sim, Patience::default()).await;
    let mut after: Option<String> = None;
    let mut n = 0;
    loop {
        let page = client.orders_page(None, after.as_deref()).await.unwrap();
        assert!(
            page.nodes.len() <= 9,
            "{} orders on a page",
            page.nodes.len()
        );
        n += page.nodes.len();
        after = page.next_cursor().map(str::to_owned);
        if after.is_none() {
            break;
        }
    }
    assert_eq!(n, 30);
}

#[tokio::test]
async fn the_sim_refuses_a_fragment_that_is_never_spread_as_graphql_does() {
    let sim = ShopifySim::new(ShopifySimConfig::default());
    let (_, url) = served(&sim, Patience::default()).await;
    let answer = by_hand(
        &sim,
        &url,
        json!({"query": "query { orders(first: 1) { nodes { id } } } fragment F on Order { id }"}),
    )
    .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "useAndDefineFragment",
        "{answer}"
    );
    assert!(answer["data"].is_null());
}
