//! A hub served on a loopback port in this process, and a login to it: the one way tests, the
//! load tools and the benchmarks start a hub of their own.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::{AppState, HubOptions};

pub struct LocalHub {
    /// `http://127.0.0.1:{port}`.
    pub url: String,
    pub state: Arc<AppState>,
}

impl LocalHub {
    /// Serves `state` on a free loopback port until the process ends.
    pub async fn serve(state: Arc<AppState>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(crate::serve(
            listener,
            state.clone(),
            HubOptions::default(),
            std::future::pending(),
        ));
        Ok(Self { url, state })
    }

    /// The API's base for a tenant: `{url}/api/{tenant}`.
    pub fn api(&self, tenant: &str) -> String {
        format!("{}/api/{tenant}", self.url)
    }

    /// Logs in through the API; answers the whole `data` of the answer (token, user, …).
    pub async fn login(
        &self,
        http: &reqwest::Client,
        tenant: &str,
        username: &str,
        password: &str,
    ) -> anyhow::Result<Value> {
        let answer: Value = http
            .post(format!("{}/auth/login", self.api(tenant)))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await?
            .json()
            .await?;
        anyhow::ensure!(
            answer["data"]["token"].is_string(),
            "logging in as {username}: {answer}"
        );
        Ok(answer["data"].clone())
    }
}
