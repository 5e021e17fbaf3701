//! Importing orders through the real Shopify client from the Shopify sim on loopback.

use packbench_sim::{ShopifySim, ShopifySimConfig};
use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

pub async fn orders_are_imported_once_per_fulfillment_order_at_our_location(url: String) {
    let app = TestApp::spawn_with_ups(&url, std::time::Duration::from_secs(2)).await;
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code(), "shop_not_configured");

    let config = ShopifySimConfig {
        orders: 30,
        ..ShopifySimConfig::default()
    };
    let sim = ShopifySim::new(config.clone());
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    let base = format!("http://{addr}/admin/api/{}", packbench_shopify::API_VERSION);
    let settings = json!({"shopify": {"shop_domain": "acme.myshopify.com", "access_token": "wrong",
                                      "api_base_url": base, "location_ids": [config.locations[0]]}});
    let r = app
        .call(
            Method::PATCH,
            "/api/acme/settings",
            Some(&app.admin),
            Some(settings),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 502, "a refused token is said: {}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("access token")
    );

    let r = app
        .call(
            Method::PATCH,
            "/api/acme/settings",
            Some(&app.admin),
            Some(json!({"shopify": {"access_token": config.access_token}})),
        )
        .await;
    assert_eq!(r.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await; // the settings cache
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(d["fetched"], 30);
    assert_eq!(d["pages"], 1);
    // 30 orders: #1013 and #1026 are cancelled (i % 13 == 9... i = 9, 22), on hold i % 11 == 5
    // (i = 5, 16, 27), split i % 7 == 3 (i = 3, 10, 17, 24): their second part is at the other
    // location, so one bench order each here.
    let expected = (0..30usize)
        .filter(|i| i % 13 != 9)
        .filter(|i| i % 11 != 5 || i % 7 == 3)
        .count();
    assert_eq!(d["created"].as_u64().unwrap() as usize, expected, "{d}");

    let list = app.get("/orders?limit=500", &app.packer).await;
    let names: Vec<&str> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"#1001"));
    assert!(
        !names.contains(&"#1010"),
        "cancelled in Shopify: not at the bench"
    );
    let detail = app
        .get(
            &format!("/orders/{}", list.body["data"][0]["id"].as_str().unwrap()),
            &app.packer,
        )
        .await;
    let o = &detail.body["data"];
    assert!(o["ship_to"]["postal_code"].is_string(), "{o}");
    assert!(o["lines"][0]["sku"].as_str().unwrap().starts_with("SIM-"));

    // Again: nothing doubled.
    let again = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(again.body["data"]["created"], 0, "{}", again.body);
    let count = app.get("/orders?limit=500", &app.packer).await.body["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(count, expected);

    // Clearing forgets the watermark: the next sync brings everything back.
    let r = app
        .call(Method::DELETE, "/api/acme/sync", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, 200);
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(
        r.body["data"]["created"].as_u64().unwrap() as usize,
        expected
    );
}
