//! The UPS REST client: one cached OAuth token per account, `transId`/`transactionSrc` on
//! every call, UPS's error bodies (and header-only errors) turned into [`UpsError`]s.
//!
//! Retry rules (shared/notes/ups.md §8): reads (track, rate, address check, recovery, void,
//! which UPS makes repeat-safe) retry on 429/503 with backoff; a ship call is retried only when
//! UPS provably did not process it (a 401 answered before the token was renewed, a 429).
//! Anything else after the request left — a timeout, a reset, a 5xx, an empty body — is
//! [`UpsError::Unknown`]: the caller must reconcile, never buy again blindly.

use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::wire::{self, ErrorBody, TokenResponse};

/// The Shipping API version (the only non-deprecated one, shared/notes/ups.md §2).
pub const SHIPPING_VERSION: &str = "v2409";
pub const RATING_VERSION: &str = "v2409";
pub const RECOVERY_VERSION: &str = "v1903";
pub const CIE_URL: &str = "https://wwwcie.ups.com";
pub const PRODUCTION_URL: &str = "https://onlinetools.ups.com";

#[derive(Clone)]
pub struct UpsConfig {
    /// Scheme and host, e.g. `https://wwwcie.ups.com` (API paths add `/api/...`).
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Sent as `x-merchant-id` on token requests.
    pub account_number: Option<String>,
    pub transaction_src: String,
    /// Per-request timeout; a ship call that times out is `Unknown`, never retried.
    pub timeout: Duration,
}

impl std::fmt::Debug for UpsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpsConfig")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpsError {
    /// UPS refused the request as it stands (HTTP 4xx with UPS's code): fix the data.
    #[error("UPS refused the request: {message} (UPS code {code})")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// The credentials were refused.
    #[error("UPS refused the credentials: {message} (UPS code {code})")]
    Auth { code: String, message: String },
    /// UPS could not be reached, or said it is unavailable, before anything was done.
    #[error("UPS is unavailable: {0}")]
    Unavailable(String),
    /// The request left and no reliable answer came back: UPS may or may not have acted.
    #[error("no reliable answer from UPS: {0}")]
    Unknown(String),
    /// A 2xx answer we cannot read.
    #[error("UPS answered something unexpected: {0}")]
    Malformed(String),
}

impl UpsError {
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Rejected { code, .. } | Self::Auth { code, .. } => Some(code),
            _ => None,
        }
    }
}

struct Token {
    value: String,
    renew_at: Instant,
}

/// Whether a failed call may be sent again as it is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Repeat {
    /// Reads and repeat-safe writes: back off and retry on 429/503/connection errors.
    Safe,
    /// A ship call: only when UPS provably did nothing (connect failure, 401, 429).
    OnlyIfUntouched,
}

pub struct UpsClient {
    http: reqwest::Client,
    config: UpsConfig,
    token: Mutex<Option<Token>>,
}

/// Renew this long before UPS's expiry (UPS tokens live about 4 h).
const TOKEN_MARGIN: Duration = Duration::from_secs(5 * 60);
const MAX_ATTEMPTS: u32 = 4;

impl UpsClient {
    pub fn new(config: UpsConfig) -> Result<Self, UpsError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| UpsError::Unavailable(e.to_string()))?;
        Ok(Self {
            http,
            config,
            token: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &UpsConfig {
        &self.config
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.base_url.trim_end_matches('/'), path)
    }

    /// A valid bearer token, fetched (once, under the lock) when missing or near expiry.
    async fn bearer(&self, force: bool) -> Result<String, UpsError> {
        let mut slot = self.token.lock().await;
        let live = slot
            .as_ref()
            .filter(|t| !force && Instant::now() < t.renew_at);
        if let Some(t) = live {
            return Ok(t.value.clone());
        }
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.config.client_id, self.config.client_secret
        ));
        let mut req = self
            .http
            .post(self.url("/security/v1/oauth/token"))
            .header("Authorization", format!("Basic {basic}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials");
        if let Some(account) = &self.config.account_number {
            req = req.header("x-merchant-id", account);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| UpsError::Unavailable(format!("token request: {e}")))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| UpsError::Unavailable(format!("token request: {e}")))?;
        if !status.is_success() {
            let (code, message) = error_of(&body, &headers);
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST => {
                    UpsError::Auth { code, message }
                }
                _ => UpsError::Unavailable(format!("token request: {message} (UPS code {code})")),
            });
        }
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| UpsError::Malformed(format!("token response: {e}")))?;
        let life = Duration::from_secs(t.expires_in).saturating_sub(TOKEN_MARGIN);
        *slot = Some(Token {
            value: t.access_token.clone(),
            renew_at: Instant::now() + life,
        });
        Ok(t.access_token)
    }

    /// One API call with the retry rules above; answers the parsed 2xx body.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        repeat: Repeat,
    ) -> Result<T, UpsError> {
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.bearer(false).await?;
            let trans_id = trans_id();
            let mut req = self
                .http
                .request(method.clone(), self.url(path))
                .bearer_auth(&token)
                .header("transId", &trans_id)
                .header("transactionSrc", &self.config.transaction_src);
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    // Nothing was sent if the connection never opened.
                    let untouched = e.is_connect();
                    if (repeat == Repeat::Safe || untouched) && attempt < MAX_ATTEMPTS {
                        backoff(attempt, None).await;
                        continue;
                    }
                    return Err(if untouched {
                        UpsError::Unavailable(format!("cannot reach UPS: {e}"))
                    } else {
                        UpsError::Unknown(format!("{method} {path}: {e}"))
                    });
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    if repeat == Repeat::Safe && attempt < MAX_ATTEMPTS {
                        backoff(attempt, None).await;
                        continue;
                    }
                    return Err(UpsError::Unknown(format!("{method} {path}: {e}")));
                }
            };
            if status == StatusCode::UNAUTHORIZED && !renewed {
                renewed = true;
                self.bearer(true).await?;
                continue;
            }
            if status == StatusCode::TOO_MANY_REQUESTS && attempt < MAX_ATTEMPTS {
                backoff(attempt, retry_after(&headers)).await;
                continue;
            }
            if status.is_success() {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    // Seen in real traffic: 200, empty body, the error only in headers.
                    let (code, message) = error_of(&bytes, &headers);
                    return Err(match repeat {
                        Repeat::Safe => UpsError::Malformed(format!("{message} (UPS code {code})")),
                        Repeat::OnlyIfUntouched => {
                            UpsError::Unknown(format!("empty answer: {message} (UPS code {code})"))
                        }
                    });
                }
                return serde_json::from_slice(&bytes).map_err(|e| match repeat {
                    Repeat::Safe => UpsError::Malformed(format!("{path}: {e}")),
                    Repeat::OnlyIfUntouched => UpsError::Unknown(format!("unreadable answer: {e}")),
                });
            }
            let (code, message) = error_of(&bytes, &headers);
            tracing::warn!(
                %status, ups_code = %code, %path, trans_id = %trans_id,
                request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or(""),
                "UPS answered an error"
            );
            if status.is_server_error() {
                if repeat == Repeat::Safe && attempt < MAX_ATTEMPTS {
                    backoff(attempt, retry_after(&headers)).await;
                    continue;
                }
                return Err(match repeat {
                    Repeat::Safe => UpsError::Unavailable(format!("{message} (UPS code {code})")),
                    // A 503 too: it may come from a gateway before the shipping service saw
                    // the request, or from behind it after the sale; we cannot tell which.
                    Repeat::OnlyIfUntouched => {
                        UpsError::Unknown(format!("{message} (UPS code {code})"))
                    }
                });
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(UpsError::Auth { code, message });
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                return Err(UpsError::Unavailable(format!(
                    "UPS is rate limiting this account: {message}"
                )));
            }
            return Err(UpsError::Rejected {
                status: status.as_u16(),
                code,
                message,
            });
        }
    }

    /// `POST /api/shipments/v2409/ship`.
    pub async fn ship(&self, request: &Value) -> Result<wire::ShipmentResponse, UpsError> {
        let w: wire::ShipResponseWrapper = self
            .call(
                Method::POST,
                &format!("/api/shipments/{SHIPPING_VERSION}/ship"),
                Some(request),
                Repeat::OnlyIfUntouched,
            )
            .await?;
        Ok(w.shipment_response)
    }

    /// `DELETE /api/shipments/v2409/void/cancel/{id}`. UPS answers "Voided or Already Voided",
    /// so a repeat is harmless.
    pub async fn void(&self, shipment_identification_number: &str) -> Result<(), UpsError> {
        let id = shipment_identification_number.trim();
        let w: wire::VoidResponseWrapper = self
            .call(
                Method::DELETE,
                &format!("/api/shipments/{SHIPPING_VERSION}/void/cancel/{id}"),
                None,
                Repeat::Safe,
            )
            .await?;
        let status = &w.void_shipment_response.summary_result.status;
        if status.code.trim() == "1" {
            Ok(())
        } else {
            Err(UpsError::Rejected {
                status: 200,
                code: status.code.trim().into(),
                message: status.description.trim().into(),
            })
        }
    }

    /// `POST /api/labels/v1903/recovery` (reprint when the local copy is gone).
    pub async fn recover_label(
        &self,
        tracking_number: &str,
        format: &str,
    ) -> Result<wire::LabelResult, UpsError> {
        let body = crate::request::recovery(tracking_number, format);
        let w: wire::RecoveryResponseWrapper = self
            .call(
                Method::POST,
                &format!("/api/labels/{RECOVERY_VERSION}/recovery"),
                Some(&body),
                Repeat::Safe,
            )
            .await?;
        w.label_recovery_response
            .label_results
            .0
            .into_iter()
            .next()
            .ok_or_else(|| UpsError::Malformed("label recovery answered no label".into()))
    }

    /// `GET /api/track/v1/details/{n}`.
    pub async fn track(&self, tracking_number: &str) -> Result<wire::TrackResponse, UpsError> {
        let w: wire::TrackResponseWrapper = self
            .call(
                Method::GET,
                &format!(
                    "/api/track/v1/details/{}?locale=en_US&returnSignature=false&returnMilestones=false&returnPOD=false",
                    tracking_number.trim()
                ),
                None,
                Repeat::Safe,
            )
            .await?;
        Ok(w.track_response)
    }

    /// `GET /api/track/v1/reference/details/{ref}`: finds the packages a reference (our
    /// shipment id) was printed on, to reconcile a ship call whose answer was lost.
    pub async fn track_reference(
        &self,
        reference: &str,
        shipper_number: &str,
    ) -> Result<wire::TrackResponse, UpsError> {
        let w: wire::TrackResponseWrapper = self
            .call(
                Method::GET,
                &format!(
                    "/api/track/v1/reference/details/{reference}?locale=en_US&shipperNum={shipper_number}"
                ),
                None,
                Repeat::Safe,
            )
            .await?;
        Ok(w.track_response)
    }

    /// `POST /api/rating/v2409/Shop?additionalinfo=timeintransit`.
    pub async fn rate_shop(&self, request: &Value) -> Result<wire::RateResponse, UpsError> {
        let w: wire::RateResponseWrapper = self
            .call(
                Method::POST,
                &format!("/api/rating/{RATING_VERSION}/Shop?additionalinfo=timeintransit"),
                Some(request),
                Repeat::Safe,
            )
            .await?;
        Ok(w.rate_response)
    }

    /// `POST /api/addressvalidation/v2/1` (street-level validation).
    pub async fn validate_address(&self, request: &Value) -> Result<wire::XavResponse, UpsError> {
        let w: wire::XavResponseWrapper = self
            .call(
                Method::POST,
                "/api/addressvalidation/v2/1?maximumcandidatelistsize=5",
                Some(request),
                Repeat::Safe,
            )
            .await?;
        Ok(w.xav_response)
    }
}

/// 32 hex characters, unique per request (UPS: "unique to the request, length 32").
fn trans_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(30)))
}

async fn backoff(attempt: u32, hint: Option<Duration>) {
    let base = Duration::from_millis(200 * 2u64.pow(attempt.saturating_sub(1)));
    let jitter = Duration::from_millis(rand::random::<u64>() % 100);
    tokio::time::sleep(hint.unwrap_or(base) + jitter).await;
}

/// UPS's code and message, from the error body or else from the error headers.
fn error_of(body: &[u8], headers: &reqwest::header::HeaderMap) -> (String, String) {
    let errors = serde_json::from_slice::<ErrorBody>(body)
        .map(|e| e.response.errors.0)
        .unwrap_or_default();
    if let Some(first) = errors.first() {
        let message = errors
            .iter()
            .map(|e| e.message.trim())
            .collect::<Vec<_>>()
            .join("; ");
        return (first.code.trim().to_string(), message);
    }
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_string())
    };
    let code = header("errorcode")
        .or_else(|| header("apierrorcode"))
        .unwrap_or_default();
    let message = header("errordescription")
        .or_else(|| header("apierrormsg"))
        .unwrap_or_else(|| "no error description".into());
    (code, message)
}
