//! `TestApp`: a hub on a loopback port over a fresh database, with two tenants and their users,
//! and request helpers that read like the bench.

use packbench_core::ports::AccountStore;
use packbench_core::ports::OrderStore;
use packbench_core::ports::{Clock, SystemClock};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::Duration;
use packbench_core::domain::{Gtin, Role, Sku, TenantSlug};
use packbench_core::model::{Address, NewOrder, NewOrderLine, Order, Tenant};
use packbench_core::service::LabelTiming;
use packbench_server::{AppState, auth};
use packbench_store::SqlStore;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery";

/// Everything the hub logged during this test binary, to check that secrets never appear.
pub fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("debug,sqlx=warn,hyper=warn,reqwest=warn")
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The secret key of every test hub in this process: hubs sharing a database share its key,
/// as real ones must.
fn hubs_key() -> packbench_store::SecretKey {
    static KEY: std::sync::LazyLock<packbench_store::SecretKey> =
        std::sync::LazyLock::new(packbench_store::SecretKey::generate);
    KEY.clone()
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<SqlStore>,
    /// The hub's own state, for driving its background work (the tracking poller).
    pub state: Arc<AppState>,
    pub acme: Tenant,
    pub bolt: Tenant,
    pub admin: String,
    pub packer: String,
    pub bolt_admin: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// A hub on the database at `url`, for `on_both_databases!`.
    pub async fn at(url: String) -> TestApp {
        Self::spawn(&url).await
    }

    pub async fn spawn(database_url: &str) -> TestApp {
        Self::spawn_with(database_url, Arc::new(packbench_core::ports::NoCarriers)).await
    }

    pub async fn spawn_with(
        database_url: &str,
        carriers: Arc<dyn packbench_core::ports::Carriers>,
    ) -> TestApp {
        Self::spawn_with_carriers(database_url, move |_| carriers).await
    }

    /// With the real UPS client (its accounts read from each tenant's settings).
    pub async fn spawn_with_ups(database_url: &str, timeout: std::time::Duration) -> TestApp {
        Self::spawn_with_carriers(database_url, move |store| {
            Arc::new(packbench_ups::UpsAccounts::new(store, timeout))
        })
        .await
    }

    /// With the real UPS client, and label purchases settled after `timing` (short, so a test
    /// need not wait minutes for a lost answer).
    pub async fn spawn_with_ups_timing(
        database_url: &str,
        timeout: std::time::Duration,
        timing: LabelTiming,
    ) -> TestApp {
        Self::spawn_timed(
            database_url,
            move |store| Arc::new(packbench_ups::UpsAccounts::new(store, timeout)),
            timing,
        )
        .await
    }

    pub async fn spawn_with_carriers(
        database_url: &str,
        carriers: impl FnOnce(
            Arc<dyn packbench_core::ports::Store>,
        ) -> Arc<dyn packbench_core::ports::Carriers>,
    ) -> TestApp {
        Self::spawn_timed(database_url, carriers, LabelTiming::default()).await
    }

    async fn spawn_timed(
        database_url: &str,
        carriers: impl FnOnce(
            Arc<dyn packbench_core::ports::Store>,
        ) -> Arc<dyn packbench_core::ports::Carriers>,
        timing: LabelTiming,
    ) -> TestApp {
        captured_logs();
        let store = Arc::new(
            SqlStore::connect(database_url)
                .await
                .expect("database")
                .with_secret_key(hubs_key()),
        );
        let carriers = carriers(store.clone());
        let now = SystemClock.now();
        let acme = store
            .create_tenant(&TenantSlug::parse("acme").unwrap(), "Acme", now)
            .await
            .unwrap();
        let bolt = store
            .create_tenant(&TenantSlug::parse("bolt").unwrap(), "Bolt", now)
            .await
            .unwrap();
        let hash = auth::hash_password(PASSWORD).unwrap();
        for (t, name, role) in [
            (&acme, "admin", Role::Admin),
            (&acme, "packer", Role::Operator),
            (&bolt, "admin", Role::Admin),
        ] {
            store
                .create_user(&t.id, name, &hash, role, now)
                .await
                .unwrap();
        }
        let (base, state) = hub(store.clone(), carriers, timing).await;
        let http = reqwest::Client::new();
        let mut app = TestApp {
            base,
            http,
            store,
            state,
            acme,
            bolt,
            admin: String::new(),
            packer: String::new(),
            bolt_admin: String::new(),
        };
        app.admin = app.login("acme", "admin", Some("bench-1")).await;
        app.packer = app.login("acme", "packer", Some("bench-2")).await;
        app.bolt_admin = app.login("bolt", "admin", None).await;
        app
    }

    /// A second hub over the same database (and the same secret key) (its own connections, caches and purchases),
    /// with the real UPS client: answers its base URL. Logins work on both.
    pub async fn second_hub(
        &self,
        database_url: &str,
        timeout: std::time::Duration,
        timing: LabelTiming,
    ) -> String {
        let store = Arc::new(
            SqlStore::connect(database_url)
                .await
                .expect("database")
                .with_secret_key(hubs_key()),
        );
        let carriers = Arc::new(packbench_ups::UpsAccounts::new(store.clone(), timeout));
        hub(store, carriers, timing).await.0
    }

    pub async fn login(&self, tenant: &str, username: &str, station: Option<&str>) -> String {
        let body =
            serde_json::json!({"username": username, "password": PASSWORD, "station_id": station});
        let r = self
            .call(
                Method::POST,
                &format!("/api/{tenant}/auth/login"),
                None,
                Some(body),
            )
            .await;
        assert_eq!(r.status, 200, "login {username}: {}", r.body);
        r.body["data"]["token"].as_str().unwrap().to_owned()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::reply(req).await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::reply(req).await
    }

    async fn reply(req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("the hub answers");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap().to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            bytes,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, &format!("/api/acme{path}"), Some(token), None)
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(
            Method::POST,
            &format!("/api/acme{path}"),
            Some(token),
            Some(body),
        )
        .await
    }

    /// `PATCH settings` of acme, as its admin.
    pub async fn patch_settings(&self, patch: Value) -> Reply {
        self.call(
            Method::PATCH,
            "/api/acme/settings",
            Some(&self.admin),
            Some(patch),
        )
        .await
    }

    pub async fn operate(&self, order: &str, token: &str, body: Value) -> Reply {
        self.post(&format!("/orders/{order}/operations"), token, body)
            .await
    }

    /// An order as a Shopify import would create it, with lines (sku, qty).
    pub async fn order(
        &self,
        tenant: &Tenant,
        name: &str,
        minutes_ago: i64,
        lines: &[(&str, u32)],
    ) -> Order {
        let order = NewOrder {
            hold: None,
            shop_order_id: None,
            name: name.into(),
            external_id: Some(format!("gid://shopify/Order/{name}")),
            customer_name: Some(format!("Customer {name}")),
            ship_to: Some(Address {
                name: Some("Ann".into()),
                lines: vec!["1 Main St".into()],
                city: Some("Austin".into()),
                state: Some("TX".into()),
                postal_code: Some("73301".into()),
                country: Some("US".into()),
                ..Default::default()
            }),
            lines: lines
                .iter()
                .map(|(sku, q)| NewOrderLine {
                    sku: Sku::parse(sku).unwrap(),
                    barcode: (*sku == "PROD-001").then(|| Gtin::parse("0012345678905").unwrap()),
                    title: format!("Item {sku}"),
                    quantity: *q,
                    weight: None,
                })
                .collect(),
            created_at: SystemClock.now() - Duration::minutes(minutes_ago),
        };
        self.store
            .insert_order(&tenant.id, &order, SystemClock.now())
            .await
            .unwrap()
    }

    pub async fn version(&self, id: &str) -> i64 {
        let r = self.get(&format!("/orders/{id}"), &self.admin).await;
        r.body["data"]["version"].as_i64().unwrap()
    }
}

/// A hub on a loopback port over `store`: its base URL and state.
async fn hub(
    store: Arc<SqlStore>,
    carriers: Arc<dyn packbench_core::ports::Carriers>,
    timing: LabelTiming,
) -> (String, Arc<AppState>) {
    let mut state = AppState::with(
        store.clone(),
        carriers,
        Arc::new(packbench_shopify::ShopifyShops::new(store.clone())),
        Arc::new(packbench_core::ports::SystemClock),
    );
    state.fulfillment = state.fulfillment.with_label_timing(timing);
    let hub = packbench_server::local::LocalHub::serve(Arc::new(state))
        .await
        .unwrap();
    (hub.url, hub.state)
}
