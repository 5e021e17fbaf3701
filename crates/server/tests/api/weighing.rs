//! Weighing packed boxes against their items: SKU weights from the stock screen and from
//! Shopify (through the real client and the sim), the hold, its hint, and the override.

use packbench_sim::{ShopifySim, ShopifySimConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> crate::helpers::Reply {
    app.call(
        Method::PATCH,
        &format!("/api/acme{path}"),
        Some(token),
        Some(body),
    )
    .await
}

fn pack(weight: f64, tare: Option<f64>, reason: Option<&str>) -> Value {
    let mut p = json!({"action": "pack", "package": {"weight": weight, "weight_unit": "lb"}});
    if let Some(t) = tare {
        p["package"]["tare"] = json!(t);
    }
    if let Some(r) = reason {
        p["override_reason"] = json!(r);
    }
    p
}

fn close(v: &Value, to: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - to).abs() < 1e-6)
}

/// An order of 2 × PROD-001 (0.5 lb) and 1 × PROD-002 (12 oz), picked by the packer.
async fn picked(app: &TestApp) -> String {
    let order = app
        .order(&app.acme, "#W1", 5, &[("PROD-001", 2), ("PROD-002", 1)])
        .await;
    let id = order.id().as_str().to_owned();
    let r = app
        .operate(&id, &app.packer, json!({"action": "assign"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .operate(
            &id,
            &app.packer,
            json!({"action": "pick", "items": [{"sku": "PROD-001", "quantity": 2}, {"sku": "PROD-002"}]}),
        )
        .await;
    assert_eq!(r.body["data"]["status"], "picked", "{}", r.body);
    id
}

pub async fn a_box_off_its_weight_is_held_until_someone_allowed_says_why(url: String) {
    let app = TestApp::spawn(&url).await;

    // Weights are set on the stock screen by an admin; bad ones change nothing.
    let r = patch(
        &app,
        "/inventory/weights",
        &app.packer,
        json!({"weights": [{"sku": "PROD-001", "weight": 0.5}]}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    for (bad, field) in [
        (json!({"sku": "PROD-001", "weight": -1}), "weight"),
        (
            json!({"sku": "PROD-001", "weight": 1, "unit": "stone"}),
            "unit",
        ),
        (json!({"sku": "", "weight": 1}), "sku"),
    ] {
        let r = patch(
            &app,
            "/inventory/weights",
            &app.admin,
            json!({"weights": [{"sku": "PROD-002", "weight": 1}, bad]}),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["error"]["details"]["field"], field, "{}", r.body);
    }
    let r = app.get("/inventory/weights", &app.packer).await;
    assert_eq!(
        r.body["data"],
        json!([]),
        "a refused change changes nothing"
    );

    // An order whose weights are not known says so, and packs with a warning.
    let id = picked(&app).await;
    let d = app.get(&format!("/orders/{id}"), &app.packer).await;
    let ew = &d.body["data"]["expected_weight"];
    assert_eq!(ew["items"], Value::Null, "{ew}");
    assert_eq!(ew["unknown_skus"], json!(["PROD-001", "PROD-002"]));
    let r = app.operate(&id, &app.packer, pack(9.0, None, None)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["warnings"][0]["code"], "weight_unknown");

    let r = patch(
        &app,
        "/inventory/weights",
        &app.admin,
        json!({"weights": [{"sku": "PROD-001", "weight": 0.5}, {"sku": "PROD-002", "weight": 12, "unit": "oz"}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["data"][1]["weight"],
        json!({"value": 12.0, "unit": "oz"})
    );
    assert_eq!(r.body["data"][1]["source"], "bench");
    let d = app.get(&format!("/orders/{id}"), &app.packer).await;
    let ew = &d.body["data"]["expected_weight"];
    assert!(close(&ew["items"], 1.75), "2 × 0.5 + 0.75: {ew}");
    assert_eq!(ew["unit"], "lb");
    assert_eq!(ew["checked"], true);

    // Half a pound heavy: held, with an extra mug named; the order does not move.
    let version = app.version(&id).await;
    let r = app.operate(&id, &app.packer, pack(2.25, None, None)).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.code(), "weight_mismatch");
    let w = &r.body["error"]["details"]["weight"];
    assert_eq!(w["verdict"], "held");
    assert!(close(&w["difference"], 0.5), "{w}");
    assert_eq!(w["hint"], "an extra Item PROD-001?");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("held: 0.50 lb heavy: an extra Item PROD-001?"),
        "{message}"
    );
    assert_eq!(
        app.version(&id).await,
        version,
        "a held pack changes nothing"
    );

    // With the box's tare the same weight is right.
    let r = app
        .operate(&id, &app.packer, pack(2.25, Some(0.5), None))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["status"], "packed");
    assert_eq!(r.body["data"]["warnings"], json!([]));

    // Repacked light by a tote: held, and the tote named.
    let r = app.operate(&id, &app.packer, pack(1.0, None, None)).await;
    assert_eq!(r.code(), "weight_mismatch", "{}", r.body);
    assert_eq!(
        r.body["error"]["details"]["weight"]["hint"],
        "a missing Item PROD-002?"
    );
    // An operator may not override unless named; a reason must be words.
    let r = app
        .operate(
            &id,
            &app.packer,
            pack(1.0, None, Some("the tote ships apart")),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.code(), "forbidden");
    let r = app
        .operate(&id, &app.admin, pack(1.0, None, Some("   ")))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["error"]["details"]["field"], "override_reason");

    let r = app
        .patch_settings(json!({"weight_check": {"may_override": ["packer"]}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .operate(
            &id,
            &app.packer,
            pack(1.0, None, Some("the tote ships apart")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = app.get(&format!("/orders/{id}"), &app.admin).await;
    let events = d.body["data"]["events"].as_array().unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["kind"], "weight_override", "{last}");
    assert_eq!(last["payload"]["reason"], "the tote ships apart");
    assert_eq!(last["payload"]["weight"]["verdict"], "held");
    assert!(
        close(&last["payload"]["weight"]["expected"], 1.75),
        "{last}"
    );
    let within = &events[events.len() - 2];
    assert_eq!(within["kind"], "packed");
    assert_eq!(within["payload"]["weight"]["verdict"], "within");
    assert!(close(&within["payload"]["weight"]["tare"], 0.5), "{within}");

    // The tolerance is the tenant's: 50 % lets the light box through; bad settings are named.
    let r = app
        .patch_settings(json!({"weight_check": {"tolerance_percent": 90}}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        r.body["error"]["details"]["field"],
        "weight_check.tolerance_percent"
    );
    let r = app
        .patch_settings(json!({"weight_check": {"tolerance_percent": 50}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.operate(&id, &app.packer, pack(1.0, None, None)).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Turned off, nothing is weighed or recorded.
    let r = app
        .patch_settings(json!({"weight_check": {"enabled": false}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.operate(&id, &app.packer, pack(30.0, None, None)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = app.get(&format!("/orders/{id}"), &app.admin).await;
    let last = d.body["data"]["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "packed");
    assert_eq!(
        last["payload"]["weight"],
        Value::Null,
        "not weighed: {last}"
    );

    // Shipping with a package other than the packed one packs (and weighs) it first.
    let r = app
        .patch_settings(json!({"weight_check": {"enabled": true, "tolerance_percent": 5}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .operate(
            &id,
            &app.packer,
            json!({"action": "ship", "service": "ground", "package": {"weight": 4.0, "weight_unit": "lb"}}),
        )
        .await;
    assert_eq!(r.code(), "weight_mismatch", "{}", r.body);
    let d = app.get(&format!("/orders/{id}"), &app.admin).await;
    assert!(
        close(&d.body["data"]["package"]["weight"]["value"], 30.0),
        "the held box is not packed: {}",
        d.body["data"]["package"]
    );
}

pub async fn shopify_weights_come_in_on_import_and_the_benchs_win(url: String) {
    let app = TestApp::spawn_with_ups(&url, std::time::Duration::from_secs(2)).await;
    let mut config = ShopifySimConfig {
        orders: 12,
        ..ShopifySimConfig::default()
    };
    // SIM-006 is never weighed in the shop: Shopify says 0.
    for (i, p) in config.products.iter_mut().enumerate() {
        p.weight_lb = if i == 5 { 0.0 } else { 0.25 * (i + 1) as f64 };
    }
    let sim = ShopifySim::new(config.clone());
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    let base = format!("http://{addr}/admin/api/{}", packbench_shopify::API_VERSION);
    let r = app.patch_settings(json!({"shopify": {"shop_domain": "acme.myshopify.com", "access_token": config.access_token,
                           "api_base_url": base, "location_ids": [config.locations[0]]}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.post("/sync", &app.admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let weights = |r: &crate::helpers::Reply| -> Vec<(String, f64, String)> {
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["sku"].as_str().unwrap().to_owned(),
                    w["weight"]["value"].as_f64().unwrap(),
                    w["source"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let got = weights(&app.get("/inventory/weights", &app.packer).await);
    assert!(
        got.iter()
            .any(|(s, w, src)| s == "SIM-001" && *w == 0.25 && src == "shop"),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|(s, ..)| s == "SIM-006"),
        "a weight of 0 is no weight: {got:?}"
    );

    // The bench's weight stands through the next import.
    let r = patch(
        &app,
        "/inventory/weights",
        &app.admin,
        json!({"weights": [{"sku": "SIM-001", "weight": 0.3, "unit": "lb"}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let resync = || async {
        let r = app
            .call(Method::DELETE, "/api/acme/sync", Some(&app.admin), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = app.post("/sync", &app.admin, json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body["data"]["created"].as_u64().unwrap() > 0,
            "{}",
            r.body
        );
    };
    resync().await;
    let got = weights(&app.get("/inventory/weights", &app.packer).await);
    assert!(
        got.iter()
            .any(|(s, w, src)| s == "SIM-001" && *w == 0.3 && src == "bench"),
        "{got:?}"
    );
    // Forgotten at the bench, the shop's comes back on the next import.
    let r = patch(
        &app,
        "/inventory/weights",
        &app.admin,
        json!({"weights": [{"sku": "SIM-001", "weight": null}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"], json!([]));
    resync().await;
    let got = weights(&app.get("/inventory/weights", &app.packer).await);
    assert!(
        got.iter()
            .any(|(s, w, src)| s == "SIM-001" && *w == 0.25 && src == "shop"),
        "{got:?}"
    );
}
