//! Request extractors: JSON bodies that fail with the error envelope, the tenant from the path,
//! and the logged-in caller.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use packbench_core::ErrorCode;
use packbench_core::model::{Actor, Tenant};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body. Malformed JSON is a 400; JSON of the wrong shape (missing fields, wrong types,
/// unknown fields) is a 422 naming the problem; an oversized body is a 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
            } else {
                ApiError::bad_request(format!("could not read the request body: {e}"))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request("the request needs a JSON body"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(format!(
                "malformed JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            )),
            Category::Data => ApiError::new(
                ErrorCode::ValidationFailed,
                format!("the JSON body does not fit: {e}"),
            )
            .with_details(json!({"line": e.line(), "column": e.column()})),
        }
    })
}

/// The tenant named in the path (`/api/{tenant}/...`), which must exist.
pub struct TenantPath(pub Tenant);

impl FromRequestParts<Arc<AppState>> for TenantPath {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("no tenant in the path"))?;
        let slug = params
            .get("tenant")
            .ok_or_else(|| ApiError::not_found("no tenant in the path"))?;
        state.tenant(slug).await.map(TenantPath)
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let TenantPath(tenant) = TenantPath::from_request_parts(parts, state).await?;
        let token = match bearer(parts) {
            Some(token) => token,
            None => {
                let Some(token) = cookie(parts, auth::COOKIE) else {
                    return Err(ApiError::unauthorized(
                        "log in first (no session token was sent)",
                    ));
                };
                if !parts.method.is_safe() {
                    from_own_page(parts)?;
                }
                token
            }
        };
        let token_hash = auth::hash_token(&token);
        let now = state.fulfillment.clock().now();
        let session = state.session(&tenant.id, &token_hash, now).await?;
        let Some(session) = session else {
            return Err(ApiError::unauthorized(
                "your session has ended or expired; log in again",
            ));
        };
        Ok(Caller {
            tenant,
            user: session.user,
            station_id: session.station_id,
            token_hash,
        })
    }
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user.id.clone()),
            station_id: self.station_id.clone(),
        }
    }
}

/// A request that changes something and carries only the session cookie must come from the
/// hub's own pages. The cookie is `SameSite=Strict`, but a site is not an origin: a page on
/// another port of this host, or another app on this domain, is same-site and its forms and
/// fetches carry the cookie. So the browser's own word is asked, in the order browsers give
/// it: `Sec-Fetch-Site`, then `Origin` against `Host`; and from a client that sends neither,
/// only a body no page can send without the hub's leave (CORS preflight), JSON or CSV.
fn from_own_page(parts: &Parts) -> Result<(), ApiError> {
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("(not text)"))
    };
    let refuse = || {
        ApiError::new(
            ErrorCode::Forbidden,
            "a change sent with only the session cookie must come from this hub's own pages; \
             other clients send the token as `Authorization: Bearer`",
        )
    };
    if let Some(site) = header(header::HeaderName::from_static("sec-fetch-site")) {
        return if site == "same-origin" {
            Ok(())
        } else {
            Err(refuse())
        };
    }
    if let Some(origin) = header(header::ORIGIN) {
        let own = header(header::HOST).is_some_and(|host| {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        });
        return if own { Ok(()) } else { Err(refuse()) };
    }
    let media_type = header(header::CONTENT_TYPE).map(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match media_type.as_deref() {
        Some("application/json" | "text/csv") => Ok(()),
        _ => Err(refuse()),
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?
        .trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// The address a request came from, when the hub was served with it (`serve` is): what login
/// throttling counts failures of a device by. Behind a proxy every device would be the
/// proxy; the hub is meant to be reached on the warehouse's network directly.
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The raw request body (for idempotency fingerprints and CSV), with enveloped rejections.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
                } else {
                    ApiError::bad_request(format!("could not read the request body: {e}"))
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, Method};
    use proptest::prelude::*;

    fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "(Bearer |bearer |packbench_session=|same-origin|http://|https://|;| |=|[a-z0-9.:]){0,8}"
                .prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..48),
        ]
    }

    proptest! {
        /// No header a client sends makes the session's extraction panic: the bearer token,
        /// the cookie, and the own-page check of a cookie-carried change are read or refused.
        #[test]
        fn no_header_panics(
            values in proptest::collection::vec(header_bytes(), 6),
            safe in any::<bool>(),
        ) {
            let names = [
                header::AUTHORIZATION,
                header::COOKIE,
                header::HeaderName::from_static("sec-fetch-site"),
                header::ORIGIN,
                header::HOST,
                header::CONTENT_TYPE,
            ];
            let mut request = Request::builder()
                .method(if safe { Method::GET } else { Method::POST })
                .uri("/api/acme/orders");
            for (name, value) in names.into_iter().zip(&values) {
                if let Ok(v) = HeaderValue::from_bytes(value) {
                    request = request.header(name, v);
                }
            }
            let (parts, _) = request.body(()).expect("a request").into_parts();
            let _ = bearer(&parts);
            let _ = cookie(&parts, auth::COOKIE);
            let _ = from_own_page(&parts);
        }
    }
}
