//! The Admin GraphQL client: one shop, one pinned version, cost-aware. Every answer's
//! `extensions.cost.throttleStatus` is remembered; before a query the client waits until the
//! bucket holds what the query last cost; a `THROTTLED` answer (HTTP 200 or 429) waits for the
//! bucket to refill and retries — queries only: mutations are never retried blindly.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::wire::{GraphqlResponse, ThrottleStatus};

#[derive(Clone)]
pub struct ShopifyConfig {
    /// `https://{shop}/admin/api/{version}` or a sim on loopback.
    pub api_base_url: String,
    /// A fixed token (legacy custom apps); used when there are no client credentials.
    pub access_token: String,
    /// `(client_id, client_secret)`: tokens come from the client credentials grant and are
    /// renewed 5 minutes before they expire, and once on a 401.
    pub credentials: Option<(String, String)>,
    pub timeout: Duration,
}

impl std::fmt::Debug for ShopifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopifyConfig")
            .field("api_base_url", &self.api_base_url)
            .field("access_token", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShopifyError {
    #[error("Shopify refused the access token (HTTP {0}); reconnect the store in settings")]
    Unauthorized(u16),
    #[error("Shopify is unavailable: {0}")]
    Unavailable(String),
    #[error("Shopify answered errors: {0}")]
    Graphql(String),
    #[error("Shopify answered something unexpected: {0}")]
    Malformed(String),
}

#[derive(Debug, Default)]
struct Bucket {
    last: Option<ThrottleStatus>,
    /// What the last query cost (requested), to wait for before the next one.
    last_cost: f64,
    throttled_in_a_row: u32,
}

pub struct ShopifyClient {
    http: reqwest::Client,
    config: ShopifyConfig,
    bucket: Mutex<Bucket>,
    /// The fetched token and when to renew it (client credentials only).
    token: Mutex<Option<(String, std::time::Instant)>>,
}

const MAX_THROTTLED: u32 = 8;

impl ShopifyClient {
    pub fn new(config: ShopifyConfig) -> Result<Self, ShopifyError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| ShopifyError::Unavailable(e.to_string()))?;
        Ok(Self {
            http,
            config,
            bucket: Mutex::new(Bucket::default()),
            token: Mutex::new(None),
        })
    }

    /// The token to send: the fixed one, or a fetched one (renewed when near expiry or forced).
    async fn token(&self, force: bool) -> Result<String, ShopifyError> {
        let Some((id, secret)) = &self.config.credentials else {
            return Ok(self.config.access_token.clone());
        };
        let mut slot = self.token.lock().await;
        if let Some((t, renew_at)) = slot.as_ref()
            && !force
            && std::time::Instant::now() < *renew_at
        {
            return Ok(t.clone());
        }
        // `.../admin/api/{version}` -> `.../admin/oauth/access_token`.
        let base = self.config.api_base_url.trim_end_matches('/');
        let admin = base
            .strip_suffix(&format!("/api/{}", crate::API_VERSION))
            .unwrap_or(base);
        let resp = self
            .http
            .post(format!("{admin}/oauth/access_token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id.as_str()),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await
            .map_err(|e| ShopifyError::Unavailable(format!("token request: {e}")))?;
        if !resp.status().is_success() {
            return Err(ShopifyError::Unauthorized(resp.status().as_u16()));
        }
        let v: Value = resp
            .json()
            .await
            .map_err(|e| ShopifyError::Malformed(format!("token answer: {e}")))?;
        let token = v["access_token"]
            .as_str()
            .ok_or_else(|| ShopifyError::Malformed("a token answer without access_token".into()))?
            .to_string();
        let life = Duration::from_secs(v["expires_in"].as_u64().unwrap_or(86_399));
        let renew_at = std::time::Instant::now() + life.saturating_sub(Duration::from_secs(300));
        *slot = Some((token.clone(), renew_at));
        Ok(token)
    }

    /// The default base URL for a shop domain.
    pub fn base_url_for(shop_domain: &str) -> String {
        format!("https://{shop_domain}/admin/api/{}", crate::API_VERSION)
    }

    /// How many `THROTTLED` answers came back one after another at most (for benchmarks).
    pub async fn throttled_in_a_row(&self) -> u32 {
        self.bucket.lock().await.throttled_in_a_row
    }

    async fn wait_for_room(&self) {
        let wait = {
            let b = self.bucket.lock().await;
            match b.last {
                Some(s) if s.currently_available < b.last_cost && s.restore_rate > 0.0 => {
                    Duration::from_secs_f64((b.last_cost - s.currently_available) / s.restore_rate)
                }
                _ => Duration::ZERO,
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Runs a mutation once: never retried, whatever happens (the caller re-reads first).
    pub async fn mutate<T: DeserializeOwned>(
        &self,
        document: &str,
        variables: Value,
    ) -> Result<T, ShopifyError> {
        self.wait_for_room().await;
        let url = format!(
            "{}/graphql.json",
            self.config.api_base_url.trim_end_matches('/')
        );
        let resp = self
            .http
            .post(&url)
            .header("X-Shopify-Access-Token", self.token(false).await?)
            .json(&json!({"query": document, "variables": variables}))
            .send()
            .await
            .map_err(|e| ShopifyError::Unavailable(e.to_string()))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(ShopifyError::Unauthorized(status.as_u16()));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ShopifyError::Unavailable(e.to_string()))?;
        let parsed: GraphqlResponse<T> = serde_json::from_slice(&bytes)
            .map_err(|e| ShopifyError::Malformed(format!("HTTP {status}: {e}")))?;
        if let Some(cost) = parsed.extensions.as_ref().and_then(|e| e.cost.as_ref()) {
            self.bucket.lock().await.last = Some(cost.throttle_status);
        }
        if !parsed.errors.is_empty() {
            let messages: Vec<String> = parsed.errors.iter().map(|e| e.message.clone()).collect();
            return Err(ShopifyError::Graphql(messages.join("; ")));
        }
        parsed
            .data
            .ok_or_else(|| ShopifyError::Malformed("an answer without data".into()))
    }

    /// Tells Shopify a fulfillment order left in this parcel. Re-reads the fulfillment order
    /// first: if nothing remains to fulfil (an earlier push did land), says so instead of
    /// creating a second fulfillment.
    pub async fn push_fulfillment(
        &self,
        push: &packbench_core::ports::FulfillmentPush,
        notify_customer: bool,
    ) -> Result<packbench_core::ports::PushOutcome, ShopifyError> {
        use packbench_core::ports::PushOutcome;
        let fo: Value = self
            .query(
                crate::FULFILLMENT_ORDER_FOR_PUSH,
                json!({"id": push.fulfillment_order_id}),
            )
            .await?;
        let fo = &fo["fulfillmentOrder"];
        if fo.is_null() {
            return Err(ShopifyError::Graphql(format!(
                "fulfillment order {} is not in the store any more",
                push.fulfillment_order_id
            )));
        }
        let remaining: i64 = fo["lineItems"]["nodes"]
            .as_array()
            .map(|n| {
                n.iter()
                    .filter_map(|l| l["remainingQuantity"].as_i64())
                    .sum()
            })
            .unwrap_or(0);
        if fo["status"] == "CLOSED" || remaining == 0 {
            return Ok(PushOutcome::AlreadyFulfilled);
        }
        let answer: Value = self
            .mutate(
                crate::FULFILLMENT_CREATE,
                json!({"fulfillment": {
                    "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": push.fulfillment_order_id}],
                    "notifyCustomer": notify_customer,
                    "trackingInfo": {"company": push.company, "number": push.tracking_number, "url": push.tracking_url},
                }}),
            )
            .await?;
        let r = &answer["fulfillmentCreate"];
        if let Some(errors) = r["userErrors"].as_array().filter(|e| !e.is_empty()) {
            let messages: Vec<String> = errors
                .iter()
                .map(|e| e["message"].as_str().unwrap_or("").to_string())
                .collect();
            return Err(ShopifyError::Graphql(messages.join("; ")));
        }
        let id = r["fulfillment"]["id"].as_str().ok_or_else(|| {
            ShopifyError::Malformed("fulfillmentCreate answered no fulfillment".into())
        })?;
        Ok(PushOutcome::Created {
            fulfillment_id: id.to_string(),
        })
    }

    /// Runs a query (never a mutation) and answers its `data`.
    pub async fn query<T: DeserializeOwned>(
        &self,
        document: &str,
        variables: Value,
    ) -> Result<T, ShopifyError> {
        let url = format!(
            "{}/graphql.json",
            self.config.api_base_url.trim_end_matches('/')
        );
        let body = json!({"query": document, "variables": variables});
        let mut server_errors = 0;
        let mut renewed = false;
        loop {
            self.wait_for_room().await;
            let token = self.token(false).await?;
            let resp = self
                .http
                .post(&url)
                .header("X-Shopify-Access-Token", token)
                .json(&body)
                .send()
                .await;
            let resp = match resp {
                Ok(r) => r,
                Err(e) if server_errors < 3 => {
                    server_errors += 1;
                    tracing::warn!(error = %e, "Shopify unreachable, retrying");
                    tokio::time::sleep(Duration::from_millis(500 * server_errors)).await;
                    continue;
                }
                Err(e) => return Err(ShopifyError::Unavailable(e.to_string())),
            };
            let status = resp.status();
            if status == reqwest::StatusCode::UNAUTHORIZED
                && !renewed
                && self.config.credentials.is_some()
            {
                // A 401 was not processed: renew the token once and ask again.
                renewed = true;
                self.token(true).await?;
                continue;
            }
            if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN
            {
                return Err(ShopifyError::Unauthorized(status.as_u16()));
            }
            if status.is_server_error() {
                if server_errors < 3 {
                    server_errors += 1;
                    tokio::time::sleep(Duration::from_millis(500 * server_errors)).await;
                    continue;
                }
                return Err(ShopifyError::Unavailable(format!("HTTP {status}")));
            }
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| ShopifyError::Unavailable(e.to_string()))?;
            let parsed: GraphqlResponse<T> = serde_json::from_slice(&bytes)
                .map_err(|e| ShopifyError::Malformed(format!("HTTP {status}: {e}")))?;
            let throttled = status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || parsed.errors.iter().any(|e| {
                    e.extensions.as_ref().and_then(|x| x.code.as_deref()) == Some("THROTTLED")
                });
            {
                let mut b = self.bucket.lock().await;
                if let Some(cost) = parsed.extensions.as_ref().and_then(|e| e.cost.as_ref()) {
                    b.last = Some(cost.throttle_status);
                    if let Some(r) = cost.requested_query_cost {
                        b.last_cost = r;
                    }
                }
                if throttled {
                    b.throttled_in_a_row += 1;
                    if b.throttled_in_a_row > MAX_THROTTLED {
                        return Err(ShopifyError::Unavailable(
                            "Shopify keeps throttling this store; try again later".into(),
                        ));
                    }
                } else {
                    b.throttled_in_a_row = 0;
                }
            }
            if throttled {
                continue;
            }
            if !parsed.errors.is_empty() {
                let messages: Vec<String> =
                    parsed.errors.iter().map(|e| e.message.clone()).collect();
                return Err(ShopifyError::Graphql(messages.join("; ")));
            }
            return parsed
                .data
                .ok_or_else(|| ShopifyError::Malformed("an answer without data".into()));
        }
    }

    /// One page of orders updated since `since` (oldest first).
    pub async fn orders_page(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        after: Option<&str>,
        first: u32,
    ) -> Result<crate::wire::Connection<crate::wire::Order>, ShopifyError> {
        let query = since.map(|t| {
            format!(
                "updated_at:>='{}'",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        });
        let data: crate::wire::OrdersData = self
            .query(
                crate::ORDERS_FOR_BENCH,
                json!({"first": first, "after": after, "query": query}),
            )
            .await?;
        Ok(data.orders)
    }
}
