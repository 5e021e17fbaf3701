//! Importing orders through the real Shopify client from the Shopify sim on loopback.
//!
//! Long because the import is: pages, nested pages, bulk exports, throttling, webhooks,
//! holds, edits and privacy requests, each a test over the same sim fixtures.

use packbench_core::ports::ShopSyncStore;
use packbench_sim::{ShopifySim, ShopifySimConfig};
use reqwest::Method;
use serde_json::{Value, json};

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
    let r = app.patch_settings(settings).await;
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
        .patch_settings(json!({"shopify": {"access_token": config.access_token}}))
        .await;
    assert_eq!(r.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await; // the settings cache
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(d["fetched"], 30);
    // Pages fit Shopify's 1,000-point cap: 13 orders each with this query (75 points an
    // order: 2 fulfillment orders of 10 lines, each line with its variant and weight).
    assert_eq!(d["pages"], 3);
    // 30 orders: i = 9 and 22 are cancelled (i % 13 == 9) and not imported; i = 5, 16, 27 are on
    // hold (imported, not assignable); split ones (i % 7 == 3) have their second part at the
    // other location, so one bench order each here.
    let expected = (0..30usize).filter(|i| i % 13 != 9).count();
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

    // On hold in Shopify (#1006, i = 5): here, but not assignable, and auto-assign skips it.
    let held = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "#1006")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let d = app.get(&format!("/orders/{held}"), &app.packer).await;
    assert_eq!(d.body["data"]["hold"], "on hold in Shopify", "{}", d.body);
    let r = app
        .operate(&held, &app.packer, json!({"action": "assign"}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("on hold")
    );
    for _ in 0..6 {
        let c = app.post("/orders/claim", &app.packer, json!({})).await;
        assert_ne!(
            c.body["data"]["id"],
            held.as_str(),
            "auto-assign skips held orders"
        );
    }

    // Again: nothing doubled.
    let again = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(again.body["data"]["created"], 0, "{}", again.body);
    let count = app.get("/orders?limit=500", &app.packer).await.body["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(count, expected);

    // Edited in Shopify: taken as is while nobody has picked; flagged once picking started.
    let by_name = |name: &str| {
        list.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (fresh, started) = (by_name("#1003"), by_name("#1008"));
    let before = app.get(&format!("/orders/{fresh}"), &app.packer).await.body["data"]["lines"][0]["quantity"]
        .as_u64()
        .unwrap();
    let lines = app
        .get(&format!("/orders/{started}"), &app.packer)
        .await
        .body["data"]["lines"]
        .clone();
    app.operate(&started, &app.admin, json!({"action": "assign"}))
        .await;
    let r = app
        .operate(
            &started,
            &app.admin,
            json!({"action": "pick", "items": [{"sku": lines[0]["sku"], "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    sim.edit_order("#1003");
    sim.edit_order("#1008");
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(
        (
            r.body["data"]["updated"].as_u64(),
            r.body["data"]["flagged_for_review"].as_u64()
        ),
        (Some(1), Some(1)),
        "{}",
        r.body
    );
    let f = app.get(&format!("/orders/{fresh}"), &app.packer).await;
    assert_eq!(
        f.body["data"]["lines"][0]["quantity"].as_u64().unwrap(),
        before + 1,
        "{}",
        f.body
    );
    let s = app.get(&format!("/orders/{started}"), &app.packer).await;
    assert!(
        s.body["data"]["review"]
            .as_str()
            .unwrap()
            .contains("edited in Shopify")
    );
    assert_eq!(
        s.body["data"]["lines"][0]["quantity"], lines[0]["quantity"],
        "a picked order is not silently changed"
    );
    assert_eq!(s.body["data"]["lines"][0]["picked"], 1);
    // Someone checks it with the shop and clears the flag; the history says who; again is a no-op.
    for _ in 0..2 {
        let r = app
            .call(
                Method::DELETE,
                &format!("/api/acme/orders/{started}/review"),
                Some(&app.packer),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let s = app.get(&format!("/orders/{started}"), &app.packer).await;
    assert!(s.body["data"]["review"].is_null(), "{}", s.body);
    let cleared: Vec<&Value> = s.body["data"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "review_cleared")
        .collect();
    assert_eq!(cleared.len(), 1, "{}", s.body);
    assert!(cleared[0]["user_id"].is_string());
    let r = app
        .call(
            Method::DELETE,
            "/api/acme/orders/ord_nosuchorder00000/review",
            Some(&app.packer),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // Released in Shopify: assignable at the next sync.
    sim.release_hold("#1006");
    app.post("/sync", &app.admin, json!({})).await;
    let d = app.get(&format!("/orders/{held}"), &app.packer).await;
    assert!(d.body["data"]["hold"].is_null(), "{}", d.body);
    let r = app
        .operate(&held, &app.packer, json!({"action": "assign"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Cancelled in Shopify before it left: cancelled here too, at the next sync.
    sim.cancel_order("#1001");
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.body["data"]["cancelled"], 1, "{}", r.body);
    let id_1001 = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "#1001")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = app.get(&format!("/orders/{id_1001}"), &app.packer).await;
    assert_eq!(o.body["data"]["status"], "cancelled", "{}", o.body);

    // Clearing forgets the watermark: the next sync brings everything back.
    let r = app
        .call(Method::DELETE, "/api/acme/sync", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, 200);
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(
        r.body["data"]["created"].as_u64().unwrap() as usize,
        expected - 1,
        "everything but the order cancelled since"
    );
}

pub async fn shipped_orders_are_reported_to_shopify_once_with_tracking(url: String) {
    let app = TestApp::spawn_with_ups(&url, std::time::Duration::from_secs(2)).await;
    let ups = packbench_sim::UpsSim::new(packbench_sim::UpsSimConfig::default()).unwrap();
    let ups_addr = packbench_sim::serve_loopback(ups.router()).await.unwrap();
    let config = ShopifySimConfig {
        orders: 3,
        ..ShopifySimConfig::default()
    };
    let shop = ShopifySim::new(config.clone());
    let shop_addr = packbench_sim::serve_loopback(shop.router()).await.unwrap();
    let u = ups.config();
    let settings = json!({
        "shopify": {"shop_domain": "acme.myshopify.com", "access_token": config.access_token,
                    "api_base_url": format!("http://{shop_addr}/admin/api/{}", packbench_shopify::API_VERSION),
                    "location_ids": [config.locations[0]], "notify_customer": true},
        "ups": {"client_id": u.client_id, "client_secret": u.client_secret,
                "account_number": u.account_number, "base_url": format!("http://{ups_addr}")},
        "shipper": {"name": "Acme", "phone": "2125550100",
                    "address": {"lines": ["450 W 33rd St"], "city": "New York", "state": "NY",
                                "postal_code": "10001", "country": "US"}},
    });
    let r = app.patch_settings(settings).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.body["data"]["created"], 3, "{}", r.body);
    let orders = app.get("/orders?limit=10", &app.packer).await;
    let ids: Vec<String> = orders.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();

    let ship = |id: String| {
        let app = &app;
        async move {
            let d = app.get(&format!("/orders/{id}"), &app.packer).await;
            let items: Vec<serde_json::Value> = d.body["data"]["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| json!({"sku": l["sku"], "quantity": l["quantity"]}))
                .collect();
            for body in [
                json!({"action": "assign"}),
                json!({"action": "pick", "items": items}),
                json!({"action": "pack", "package": {"weight": 1.5}}),
                json!({"action": "ship", "service": "ground"}),
            ] {
                let r = app.operate(&id, &app.packer, body).await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
            app.get(&format!("/orders/{id}"), &app.packer).await
        }
    };

    // Auto-fulfill: the ship reports the parcel at once, with UPS tracking.
    let first = ship(ids[0].clone()).await;
    assert_eq!(
        first.body["data"]["shop_sync"]["state"], "synced",
        "{}",
        first.body
    );
    let sent = shop.fulfillments();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].company, "UPS");
    assert!(sent[0].notify_customer);
    let tracking = first.body["data"]["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap();
    assert_eq!(sent[0].numbers, [tracking]);
    assert!(sent[0].urls[0].ends_with(tracking));

    // The shop refuses the token: the ship still succeeds; the push is failed, with why.
    let r = app
        .patch_settings(json!({"shopify": {"access_token": "revoked"}}))
        .await;
    assert_eq!(r.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let second = ship(ids[1].clone()).await;
    assert_eq!(second.body["data"]["status"], "shipped");
    assert_eq!(
        second.body["data"]["shop_sync"]["state"], "failed",
        "{}",
        second.body
    );
    assert!(
        second.body["data"]["shop_sync"]["reason"]
            .as_str()
            .unwrap()
            .contains("access token")
    );

    // Fixed, then Batch Sync sends what failed, and only that; a second run sends nothing.
    app.patch_settings(json!({"shopify": {"access_token": config.access_token}}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let r = app.post("/batches/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.body["data"]["total"].as_u64(),
            r.body["data"]["synced"].as_u64()
        ),
        (Some(1), Some(1)),
        "{}",
        r.body
    );
    assert_eq!(shop.fulfillments().len(), 2);
    let again = app.post("/batches/sync", &app.admin, json!({})).await;
    assert_eq!(again.body["data"]["total"], 0, "{}", again.body);
    // Cancelled in Shopify after it shipped: announced, left shipped.
    let name = first.body["data"]["name"].as_str().unwrap().to_owned();
    shop.cancel_order(&name);
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.body["data"]["cancelled_after_shipping"], 1, "{}", r.body);
    let o = app.get(&format!("/orders/{}", ids[0]), &app.packer).await;
    assert_eq!(o.body["data"]["status"], "shipped");

    // Naming an order already reported sends nothing either.
    let named = app
        .post("/batches/sync", &app.admin, json!({"order_ids": [ids[0]]}))
        .await;
    assert_eq!(named.body["data"]["synced"], 1);
    assert_eq!(shop.fulfillments().len(), 2, "never a second fulfillment");

    // An order in two boxes: Shopify gets both tracking numbers in one fulfillment.
    let id = &ids[2];
    let d = app.get(&format!("/orders/{id}"), &app.packer).await;
    let items: Vec<serde_json::Value> = d.body["data"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!({"sku": l["sku"], "quantity": l["quantity"]}))
        .collect();
    for body in [
        json!({"action": "assign"}),
        json!({"action": "pick", "items": items}),
        json!({"action": "pack", "package": {"weight": 1.5}, "more_packages": [{"weight": 2.5}]}),
    ] {
        let r = app.operate(id, &app.packer, body).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = app
        .operate(
            id,
            &app.packer,
            json!({"action": "ship", "service": "ground"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = &r.body["data"]["shipment"];
    let both = vec![
        s["tracking_number"].as_str().unwrap().to_owned(),
        s["more_packages"][0]["tracking_number"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    let sent = shop.fulfillments();
    assert_eq!(sent.len(), 3);
    assert_eq!(
        sent[2].numbers, both,
        "every box's number, the shipment's first"
    );
    assert!(sent[2].urls[1].ends_with(&both[1]));
}

pub async fn webhooks_are_verified_kept_once_and_processed(url: String) {
    let (app, config, shop, addr) = hub_and_shop(&url, 4).await;
    let secret = "shpss_test_secret";
    let r = app.patch_settings(json!({"shopify": {"shop_domain": "acme.myshopify.com", "access_token": config.access_token,
                "api_secret": secret,
                "api_base_url": format!("http://{addr}/admin/api/{}", packbench_shopify::API_VERSION)}}))
        .await;
    assert_eq!(r.status, 200);
    let deliver = |topic: String, id: String, body: Vec<u8>, signature: Option<String>| {
        let app = &app;
        async move {
            let mut req = app
                .http
                .post(format!("{}/api/acme/webhooks/shopify", app.base))
                .header("content-type", "application/json")
                .header("x-shopify-topic", topic)
                .header("x-shopify-webhook-id", id)
                .body(body);
            if let Some(s) = signature {
                req = req.header("x-shopify-hmac-sha256", s);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../specs/shopify/examples/webhooks");
    let body = std::fs::read(dir.join("orders_create.2026-07.json")).unwrap();
    let good = packbench_shopify::webhook::sign(secret.as_bytes(), &body);

    // A bad or missing signature: 401, nothing kept, nothing done.
    let (s, b) = deliver(
        "orders/create".into(),
        "w-bad".into(),
        body.clone(),
        Some(packbench_shopify::webhook::sign(b"other", &body)),
    )
    .await;
    assert_eq!(s, 401, "{b}");
    let (s, _) = deliver("orders/create".into(), "w-none".into(), body.clone(), None).await;
    assert_eq!(s, 401);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(shop.queries(), 0, "nothing processed");

    // A good one: 200 at once; processing imports the store's orders in the background.
    let (s, b) = deliver(
        "orders/create".into(),
        "w-1".into(),
        body.clone(),
        Some(good.clone()),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["duplicate"], false);
    let (s, b) = deliver(
        "orders/create".into(),
        "w-1".into(),
        body.clone(),
        Some(good),
    )
    .await;
    assert_eq!(
        (s, &b["data"]["duplicate"]),
        (200, &json!(true)),
        "a redelivery is dropped"
    );
    let mut imported = 0;
    for _ in 0..50 {
        imported = app.get("/orders?limit=50", &app.packer).await.body["data"]
            .as_array()
            .unwrap()
            .len();
        if imported > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(imported > 0, "the delivery brought an import");

    // A signed body replayed under a topic that acts on its own, or for another shop: refused,
    // nothing kept (the topic and shop headers are not signed).
    let sign = |b: &[u8]| Some(packbench_shopify::webhook::sign(secret.as_bytes(), b));
    let not_this_shop = br#"{"shop_id": 1, "shop_domain": "other.myshopify.com"}"#.to_vec();
    let customer = br#"{"shop_id": 1, "shop_domain": "acme.myshopify.com", "customer": {"id": 7}, "orders_to_redact": [1]}"#.to_vec();
    for (topic, replayed) in [
        ("app/uninstalled", body.clone()),
        ("shop/redact", body.clone()),
        ("shop/redact", customer.clone()),
        ("shop/redact", not_this_shop.clone()),
        ("customers/data_request", customer.clone()),
    ] {
        let (s, b) = deliver(
            topic.into(),
            "w-replayed".into(),
            replayed.clone(),
            sign(&replayed),
        )
        .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (422, Some("validation_failed")),
            "{topic}: {b}"
        );
    }
    let s = app.get("/settings", &app.admin).await;
    assert_eq!(
        s.body["data"]["shopify"]["access_token_set"], true,
        "still connected"
    );
    let p = app.get("/privacy-requests", &app.admin).await;
    assert_eq!(
        p.body["data"].as_array().map(Vec::len),
        Some(0),
        "{}",
        p.body
    );

    // Every documented sample body, addressed to this shop, is accepted and processed.
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 17);
    for (i, f) in files.iter().enumerate() {
        let name = f.file_name().unwrap().to_str().unwrap();
        let stem = name.split('.').next().unwrap();
        // orders_create → orders/create, fulfillment_orders_split → fulfillment_orders/split...
        let topic = [
            "fulfillment_orders_",
            "fulfillment_holds_",
            "bulk_operations_",
            "customers_",
            "orders_",
            "fulfillments_",
            "app_",
            "shop_",
        ]
        .iter()
        .find_map(|p| {
            stem.strip_prefix(p)
                .map(|rest| format!("{}/{rest}", p.trim_end_matches('_')))
        })
        .unwrap();
        let text = std::fs::read_to_string(f)
            .unwrap()
            .replace("{shop}.myshopify.com", "acme.myshopify.com");
        let mut sample: serde_json::Value = serde_json::from_str(&text).unwrap();
        if topic == "app/uninstalled" {
            // The documented sample leaves the shop out.
            sample["myshopify_domain"] = "acme.myshopify.com".into();
        }
        let body = serde_json::to_vec(&sample).unwrap();
        let sig = packbench_shopify::webhook::sign(secret.as_bytes(), &body);
        let (s, b) = deliver(topic.clone(), format!("sample-{i}"), body, Some(sig)).await;
        assert_eq!(s, 200, "{topic}: {b}");
    }
    // Processed: the uninstall among them disconnected the store (its token is gone).
    let mut disconnected = false;
    for _ in 0..50 {
        let s = app.get("/settings", &app.admin).await;
        if s.body["data"]["shopify"]["access_token_set"] == false {
            disconnected = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(disconnected, "app/uninstalled disconnects the store");
    // Processing runs in the background: wait (bounded) for the inbox to drain.
    let mut pending = Vec::new();
    for _ in 0..50 {
        pending = app.store.inbox_pending(&app.acme.id, 100).await.unwrap();
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        pending.is_empty(),
        "every delivery processed: {:?}",
        pending.iter().map(|p| &p.1).collect::<Vec<_>>()
    );
}

pub async fn the_sims_signed_webhooks_bring_changes_without_a_sync(url: String) {
    let app = TestApp::spawn_with_ups(&url, std::time::Duration::from_secs(2)).await;
    let config = ShopifySimConfig {
        orders: 8,
        webhook_url: Some(format!("{}/api/acme/webhooks/shopify", app.base)),
        webhook_secret: "shpss_from_the_sim".into(),
        ..ShopifySimConfig::default()
    };
    let sim = ShopifySim::new(config.clone());
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    let r = app.patch_settings(json!({"shopify": {"shop_domain": "acme.myshopify.com", "access_token": config.access_token,
                "api_secret": config.webhook_secret,
                "api_base_url": format!("http://{addr}/admin/api/{}", packbench_shopify::API_VERSION)}}))
        .await;
    assert_eq!(r.status, 200);
    app.post("/sync", &app.admin, json!({})).await;
    let list = app.get("/orders?limit=50", &app.packer).await;
    let held = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "#1006")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get(&format!("/orders/{held}"), &app.packer).await.body["data"]["hold"],
        "on hold in Shopify"
    );
    // The merchant releases the hold; Shopify (the sim) tells the hub by webhook.
    sim.release_hold("#1006");
    assert_eq!(
        sim.notify("fulfillment_orders/hold_released", "#1006")
            .await,
        Some(200)
    );
    let mut released = false;
    for _ in 0..50 {
        let d = app.get(&format!("/orders/{held}"), &app.packer).await;
        if d.body["data"]["hold"].is_null() {
            released = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        released,
        "the webhook brought the release without anyone syncing"
    );
}

pub async fn expiring_tokens_are_fetched_and_renewed(url: String) {
    let (app, config, sim, addr) = hub_and_shop(&url, 3).await;
    let r = app.patch_settings(json!({"shopify": {"shop_domain": "acme.myshopify.com",
                "client_id": config.client_id, "client_secret": config.client_secret,
                "api_base_url": format!("http://{addr}/admin/api/{}", packbench_shopify::API_VERSION)}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["shopify"]["client_secret_set"], true);
    assert!(
        !r.body.to_string().contains(&config.client_secret),
        "write-only"
    );
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(sim.token_calls(), 1, "a token was fetched");
    app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(sim.token_calls(), 1, "and reused");
    // The store revokes it (or it expired early): one 401, one renewal, the call goes through.
    sim.expire_tokens();
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(sim.token_calls(), 2);
}

/// A logged-in client is kept per set of credentials, not per shop: another tenant that names
/// the same shop and client id with a wrong secret is refused by the shop and imports nothing
/// (it once reused the first tenant's client and its token).
pub async fn another_tenants_client_is_never_reused_with_other_credentials(url: String) {
    let (app, config, sim, addr) = hub_and_shop(&url, 3).await;
    let settings = |secret: &str| {
        json!({"shopify": {"shop_domain": "acme.myshopify.com",
            "client_id": config.client_id, "client_secret": secret,
            "api_base_url": format!("http://{addr}/admin/api/{}", packbench_shopify::API_VERSION)}})
    };
    let r = app.patch_settings(settings(&config.client_secret)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(sim.token_calls(), 1);

    let r = app
        .call(
            Method::PATCH,
            "/api/bolt/settings",
            Some(&app.bolt_admin),
            Some(settings("not-the-secret")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .call(
            Method::POST,
            "/api/bolt/sync",
            Some(&app.bolt_admin),
            Some(json!({})),
        )
        .await;
    assert_ne!(r.status, 200, "a wrong secret imports nothing: {}", r.body);
    assert_eq!(r.body["error"]["code"], "shop_unavailable", "{}", r.body);
    assert_eq!(sim.token_calls(), 1, "the shop issued bolt no token");
    let r = app
        .call(Method::GET, "/api/bolt/orders", Some(&app.bolt_admin), None)
        .await;
    assert_eq!(
        r.body["data"].as_array().map(Vec::len),
        Some(0),
        "{}",
        r.body
    );
}

/// The privacy webhooks: a data request is answered with what the bench holds on the orders it
/// names; a redaction erases customer details from orders the bench is done with (here a
/// cancelled one) and waits for the one still at the bench, finishing once it is cancelled too.
/// Processed deliveries keep no body.
pub async fn privacy_requests_are_answered_and_carried_out(url: String) {
    let (app, config, shop, addr) = hub_and_shop(&url, 4).await;
    let secret = "shpss_test_secret";
    let r = app.patch_settings(json!({"shopify": {"shop_domain": "acme.myshopify.com", "access_token": config.access_token,
                "api_secret": secret, "location_ids": [config.locations[0]],
                "api_base_url": format!("http://{addr}/admin/api/{}", packbench_shopify::API_VERSION)}}))
        .await;
    assert_eq!(r.status, 200);
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let by_name = |name: &'static str| {
        let app = &app;
        async move {
            let list = app.get("/orders?limit=50", &app.admin).await;
            let id = list.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["name"] == name)
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .unwrap_or_else(|| panic!("{name} imported"));
            app.get(&format!("/orders/{id}"), &app.admin).await.body["data"].clone()
        }
    };
    let open = by_name("#1001").await;
    let done = by_name("#1002").await;
    assert!(open["ship_to"].is_object() && done["customer_name"].is_string());
    let r = app
        .operate(
            done["id"].as_str().unwrap(),
            &app.admin,
            json!({"action": "cancel", "reason": "customer called"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let shop_ids = json!([
        shop.order_id("#1001").unwrap(),
        shop.order_id("#1002").unwrap()
    ]);
    let deliver = |topic: &'static str, id: &'static str, body: Value| {
        let app = &app;
        async move {
            let body = body.to_string();
            let r = app
                .http
                .post(format!("{}/api/acme/webhooks/shopify", app.base))
                .header("content-type", "application/json")
                .header("x-shopify-topic", topic)
                .header("x-shopify-webhook-id", id)
                .header(
                    "x-shopify-hmac-sha256",
                    packbench_shopify::webhook::sign(secret.as_bytes(), body.as_bytes()),
                )
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    };
    // The requests once each has been looked at (a result is kept every time, even while a
    // redaction waits), processing being in the background.
    let requests = |count: usize| {
        let app = &app;
        async move {
            let mut list = Vec::new();
            for _ in 0..100 {
                let r = app.get("/privacy-requests", &app.admin).await;
                assert_eq!(r.status, 200, "{}", r.body);
                list = r.body["data"].as_array().unwrap().clone();
                if list.len() >= count && list.iter().all(|x| !x["result"].is_null()) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            list
        }
    };
    let customer = json!({"id": 191167, "email": "john@example.com", "phone": "555-625-1199"});

    deliver(
        "customers/data_request",
        "privacy-1",
        json!({"shop_id": 954889, "shop_domain": "acme.myshopify.com", "customer": customer,
               "orders_requested": shop_ids, "data_request": {"id": 9999}}),
    )
    .await;
    let list = requests(1).await;
    assert_eq!(list.len(), 1);
    let answer = &list[0];
    assert_eq!(answer["kind"], "customer_data_request");
    assert_eq!(answer["customer_id"], "191167");
    assert!(answer["completed_at"].is_string(), "{answer}");
    let found = answer["result"]["orders"].as_array().unwrap();
    assert_eq!(found.len(), 2, "{answer}");
    let first = found.iter().find(|o| o["order"] == "#1001").unwrap();
    assert_eq!(first["ship_to"], open["ship_to"]);
    assert_eq!(first["customer_name"], open["customer_name"]);

    deliver(
        "customers/redact",
        "privacy-2",
        json!({"shop_id": 954889, "shop_domain": "acme.myshopify.com", "customer": customer,
               "orders_to_redact": shop_ids}),
    )
    .await;
    let list = requests(2).await;
    let redact = list.iter().find(|r| r["id"] == "privacy-2").unwrap();
    assert_eq!(redact["kind"], "customer_redact");
    assert_eq!(redact["result"]["erased"], json!(["#1002"]), "{redact}");
    assert_eq!(redact["result"]["waiting"], json!(["#1001"]));
    assert!(redact["completed_at"].is_null(), "still waiting for #1001");
    let erased = by_name("#1002").await;
    assert_eq!(erased["customer_name"], "(redacted)");
    assert!(erased["ship_to"].is_null());
    assert!(
        erased["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "customer_redacted")
    );
    let kept = by_name("#1001").await;
    assert_eq!(
        kept["ship_to"], open["ship_to"],
        "an order still at the bench keeps its address"
    );

    // Once #1001 leaves the bench (cancelled here), the next round finishes the redaction.
    let r = app
        .operate(
            kept["id"].as_str().unwrap(),
            &app.admin,
            json!({"action": "cancel", "reason": "customer asked to be forgotten"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.state
        .fulfillment
        .process_inbox(&app.acme.id)
        .await
        .unwrap();
    let list = requests(2).await;
    let redact = list.iter().find(|r| r["id"] == "privacy-2").unwrap();
    assert!(redact["completed_at"].is_string(), "{redact}");
    assert_eq!(redact["result"]["waiting"], json!([]));
    assert!(by_name("#1001").await["ship_to"].is_null());

    // Admins only; and the processed deliveries' bodies (customer details) are gone.
    let r = app.get("/privacy-requests", &app.packer).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        app.store
            .inbox_body(&app.acme.id, "privacy-1")
            .await
            .unwrap(),
        Some(Vec::new())
    );
}

/// Connects the `acme` tenant to a Shopify sim through settings, as an admin does.
/// A hub with the real UPS client, and a Shopify sim of `orders` orders on loopback: its
/// config, the sim, and its address.
async fn hub_and_shop(
    url: &str,
    orders: usize,
) -> (
    TestApp,
    ShopifySimConfig,
    std::sync::Arc<ShopifySim>,
    std::net::SocketAddr,
) {
    let app = TestApp::spawn_with_ups(url, std::time::Duration::from_secs(2)).await;
    let config = ShopifySimConfig {
        orders,
        ..ShopifySimConfig::default()
    };
    let sim = ShopifySim::new(config.clone());
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    (app, config, sim, addr)
}

async fn connect_shop(app: &TestApp, sim: &std::sync::Arc<ShopifySim>) {
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    let config = sim.config();
    let r = app.patch_settings(json!({"shopify": {"shop_domain": "acme.myshopify.com", "access_token": config.access_token,
                "api_base_url": format!("http://{addr}/admin/api/{}", packbench_shopify::API_VERSION),
                "location_ids": [config.locations[0]]}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The bench order of a shop order, with its lines' quantities added up.
async fn units_of(app: &TestApp, name: &str) -> u64 {
    let found = app
        .get(
            &format!("/orders?q={}&limit=5", name.trim_start_matches('#')),
            &app.packer,
        )
        .await;
    let id = found.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("{name} at the bench: {}", found.body))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let detail = app.get(&format!("/orders/{id}"), &app.packer).await;
    detail.body["data"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["quantity"].as_u64().unwrap())
        .sum()
}

/// Issue 23 end to end: a store of 1,100 orders is imported first through a bulk export
/// (Shopify's answer for a first import of a big store), an order of 120 lines comes whole,
/// and the next sync pages through what changed, following an order's line items past the
/// first page.
pub async fn a_big_store_comes_in_by_bulk_export_and_big_orders_come_whole(url: String) {
    let app = TestApp::spawn(&url).await;
    let sim = ShopifySim::new(ShopifySimConfig {
        orders: 1_100,
        bulk_ms: 200,
        ..ShopifySimConfig::default()
    });
    let big = sim.add_order(120, 1);
    connect_shop(&app, &sim).await;
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(d["fetched"], 1_101, "{d}");
    assert_eq!(sim.exports(), 1, "one bulk export");
    let expected = (0..1_100usize).filter(|i| i % 13 != 9).count() + 1;
    assert_eq!(d["created"].as_u64().unwrap() as usize, expected, "{d}");
    assert_eq!(units_of(&app, &big).await, 120);

    // Then incremental: pages, no export; a new order of 120 lines and 3 parts comes whole.
    let later = sim.add_order(120, 1);
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(sim.exports(), 1, "an incremental sync pages");
    assert_eq!(r.body["data"]["created"], 1, "{}", r.body);
    assert_eq!(units_of(&app, &later).await, 120);
}

/// A store whose bucket cannot hold one page fails the sync at once, saying why; nothing is
/// imported and the watermark does not move.
pub async fn a_store_too_small_for_one_page_fails_the_sync_with_a_clear_error(url: String) {
    let app = TestApp::spawn(&url).await;
    let sim = ShopifySim::new(ShopifySimConfig {
        orders: 5,
        bucket: Some(40.0),
        restore_rate: 2.0,
        ..ShopifySimConfig::default()
    });
    connect_shop(&app, &sim).await;
    let t = std::time::Instant::now();
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(r.status, 502, "{}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("holds only 40"), "{message}");
    let list = app.get("/orders?limit=10", &app.packer).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 0);
}
