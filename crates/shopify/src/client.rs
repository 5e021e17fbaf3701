//! The Admin GraphQL client: one shop, one pinned version, cost-aware. Each call's requested
//! cost is worked out before it is sent (`crate::cost`), every answer's
//! `extensions.cost.throttleStatus` is remembered, and a call waits until the bucket holds
//! its cost, within a bounded time: a store that keeps throttling, or whose bucket can never
//! hold a call, fails the call with a message that says so instead of waiting for ever.

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
    pub patience: Patience,
}

/// How long the client waits on Shopify before it gives up and says so.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// The longest one call may wait for the cost bucket (before sending and after
    /// `THROTTLED` answers) in all.
    pub throttled: Duration,
    /// The longest a bulk export may run before the import gives up on it.
    pub bulk: Duration,
    /// The first wait between two looks at a running bulk export (it grows to 5 s).
    pub bulk_poll: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Self {
            throttled: Duration::from_secs(120),
            bulk: Duration::from_secs(30 * 60),
            bulk_poll: Duration::from_millis(500),
        }
    }
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
    /// A query this client would send costs more than Shopify runs (a bug here, never sent).
    #[error("{operation} would cost {cost} points; Shopify refuses any query over {max}")]
    TooCostly {
        operation: String,
        cost: u64,
        max: u64,
    },
    /// The store's bucket is smaller than one call needs, so waiting would never help.
    #[error(
        "{operation} needs {cost} points but this store's bucket holds only {bucket}; the store's API limits are too low for the import"
    )]
    BucketTooSmall {
        operation: String,
        cost: u64,
        bucket: u64,
    },
    #[error(
        "Shopify is throttling this store: {operation} would have waited {waited_secs} s in all for its {cost} points; try again in a few minutes"
    )]
    Throttled {
        operation: String,
        cost: u64,
        waited_secs: u64,
    },
    #[error("Shopify's bulk export failed: {0}")]
    Bulk(String),
}

/// What the client knows of the store's cost bucket: the last `throttleStatus` and when it
/// came, less what calls in flight have taken since.
#[derive(Debug, Default)]
struct Bucket {
    last: Option<(ThrottleStatus, std::time::Instant)>,
    throttled_in_a_row: u32,
    longest_throttled_run: u32,
}

impl Bucket {
    /// Points available now, by the last status and the restore rate since.
    fn available(&self) -> Option<f64> {
        self.last.map(|(s, at)| {
            (s.currently_available + at.elapsed().as_secs_f64() * s.restore_rate)
                .min(s.maximum_available)
        })
    }

    /// Takes `cost` if the bucket holds it, else answers how long to wait for it.
    fn take(&mut self, cost: f64) -> Result<(), Duration> {
        let Some((status, _)) = self.last else {
            return Ok(());
        };
        let available = self.available().unwrap_or(cost);
        if available >= cost {
            self.last = Some((
                ThrottleStatus {
                    currently_available: available - cost,
                    ..status
                },
                std::time::Instant::now(),
            ));
            return Ok(());
        }
        let rate = status.restore_rate.max(0.001);
        Err(Duration::from_secs_f64((cost - available) / rate))
    }

    fn heard(&mut self, status: ThrottleStatus) {
        self.last = Some((status, std::time::Instant::now()));
    }
}

/// One GraphQL document the client sends, with its name for messages.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub name: &'static str,
    pub document: &'static str,
}

pub struct ShopifyClient {
    pub(crate) http: reqwest::Client,
    pub(crate) config: ShopifyConfig,
    bucket: Mutex<Bucket>,
    /// The fetched token and when to renew it (client credentials only).
    token: Mutex<Option<(String, std::time::Instant)>>,
}

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

    /// The longest run of `THROTTLED` answers one after another so far (for benchmarks).
    pub async fn longest_throttled_run(&self) -> u32 {
        self.bucket.lock().await.longest_throttled_run
    }

    /// The store's bucket size, once an answer has said it.
    pub async fn bucket_size(&self) -> Option<f64> {
        self.bucket
            .lock()
            .await
            .last
            .map(|(s, _)| s.maximum_available)
    }

    /// Sends one operation and answers its `data`. Its requested cost is worked out first
    /// (`cost::requested`): one over Shopify's cap is never sent, one over the store's bucket
    /// fails at once, and otherwise the call waits until the bucket holds it. `THROTTLED`
    /// answers (HTTP 200 or 429) are refused before anything runs, so any operation waits and
    /// asks again, within `Patience::throttled` in all. Server errors and lost answers are
    /// asked again for queries only: a mutation may have run.
    pub async fn call<T: DeserializeOwned>(
        &self,
        operation: Operation,
        variables: Value,
        retry: Retry,
    ) -> Result<T, ShopifyError> {
        let cost = crate::cost::requested(operation.document, &variables)
            .map_err(|e| ShopifyError::Malformed(format!("{}: {e}", operation.name)))?;
        if cost > crate::cost::MAX_QUERY_COST {
            return Err(ShopifyError::TooCostly {
                operation: operation.name.into(),
                cost,
                max: crate::cost::MAX_QUERY_COST,
            });
        }
        let url = format!(
            "{}/graphql.json",
            self.config.api_base_url.trim_end_matches('/')
        );
        let body = json!({"query": operation.document, "variables": variables});
        let started = std::time::Instant::now();
        let patience = self.config.patience.throttled;
        let gave_up = |waited: Duration| ShopifyError::Throttled {
            operation: operation.name.into(),
            cost,
            waited_secs: waited.as_secs_f64().ceil() as u64,
        };
        let mut server_errors = 0;
        let mut renewed = false;
        loop {
            // Wait for room, or say at once that there never will be.
            loop {
                let wait = {
                    let mut b = self.bucket.lock().await;
                    if let Some((s, _)) = b.last
                        && (s.maximum_available as u64) < cost
                    {
                        return Err(ShopifyError::BucketTooSmall {
                            operation: operation.name.into(),
                            cost,
                            bucket: s.maximum_available as u64,
                        });
                    }
                    match b.take(cost as f64) {
                        Ok(()) => break,
                        Err(wait) => wait,
                    }
                };
                if started.elapsed() + wait > patience {
                    return Err(gave_up(started.elapsed() + wait));
                }
                tokio::time::sleep(wait).await;
            }
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
                Err(e) if retry == Retry::Query && server_errors < 3 => {
                    server_errors += 1;
                    tracing::warn!(error = %e, operation = operation.name, "Shopify unreachable, retrying");
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
                if retry == Retry::Query && server_errors < 3 {
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
            let code_of = |code: &str| {
                parsed
                    .errors
                    .iter()
                    .any(|e| e.extensions.as_ref().and_then(|x| x.code.as_deref()) == Some(code))
            };
            let throttled =
                status == reqwest::StatusCode::TOO_MANY_REQUESTS || code_of("THROTTLED");
            {
                let mut b = self.bucket.lock().await;
                if let Some(c) = parsed.extensions.as_ref().and_then(|e| e.cost.as_ref()) {
                    b.heard(c.throttle_status);
                }
                if throttled {
                    b.throttled_in_a_row += 1;
                    b.longest_throttled_run = b.longest_throttled_run.max(b.throttled_in_a_row);
                } else {
                    b.throttled_in_a_row = 0;
                }
            }
            if throttled {
                if started.elapsed() >= patience {
                    return Err(gave_up(started.elapsed()));
                }
                continue;
            }
            if code_of("MAX_COST_EXCEEDED") {
                // Shopify costs it higher than the published rules do here: say so, loudly.
                return Err(ShopifyError::TooCostly {
                    operation: operation.name.into(),
                    cost: parsed
                        .extensions
                        .as_ref()
                        .and_then(|e| e.cost.as_ref())
                        .and_then(|c| c.requested_query_cost)
                        .map_or(cost, |c| c as u64),
                    max: crate::cost::MAX_QUERY_COST,
                });
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
            .call(
                crate::FULFILLMENT_ORDER_FOR_PUSH,
                json!({"id": push.fulfillment_order_id}),
                Retry::Query,
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
            .call(
                crate::FULFILLMENT_CREATE,
                json!({"fulfillment": {
                    "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": push.fulfillment_order_id}],
                    "notifyCustomer": notify_customer,
                    "trackingInfo": {"company": push.company, "numbers": push.tracking_numbers, "urls": push.tracking_urls()},
                }}),
                Retry::Mutation,
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
}

/// Whether a failed call may be asked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads: asked again after a server error or a lost answer.
    Query,
    /// Writes: asked again only after `THROTTLED` (refused before anything ran).
    Mutation,
}
