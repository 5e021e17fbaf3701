//! The REST API under `/api/{tenant}` (DESIGN.md §4, the seed's contract). Handlers parse the
//! request into domain types, call one service, and map the answer into the envelope.

mod auth;
mod batches;
mod end_of_day;
mod inventory;
mod orders;
mod settings;
mod shipments;
mod sync;

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use packbench_core::ErrorCode;
use packbench_core::model::IdempotencyStart;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest JSON body accepted (a pick of 500 items is ~30 KB).
pub const MAX_BODY: usize = 256 * 1024;
/// Largest CSV import accepted.
pub const MAX_CSV: usize = 8 * 1024 * 1024;

/// The API's routes with their OpenAPI description: each route's path and methods come from
/// its handler's `#[utoipa::path]` (`api_doc`).
pub fn api() -> OpenApiRouter<Arc<AppState>> {
    let (schemas, paths, import) = routes!(inventory::import);
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::capabilities))
        .routes(routes!(orders::list))
        .routes(routes!(orders::counts))
        .routes(routes!(orders::claim))
        .routes(routes!(orders::detail))
        .routes(routes!(orders::operate))
        .routes(routes!(orders::packing_slip))
        .routes(routes!(orders::clear_review))
        .routes(routes!(shipments::list, shipments::create))
        .routes(routes!(shipments::detail))
        .routes(routes!(shipments::track))
        .routes(routes!(shipments::box_scan))
        .routes(routes!(end_of_day::summary))
        .routes(routes!(end_of_day::count_sheet))
        .routes(routes!(shipments::rates))
        .routes(routes!(shipments::check_address))
        .routes(routes!(shipments::label))
        .routes(routes!(sync::start, sync::clear))
        .routes(routes!(sync::webhook))
        .routes(routes!(sync::privacy_requests))
        .routes(routes!(settings::get, settings::patch))
        .routes(routes!(settings::get_devices, settings::save_devices))
        .routes(routes!(batches::pick_list))
        .routes(routes!(batches::ship))
        .routes(routes!(batches::sync))
        .routes(routes!(inventory::list, inventory::change))
        .routes(routes!(inventory::events))
        .routes(routes!(inventory::weights, inventory::set_weights))
        .routes(routes!(inventory::export))
        .routes((schemas, paths, import.layer(DefaultBodyLimit::max(MAX_CSV))))
        .routes(routes!(sync::events))
}

/// `{"data": ...}`
pub fn data<T: Serialize>(v: T) -> Json<Value> {
    Json(json!({ "data": v }))
}

/// `{"data": v}` rendered at once, for views that borrow what they show (`dto::OrderView`).
pub fn data_now<T: Serialize>(v: &T) -> ApiResult<Box<serde_json::value::RawValue>> {
    #[derive(Serialize)]
    struct Data<'a, T> {
        data: &'a T,
    }
    serde_json::value::to_raw_value(&Data { data: v }).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("could not render the answer: {e}"),
        )
    })
}

/// `{"data": [...], "next_cursor": ...}`
pub fn page<T: Serialize>(items: T, next: Option<String>) -> Json<Value> {
    Json(json!({ "data": items, "next_cursor": next }))
}

/// Unknown routes get the envelope too.
pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {method} {}", uri.path()))
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let mut e = ApiError::new(
        ErrorCode::BadRequest,
        format!("{method} is not allowed on {}", uri.path()),
    )
    .into_response();
    *e.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    e
}

/// Runs a request's work in a task of its own and answers what it answers. A client that
/// goes away (a closed tab, a dropped connection) drops only the wait: work that buys a label
/// always runs on to record it, and to keep the answer of its Idempotency-Key.
pub async fn detached<F>(work: F) -> Response
where
    F: Future<Output = Response> + Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "a request's task failed");
            ApiError::new(
                ErrorCode::Internal,
                "something went wrong on the hub; look at the order before trying again",
            )
            .into_response()
        }
    }
}

const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Runs `work` at most once per `Idempotency-Key`: a retry with the same key and the same
/// request gets the first answer again (header `Idempotent-Replayed: true`), never a second
/// effect. Answers of 500 and 503 are not kept (nothing was done), so those can be retried;
/// except `label_not_recorded`, a 500 after a label was bought, which is kept.
pub async fn idempotent<F, Fut, B>(
    app: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    request: &[u8],
    work: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<(StatusCode, B)>>,
    B: Serialize,
{
    let key = match headers.get(IDEMPOTENCY_HEADER).map(|v| v.to_str()) {
        None => return respond(work().await),
        Some(Ok(k)) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_owned()
        }
        Some(_) => {
            return ApiError::bad_request("Idempotency-Key must be 1-255 visible ASCII characters")
                .into_response();
        }
    };
    // The same key from another user, or for another request, is not a replay.
    let mut hasher = Sha256::new();
    hasher.update(caller.user.id.as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(request);
    let fingerprint = hex::encode(hasher.finalize());

    let started = app
        .fulfillment
        .idempotency_start(&caller.tenant.id, &key, &caller.user.id, &fingerprint)
        .await;
    match started {
        Err(e) => ApiError::from(e).into_response(),
        Ok(IdempotencyStart::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut res =
                (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            res
        }
        Ok(IdempotencyStart::InProgress) => ApiError::new(
            ErrorCode::RequestInProgress,
            "the first request with this Idempotency-Key is still running; wait and retry",
        )
        .into_response(),
        Ok(IdempotencyStart::Interrupted { since }) => ApiError::new(
            ErrorCode::RequestInterrupted,
            format!(
                "the first request with this Idempotency-Key started at {} and never finished (the \
                 hub stopped part-way); check the order to see whether it took effect, then send \
                 the request again with a new key if it is still needed",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        )
        .into_response(),
        Ok(IdempotencyStart::Mismatch) => ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different request; use a new key",
        )
        .into_response(),
        Ok(IdempotencyStart::Proceed) => {
            let (status, bytes, acted) = match work().await {
                Ok((s, v)) => (s, serde_json::to_vec(&v), true),
                Err(e) => (
                    e.status(),
                    serde_json::to_vec(&e.body()),
                    e.code == ErrorCode::LabelNotRecorded,
                ),
            };
            let bytes = bytes.unwrap_or_default();
            let kept = if !acted && may_work_later(status) {
                app.fulfillment
                    .idempotency_abandon(&caller.tenant.id, &key)
                    .await
            } else {
                app.fulfillment
                    .idempotency_finish(&caller.tenant.id, &key, status.as_u16(), &bytes)
                    .await
            };
            if let Err(e) = kept {
                tracing::error!(error = ?e, "could not record an idempotent answer");
            }
            (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
    }
}

/// An answer that says nothing was done and that the same request may work later: its key is
/// given back instead of answering it again for ever. A label bought or under way is never
/// bought twice by a retry: the order's reservation sees to that (`service::shipping`), not
/// the key.
fn may_work_later(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
    )
}

fn respond<B: Serialize>(r: ApiResult<(StatusCode, B)>) -> Response {
    match r {
        Ok((s, v)) => (s, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}
