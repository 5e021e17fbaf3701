//! The hub's OpenAPI 3.1 document (`GET /api/openapi.json`), generated from the code: each
//! handler carries its `#[utoipa::path]` (method, path, parameters, body, answers), the
//! request bodies derive their schemas (`dto`), and the router is built from those same
//! annotations (`routes::api`), so a route cannot be served without being documented, nor
//! documented at a path it is not served at.
//!
//! Answers are the envelope: `{"data": ...}` ([`Answer`]), a page ([`Page`]), or an error
//! ([`ErrorBody`]). Each route lists the statuses it can answer through the refusal groups
//! below: [`Refusals`] for all, [`ChangeRefusals`] for changes, [`CallRefusals`] for those that
//! call UPS or Shopify.

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, OpenApi, RefOr, Required, Type};
use utoipa::{IntoResponses, Modify, ToSchema};

use crate::auth::COOKIE;

/// `{"data": ...}`: the operation's answer, as its description says.
#[derive(ToSchema)]
pub struct Answer {
    #[allow(dead_code, reason = "a schema only")]
    data: serde_json::Value,
}

/// `{"data": [...], "next_cursor": ...}`: one page of a list; `next_cursor` (if not null) is
/// passed back as `cursor` for the next page.
#[derive(ToSchema)]
pub struct Page {
    #[allow(dead_code, reason = "a schema only")]
    data: Vec<serde_json::Value>,
    #[allow(dead_code, reason = "a schema only")]
    next_cursor: Option<String>,
}

/// One server-sent event of `GET events`: its `event` name (`order_changed`, `stock_changed`,
/// `orders_cleared`, `batch_progress`, `tracking_exception`, or `lagged`: reload) and its
/// `data`, a JSON object with the same `type`.
#[derive(ToSchema)]
pub struct LiveEventFrame {
    #[allow(dead_code, reason = "a schema only")]
    event: Option<String>,
    #[allow(dead_code, reason = "a schema only")]
    data: Option<String>,
}

/// `{"error": {"code", "message", "details"?}}`: what went wrong, and what to fix.
#[derive(ToSchema)]
pub struct ErrorBody {
    #[allow(dead_code, reason = "a schema only")]
    error: ErrorDetail,
}

#[derive(ToSchema)]
pub struct ErrorDetail {
    /// A stable code (`validation_failed`, `label_in_progress`...) to act on.
    #[allow(dead_code, reason = "a schema only")]
    code: String,
    /// For a person: what went wrong and what to do.
    #[allow(dead_code, reason = "a schema only")]
    message: String,
    /// The field, index or lines concerned, when there are some.
    #[allow(dead_code, reason = "a schema only")]
    details: Option<serde_json::Value>,
}

/// What any route under a tenant can answer besides its data.
#[derive(IntoResponses)]
#[allow(dead_code, reason = "a schema only")]
pub enum Refusals {
    /// Malformed: a query parameter the route does not take, malformed JSON, no body.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No session: log in first (bearer token or the hub's cookie).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The caller's role may not do this, or a cookie-carried change came from another page.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such tenant, or no such record in it.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// A value does not fit: a field missing, of the wrong type or form, unknown or out of
    /// range (named in `details`), or the carrier refused it (its reason given).
    #[response(status = 422)]
    Invalid(ErrorBody),
}

/// What a change can answer besides [`Refusals`].
#[derive(IntoResponses)]
#[allow(dead_code, reason = "a schema only")]
pub enum ChangeRefusals {
    /// The record changed first, the workflow does not allow this now, a label is being
    /// bought, or an Idempotency-Key was used for another request.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// The body is larger than the hub takes.
    #[response(status = 413)]
    TooLarge(ErrorBody),
}

/// What a change that calls UPS or Shopify can answer besides [`Refusals`] and
/// [`ChangeRefusals`].
#[derive(IntoResponses)]
#[allow(dead_code, reason = "a schema only")]
pub enum CallRefusals {
    /// UPS or Shopify did not answer, or answered with an error of theirs: try again.
    #[response(status = 502)]
    Unavailable(ErrorBody),
    /// No UPS account or Shopify store is set up for this tenant yet.
    #[response(status = 503)]
    NotConfigured(ErrorBody),
}

/// What a login can answer besides a session.
#[derive(IntoResponses)]
#[allow(dead_code, reason = "a schema only")]
pub enum LoginRefusals {
    /// Malformed JSON, or no body.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// The username or password is wrong.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// No such tenant.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The body is larger than the hub takes.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The body does not fit (a username or station of the wrong form, a missing password).
    #[response(status = 422)]
    Invalid(ErrorBody),
    /// This device failed too often: wait as `Retry-After` says.
    #[response(status = 429)]
    TooMany(ErrorBody),
}

/// The document's frame: what the API is, how to log in, the shared schemas.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Packbench hub",
        description = "The packing bench's REST API: orders from Shopify through pick, pack and ship, UPS labels, stock by location, batches. Every route is under `/api/{tenant}`; answers are `{\"data\": ...}`, errors `{\"error\": {\"code\", \"message\", \"details\"}}`.",
        license(name = "MIT")
    ),
    paths(health, openapi_json),
    modifiers(&Frame),
    security(("bearer" = []), ("cookie" = [])),
    components(schemas(Answer, Page, ErrorBody, ErrorDetail, LiveEventFrame))
)]
pub struct ApiDoc;

/// Adds what the annotations cannot say once for all: the login schemes, and the `tenant` path
/// parameter every route under `/api/{tenant}` takes.
struct Frame;

impl Modify for Frame {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("the `token` `POST auth/login` answers"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                COOKIE,
                "set by `POST auth/login` for the hub's own pages; a change carried by it alone must come from them",
            ))),
        );
    }
}

/// The whole document: the frame, and the API's routes (`routes::api`) under `/api/{tenant}`.
pub fn document(api: OpenApi) -> OpenApi {
    let mut doc = <ApiDoc as utoipa::OpenApi>::openapi().nest("/api/{tenant}", api);
    add_tenant_parameter(&mut doc);
    doc
}

/// Whether the hub is up (no login, no database).
#[utoipa::path(get, path = "/health", tag = "hub", security(()),
    responses((status = 200, description = "`ok: true`", body = Answer)))]
pub async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"data": {"ok": true}}))
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "hub", security(()),
    responses((status = 200, description = "the hub's OpenAPI 3.1 document", body = Object)))]
#[allow(
    dead_code,
    reason = "served by the router's closure, which holds the document"
)]
async fn openapi_json() {}

/// The `tenant` parameter of every route nested under `/api/{tenant}`.
fn add_tenant_parameter(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/api/{tenant}") {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in operations.into_iter().flatten() {
            let params = op.parameters.get_or_insert_with(Vec::new);
            let named = |p: &RefOr<Parameter>| matches!(p, RefOr::T(p) if p.name == "tenant");
            if !params.iter().any(named) {
                params.insert(0, RefOr::T(tenant_parameter()));
            }
        }
    }
}

fn tenant_parameter() -> Parameter {
    ParameterBuilder::new()
        .name("tenant")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some("the warehouse's slug (`demo`, `acme`)"))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$")),
        ))
        .build()
}

/// A page of a list: how many, and where the page before ended (`GET orders`, `shipments`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the document only: the lists parse their query with `dto::Query`
pub struct PageParams {
    /// 1-500, default 50
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the page before
    cursor: Option<String>,
}
