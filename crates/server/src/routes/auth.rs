use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::data;
use crate::auth::{COOKIE, Caller, Permission};
use crate::dto::{Login, LoginBody};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ClientAddress, TenantPath};
use crate::state::AppState;

fn cookie(tenant: &str, value: &str, max_age: i64) -> HeaderValue {
    let c = format!(
        "{COOKIE}={value}; Path=/api/{tenant}; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    );
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[utoipa::path(
    post, path = "/auth/login", tag = "auth", security(()),
    request_body = crate::dto::LoginBody,
    responses((status = 200, description = "a session: `token` (bearer), `expires_at`, `user`, `station_id`; also set as the hub's cookie", body = crate::api_doc::Answer), crate::api_doc::LoginRefusals)
)]
pub async fn login(
    State(app): State<Arc<AppState>>,
    TenantPath(tenant): TenantPath,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let Login {
        username,
        password,
        station,
    } = body.parse()?;
    let now = app.fulfillment.clock().now();
    let ok = app
        .fulfillment
        .login(&tenant, &username, &password, station.as_deref(), client)
        .await?;
    tracing::info!(tenant = %tenant.slug, user = %ok.user.username, station = ?station, "login");
    let body = data(json!({
        "token": ok.token,
        "expires_at": ok.expires_at,
        "user": ok.user,
        "station_id": station,
        "tenant": tenant.slug}));
    let mut res = body.into_response();
    let max_age = (ok.expires_at - now).num_seconds();
    res.headers_mut().insert(
        header::SET_COOKIE,
        cookie(tenant.slug.as_str(), &ok.token, max_age),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    responses((status = 200, description = "`logged_out: true`; the session and its cookie end", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn logout(State(app): State<Arc<AppState>>, caller: Caller) -> ApiResult<Response> {
    app.end_session(&caller.tenant.id, &caller.token_hash)
        .await?;
    let mut res = data(json!({"logged_out": true})).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        cookie(caller.tenant.slug.as_str(), "", 0),
    );
    Ok(res)
}

#[utoipa::path(
    get, path = "/auth/me", tag = "auth",
    responses((status = 200, description = "the caller: `user`, `station_id`, `tenant`", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn me(caller: Caller) -> Json<Value> {
    data(
        json!({"user": caller.user, "station_id": caller.station_id, "tenant": caller.tenant.slug}),
    )
}

#[utoipa::path(
    get, path = "/capabilities", tag = "auth",
    responses((status = 200, description = "the caller's `role` and `permissions`", body = crate::api_doc::Answer), crate::api_doc::Refusals)
)]
pub async fn capabilities(caller: Caller) -> Json<Value> {
    let permissions: Vec<&str> = Permission::ALL
        .iter()
        .filter(|p| p.granted_to(caller.user.role))
        .map(|p| p.as_str())
        .collect();
    data(json!({"role": caller.user.role, "permissions": permissions}))
}
