//! One order through a `packbench demo` hub over HTTP, as a packer takes it: log in, take an
//! order, pick it, pack it at the weight it should have, ship it, fetch its label.
//!
//! By default the hub is the `packbench` this test was built with. `PACKBENCH_SMOKE_HUB` names
//! another build of it, started through `PACKBENCH_SMOKE_RUNNER` if set: CI runs the Windows
//! build, `packbench.exe`, under Wine this way (`.ci/windows`). That hub keeps its database
//! where a Windows hub does by default (the platform data directory, in Wine's prefix).

#[allow(dead_code, reason = "each test binary uses part of it")]
mod common;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The hub to run, and the arguments before `demo`.
fn hub_command() -> tokio::process::Command {
    match std::env::var("PACKBENCH_SMOKE_HUB") {
        Ok(exe) => match std::env::var("PACKBENCH_SMOKE_RUNNER") {
            Ok(runner) => {
                let mut c = tokio::process::Command::new(runner);
                c.arg(exe);
                c
            }
            Err(_) => tokio::process::Command::new(exe),
        },
        Err(_) => {
            let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_packbench"));
            c.args(["--database", &packbench_store::testing::sqlite_url()]);
            c
        }
    }
}

struct Hub {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Hub {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self
            .http
            .request(method.clone(), format!("{}/api/demo{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    async fn operate(&self, order: &str, body: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            &format!("/orders/{order}/operations"),
            Some(body),
        )
        .await
    }
}

#[tokio::test]
async fn a_packer_ships_one_order_through_the_demo_hub() {
    let mut demo = hub_command()
        .args(["demo", "--bind", "127.0.0.1:0", "--orders", "6"])
        .stdout(Stdio::piped())
        // Another build's log is worth seeing when it fails; this one's is not.
        .stderr(if std::env::var_os("PACKBENCH_SMOKE_HUB").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true)
        .spawn()
        .expect("the hub starts");
    let mut out = BufReader::new(demo.stdout.take().unwrap()).lines();
    let (mut packer, mut base) = (String::new(), String::new());
    while base.is_empty() {
        // Wine's first start of a prefix takes a while.
        let line = tokio::time::timeout(Duration::from_secs(180), out.next_line())
            .await
            .expect("the hub says where it listens within 3 minutes")
            .unwrap()
            .expect("the hub is still running");
        if let Some(p) = line.trim().strip_prefix("packer / ") {
            packer = p.to_owned();
        }
        if let Some(u) = line.strip_prefix("Packbench hub on ") {
            base = u.trim().to_owned();
        }
    }
    let http = reqwest::Client::new();
    // The printed password works.
    let token = common::login(&http, &base, "demo", "packer", &packer).await;
    let hub = Hub { base, http, token };

    // The oldest pending order that can be taken (the demo has a held one).
    let pending = hub
        .call(reqwest::Method::GET, "/orders?status=pending", None)
        .await;
    let mut taken = None;
    for o in pending["data"].as_array().unwrap() {
        let id = o["id"].as_str().unwrap();
        let r = hub
            .http
            .post(format!("{}/api/demo/orders/{id}/operations", hub.base))
            .bearer_auth(&hub.token)
            .json(&json!({"action": "assign"}))
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            taken = Some(id.to_owned());
            break;
        }
    }
    let id = taken.expect("one demo order can be taken");

    let order = hub
        .call(reqwest::Method::GET, &format!("/orders/{id}"), None)
        .await;
    let items = common::all_items(&order);
    assert!(!items.is_empty(), "{order}");
    let r = hub
        .operate(&id, json!({"action": "pick", "items": items}))
        .await;
    assert_eq!(r["data"]["status"], "picked", "{r}");

    // Packed at what its items should weigh (the sim's shop gives every variant a weight).
    let expected = &order["data"]["expected_weight"];
    let weight = expected["items"]
        .as_f64()
        .unwrap_or_else(|| panic!("the demo's items have weights: {expected}"));
    let r = hub
        .operate(
            &id,
            json!({"action": "pack", "package": {"weight": weight, "weight_unit": expected["unit"],
                "dimensions": {"length": 10, "width": 8, "height": 4}}}),
        )
        .await;
    assert_eq!(r["data"]["status"], "packed", "{r}");

    let r = hub
        .operate(&id, json!({"action": "ship", "service": "ground"}))
        .await;
    assert_eq!(r["data"]["status"], "shipped", "{r}");
    let tracking = r["data"]["shipment"]["tracking_number"].as_str().unwrap();
    assert!(tracking.starts_with("1Z"), "{tracking}");
    let label_url = r["data"]["shipment"]["label_url"].as_str().unwrap();

    let label = hub
        .http
        .get(format!("{}{label_url}", hub.base))
        .bearer_auth(&hub.token)
        .send()
        .await
        .unwrap();
    assert_eq!(label.status(), 200);
    assert_eq!(label.headers()["content-type"], "image/png");
    let png = label.bytes().await.unwrap();
    let img = image::load_from_memory(&png).expect("the label is a PNG");
    assert!(
        img.width() >= 800 && img.height() >= 1200,
        "a 4x6 label at 203 dpi or more: {}x{}",
        img.width(),
        img.height()
    );
    let after = hub
        .call(reqwest::Method::GET, &format!("/orders/{id}"), None)
        .await;
    assert_eq!(after["data"]["status"], "shipped");
}
