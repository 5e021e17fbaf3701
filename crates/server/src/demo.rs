//! The demo tenant: users `admin` and `packer`, a small catalogue with stock at shelf
//! locations, and sample orders from a built-in generator. (The Shopify issue moves the orders
//! onto the Shopify sim, through the real client.)

use anyhow::Context;

use packbench_core::domain::{Gtin, Role, Sku, TenantSlug, Weight, WeightUnit};
use packbench_core::model::{Address, NewOrder, NewOrderLine, StockChange, Tenant, Timestamp};
use packbench_core::service::Fulfillment;
use rand::Rng;
use serde_json::json;

/// (sku, title, UPC-A body without check digit, location, unit weight in lb: 0 for one nobody
/// weighed, as Shopify says it)
const CATALOGUE: [(&str, &str, &str, &str, f64); 12] = [
    ("PROD-001", "Enamel mug, 12 oz", "01234567890", "A-1", 0.75),
    ("PROD-002", "Canvas tote bag", "01234567891", "A-2", 0.4),
    ("PROD-003", "Beeswax candle", "01234567892", "A-10", 0.9),
    ("PROD-004", "Linen tea towel", "01234567893", "A-11", 0.2),
    ("PROD-005", "Ceramic pour-over", "01234567894", "B-1", 1.1),
    ("PROD-006", "Paper filters (100)", "01234567895", "B-2", 0.3),
    (
        "PROD-007",
        "Whole bean coffee 1 lb",
        "01234567896",
        "B-3",
        1.05,
    ),
    ("PROD-008", "Walnut coaster set", "01234567897", "B-12", 0.6),
    (
        "PROD-009",
        "Brass bottle opener",
        "01234567898",
        "C-1",
        0.15,
    ),
    ("PROD-010", "Wool throw blanket", "01234567899", "C-2", 2.8),
    ("PROD-011", "Notebook, dot grid", "01234567800", "C-3", 0.55),
    ("PROD-012", "Fountain pen ink", "01234567801", "C-20", 0.0),
];

const NAMES: [&str; 10] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Frances Allen",
    "Ken Thompson",
    "Margaret Hamilton",
];

const CITIES: [(&str, &str, &str); 5] = [
    ("New York", "NY", "10001"),
    ("Atlanta", "GA", "30301"),
    ("Austin", "TX", "73301"),
    ("Denver", "CO", "80202"),
    ("Seattle", "WA", "98101"),
];

/// A UPC-A with its check digit.
fn upc(body: &str) -> Gtin {
    let digits: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    let check = (10 - sum % 10) % 10;
    Gtin::parse(&format!("{body}{check}"))
        .unwrap_or_else(|_| unreachable!("a computed check digit is valid"))
}

/// The `i`-th sample order: one to four lines from the catalogue, a customer, an address.
pub fn sample_order(i: u64, created_at: Timestamp, rng: &mut impl Rng) -> NewOrder {
    let n_lines = rng.random_range(1..=4usize);
    let mut picks: Vec<usize> = (0..CATALOGUE.len()).collect();
    let mut lines = Vec::with_capacity(n_lines);
    for _ in 0..n_lines {
        let k = picks.remove(rng.random_range(0..picks.len()));
        let (sku, title, body, _, lb) = CATALOGUE[k];
        lines.push(NewOrderLine {
            sku: Sku::parse(sku).unwrap_or_else(|_| unreachable!("catalogue SKUs are valid")),
            barcode: Some(upc(body)),
            title: title.into(),
            quantity: rng.random_range(1..=3),
            weight: Weight::new(lb, WeightUnit::Lb).ok(),
        });
    }
    let name = NAMES[rng.random_range(0..NAMES.len())];
    let (city, state, zip) = CITIES[rng.random_range(0..CITIES.len())];
    NewOrder {
        hold: None,
        shop_order_id: None,
        name: format!("#{}", 1001 + i),
        external_id: Some(format!("demo:{}", 1001 + i)),
        customer_name: Some(name.into()),
        ship_to: Some(Address {
            name: Some(name.into()),
            company: None,
            lines: vec![format!("{} Main Street", 10 + i % 900)],
            city: Some(city.into()),
            state: Some(state.into()),
            postal_code: Some(zip.into()),
            country: Some("US".into()),
            phone: Some("5555550100".into()),
        }),
        lines,
        created_at,
    }
}

pub struct DemoLogins {
    pub admin_password: String,
    pub packer_password: String,
}

fn password(rng: &mut impl Rng) -> String {
    const WORDS: [&str; 12] = [
        "box", "tape", "scale", "label", "shelf", "pallet", "scan", "crate", "bench", "parcel",
        "truck", "dock",
    ];
    format!(
        "{}-{}-{}",
        WORDS[rng.random_range(0..12)],
        WORDS[rng.random_range(0..12)],
        rng.random_range(100..1000)
    )
}

/// Makes (or refreshes) the demo tenant through the services; new passwords every time,
/// printed by the CLI.
pub async fn prepare(fulfillment: &Fulfillment) -> anyhow::Result<(Tenant, DemoLogins)> {
    let slug = TenantSlug::parse("demo").context("demo slug")?;
    let tenant = match fulfillment.tenant_by_slug("demo").await? {
        Some(t) => t,
        None => fulfillment.create_tenant(&slug, "Demo warehouse").await?,
    };
    // A Send generator: the demo is also started from the desktop shell's async commands.
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_os_rng();
    let logins = DemoLogins {
        admin_password: password(&mut rng),
        packer_password: password(&mut rng),
    };
    for (name, role, pw) in [
        ("admin", Role::Admin, &logins.admin_password),
        ("packer", Role::Operator, &logins.packer_password),
    ] {
        fulfillment.set_user(&tenant.id, name, role, pw).await?;
    }
    if !fulfillment.has_settings(&tenant.id).await? {
        let doc = json!({
            "default_location": "A-1",
            "auto_fulfill": true,
            "units": {"weight": "lb", "dimension": "in"},
            "shipper": {"name": "Packbench Demo", "attention": "Shipping", "phone": "5555550199", "email": "ship@example.com",
                        "address": {"lines": ["1 Warehouse Way"], "city": "New York", "state": "NY", "postal_code": "10001", "country": "US"}}
        });
        fulfillment.patch_settings(&tenant.id, &doc).await?;
    }
    if fulfillment.stock(&tenant.id, None, None).await?.is_empty() {
        let changes: Vec<StockChange> = CATALOGUE
            .iter()
            .filter(|(sku, ..)| *sku != "PROD-012") // one SKU with no stock recorded, to show the flag
            .map(|(sku, _, _, loc, _)| StockChange::Set {
                sku: Sku::parse(sku).unwrap_or_else(|_| unreachable!()),
                location: packbench_core::domain::Location::parse(loc)
                    .unwrap_or_else(|_| unreachable!()),
                on_hand: 40,
            })
            .collect();
        fulfillment
            .change_stock(
                &tenant.id,
                &changes,
                "demo",
                &packbench_core::model::Actor::system(),
            )
            .await?;
    }
    Ok((tenant, logins))
}

/// A running demo: the tenant, its fresh passwords, and the sims it is connected to.
pub struct RunningDemo {
    pub tenant: Tenant,
    pub logins: DemoLogins,
    pub shopify: std::net::SocketAddr,
    pub ups: std::net::SocketAddr,
    pub ups_sim: std::sync::Arc<packbench_sim::UpsSim>,
}

/// Makes (or refreshes) the demo tenant and connects it to a Shopify sim with `orders` orders
/// (imported through the real client) and a UPS sim, both on loopback in this process. Run
/// again after a restart, it reconnects the same tenant to new sims (nothing is imported twice).
pub async fn start(state: &crate::AppState, orders: usize) -> anyhow::Result<RunningDemo> {
    let (tenant, logins) = prepare(&state.fulfillment).await?;
    let shopify = connect_shopify_sim(state, &tenant, orders).await?;
    let ups_sim = packbench_sim::UpsSim::new(packbench_sim::UpsSimConfig::default())?;
    let ups = connect_ups_sim(state, &tenant, &ups_sim).await?;
    Ok(RunningDemo {
        tenant,
        logins,
        shopify,
        ups,
        ups_sim,
    })
}

/// The demo store's domain, which its webhooks name.
const DEMO_SHOP: &str = "packbench-demo.myshopify.com";

/// Starts the Shopify sim on loopback with `orders` orders of the demo catalogue, connects the
/// demo tenant to it and imports them through the real client. Answers the sim's address.
pub async fn connect_shopify_sim(
    state: &crate::AppState,
    tenant: &Tenant,
    orders: usize,
) -> anyhow::Result<std::net::SocketAddr> {
    let config = packbench_sim::ShopifySimConfig {
        orders,
        products: CATALOGUE
            .iter()
            .map(
                |(sku, title, body, _, lb)| packbench_sim::shopify::Product {
                    sku: (*sku).into(),
                    title: (*title).into(),
                    barcode: upc(body).as_str().trim_start_matches("00").into(),
                    weight_lb: *lb,
                },
            )
            .collect(),
        shop_domain: DEMO_SHOP.into(),
        ..Default::default()
    };
    let sim = packbench_sim::ShopifySim::new(config.clone());
    let addr = packbench_sim::serve_loopback(sim.router()).await?;
    state
        .fulfillment
        .patch_settings(
            &tenant.id,
            &json!({"shopify": {"shop_domain": DEMO_SHOP,
                                "access_token": config.access_token,
                                "api_base_url": format!("http://{addr}/admin/api/{}", packbench_sim::shopify::API_VERSION),
                                "location_ids": [config.locations[0]]}}),
        )
        .await
        .map_err(|e| anyhow::anyhow!("connecting the demo store: {e}"))?;
    let report = state
        .fulfillment
        .sync(&tenant.id)
        .await
        .map_err(|e| anyhow::anyhow!("importing the demo store's orders: {e}"))?;
    tracing::info!(
        created = report.created,
        fetched = report.fetched,
        "demo orders imported from the Shopify sim"
    );
    Ok(addr)
}

/// Starts the UPS sim on loopback and points the demo tenant's UPS settings at it (the real
/// client talks to it), with a demo shipper. Answers the sim's address.
pub async fn connect_ups_sim(
    state: &crate::AppState,
    tenant: &Tenant,
    sim: &std::sync::Arc<packbench_sim::UpsSim>,
) -> anyhow::Result<std::net::SocketAddr> {
    let addr = packbench_sim::serve_loopback(sim.router()).await?;
    let cfg = sim.config();
    state
        .fulfillment
        .patch_settings(
            &tenant.id,
            &json!({
                "ups": {"client_id": cfg.client_id, "client_secret": cfg.client_secret,
                        "account_number": cfg.account_number, "environment": "cie",
                        "base_url": format!("http://{addr}")},
                "shipper": {"name": "Packbench Demo Co", "attention": "Shipping desk",
                            "phone": "212-555-0100", "email": "ship@demo.invalid",
                            "address": {"lines": ["450 W 33rd St"], "city": "New York",
                                        "state": "NY", "postal_code": "10001", "country": "US"}},
            }),
        )
        .await
        .map_err(|e| anyhow::anyhow!("setting up the demo's UPS account: {e}"))?;
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_barcodes_are_valid_upc_a() {
        for (_, _, body, _, _) in CATALOGUE {
            let g = upc(body);
            assert_eq!(g.as_str().len(), 14);
        }
        assert_eq!(
            upc("03600029145").as_str(),
            "00036000291452",
            "a known UPC-A"
        );
    }
}
