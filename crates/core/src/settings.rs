//! A tenant's business settings (DESIGN.md §4). Stored as one JSON document; changed by JSON
//! merge patch (RFC 7396) and validated as a whole before anything is saved. Secrets are
//! write-only: [`Settings::public_view`] reports only whether each one is set.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::{DimensionUnit, Location, ParseError, WeightUnit};
use crate::weighing::WeightCheck;

/// A secret value. Its `Debug` never shows it, so it cannot leak through a log line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopifySettings {
    pub shop_domain: Option<String>,
    pub access_token: Option<Secret>,
    pub api_secret: Option<Secret>,
    pub api_base_url: Option<String>,
    /// A Dev Dashboard app's credentials: tokens are then fetched (client credentials grant)
    /// and renewed before they expire (24 h), instead of a fixed `access_token`.
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub location_ids: Vec<String>,
    pub notify_customer: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpsEnvironment {
    #[default]
    Cie,
    Production,
}

/// The label UPS sells: ZPL (4x6) for thermal printers, GIF for laser printers and screens.
/// Either can be printed anywhere: Packbench converts on the way out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpsLabelFormat {
    #[default]
    Zpl,
    Gif,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpsSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub account_number: Option<String>,
    pub environment: UpsEnvironment,
    pub base_url: Option<String>,
    pub label_format: UpsLabelFormat,
    /// How many labels a batch buys at once (1-16; UPS publishes no limit, so stay gentle).
    pub batch_concurrency: Option<u8>,
}

impl UpsSettings {
    pub const DEFAULT_BATCH_CONCURRENCY: u8 = 4;

    pub fn batch_concurrency(&self) -> usize {
        usize::from(
            self.batch_concurrency
                .unwrap_or(Self::DEFAULT_BATCH_CONCURRENCY)
                .clamp(1, 16),
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShipperAddress {
    pub lines: Vec<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Shipper {
    pub name: Option<String>,
    pub attention: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: ShipperAddress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Units {
    pub weight: WeightUnit,
    pub dimension: DimensionUnit,
}

impl Default for Units {
    fn default() -> Self {
        Self {
            weight: WeightUnit::Lb,
            dimension: DimensionUnit::In,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub shopify: ShopifySettings,
    pub ups: UpsSettings,
    pub shipper: Shipper,
    pub default_location: Option<Location>,
    pub auto_fulfill: bool,
    pub units: Units,
    /// How packed boxes are weighed against their items (`crate::weighing`).
    pub weight_check: WeightCheck,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            shopify: ShopifySettings::default(),
            ups: UpsSettings::default(),
            shipper: Shipper::default(),
            default_location: None,
            auto_fulfill: true,
            units: Units::default(),
            weight_check: WeightCheck::default(),
        }
    }
}

/// The secret fields, as paths into the document.
const SECRETS: [(&str, &str); 4] = [
    ("shopify", "access_token"),
    ("shopify", "api_secret"),
    ("shopify", "client_secret"),
    ("ups", "client_secret"),
];

/// Calls `f` with each secret of a settings document and its path (`ups.client_secret`):
/// how the store seals them at rest and opens them again.
pub fn visit_secrets<E>(
    doc: &mut Value,
    mut f: impl FnMut(&str, &mut String) -> Result<(), E>,
) -> Result<(), E> {
    for (section, key) in SECRETS {
        if let Some(Value::String(s)) = doc.get_mut(section).and_then(|v| v.get_mut(key)) {
            f(&format!("{section}.{key}"), s)?;
        }
    }
    Ok(())
}

impl Settings {
    /// Reads a stored document (an absent one is the defaults).
    pub fn from_document(doc: Option<&Value>) -> Result<Self, ParseError> {
        match doc {
            None => Ok(Self::default()),
            Some(v) => Self::parse(v.clone()),
        }
    }

    fn parse(v: Value) -> Result<Self, ParseError> {
        let s: Settings =
            serde_json::from_value(v).map_err(|e| ParseError::new("settings", e.to_string()))?;
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<(), ParseError> {
        for url in [&self.shopify.api_base_url, &self.ups.base_url]
            .into_iter()
            .flatten()
        {
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.contains(char::is_whitespace)
            {
                return Err(ParseError::new(
                    "settings",
                    format!("`{url}` is not an http(s) URL"),
                ));
            }
        }
        if let Some(d) = &self.shopify.shop_domain
            && (d.is_empty()
                || !d
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b':'))
        {
            return Err(ParseError::new(
                "settings",
                "shopify.shop_domain must be a host name such as acme.myshopify.com",
            ));
        }
        if let Some(n) = self.ups.batch_concurrency
            && !(1..=16).contains(&n)
        {
            return Err(ParseError::new(
                "settings",
                "ups.batch_concurrency must be between 1 and 16",
            ));
        }
        if let Some(p) = &self.shipper.phone
            && p.chars().filter(|c| !c.is_whitespace()).count() > 15
        {
            return Err(ParseError::new(
                "settings",
                "shipper.phone must be at most 15 characters (UPS)",
            ));
        }
        if let Some(a) = &self.ups.account_number
            && (a.len() != 6 || !a.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(ParseError::new(
                "settings",
                "ups.account_number must be 6 letters or digits",
            ));
        }
        if let Some((field, message)) = self.weight_check.problem() {
            return Err(ParseError::new(field, message));
        }
        if self.shipper.address.lines.len() > 3 {
            return Err(ParseError::new(
                "settings",
                "shipper.address.lines holds at most 3 lines",
            ));
        }
        Ok(())
    }

    /// Applies a JSON merge patch to the stored document and validates the result. Returns the
    /// new document to store; nothing is changed when the patch is refused.
    pub fn merge(stored: Option<&Value>, patch: &Value) -> Result<(Self, Value), ParseError> {
        if !patch.is_object() {
            return Err(ParseError::new(
                "settings",
                "the body must be a JSON object",
            ));
        }
        let mut doc = stored.cloned().unwrap_or_else(|| json!({}));
        merge_patch(&mut doc, patch);
        let settings = Self::parse(doc.clone())?;
        if let Some(before) = stored.and_then(|d| Self::parse(d.clone()).ok()) {
            secrets_follow_only_when_entered(&before, &settings, patch)?;
        }
        Ok((settings, doc))
    }

    /// The host the Shopify secrets go to: the override's, else the shop's own domain.
    fn shopify_host(&self) -> Option<String> {
        match &self.shopify.api_base_url {
            Some(url) => Some(host_of(url)),
            None => self
                .shopify
                .shop_domain
                .as_deref()
                .map(str::to_ascii_lowercase),
        }
    }

    /// The host the UPS secret goes to when it is not UPS's own (`None`: UPS's).
    fn ups_override_host(&self) -> Option<String> {
        self.ups.base_url.as_deref().map(host_of)
    }

    /// The settings as any client may see them: every secret replaced by `<name>_set: bool`.
    pub fn public_view(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        for (section, key) in SECRETS {
            if let Some(obj) = v.get_mut(section).and_then(Value::as_object_mut) {
                let set = obj.remove(key).is_some_and(|s| !s.is_null());
                obj.insert(format!("{key}_set"), Value::Bool(set));
            }
        }
        v
    }

    pub fn ups_configured(&self) -> bool {
        self.ups.client_id.is_some()
            && self.ups.client_secret.is_some()
            && self.ups.account_number.is_some()
    }
}

/// A change that would send a kept secret to a host it did not go to before (another shop
/// domain, a base URL override) must enter that secret again in the same change: whoever
/// holds an admin's session could otherwise redirect the warehouse's credentials to a host of
/// their own. Going back to UPS's own host needs nothing.
fn secrets_follow_only_when_entered(
    before: &Settings,
    after: &Settings,
    patch: &Value,
) -> Result<(), ParseError> {
    let entered = |section: &str, key: &str| patch[section].get(key).is_some_and(|v| !v.is_null());
    let moves = [
        (
            "shopify",
            before.shopify_host(),
            after.shopify_host(),
            vec![
                ("access_token", after.shopify.access_token.is_some()),
                ("client_secret", after.shopify.client_secret.is_some()),
            ],
        ),
        (
            "ups",
            before.ups_override_host(),
            after.ups_override_host(),
            vec![("client_secret", after.ups.client_secret.is_some())],
        ),
    ];
    for (section, was, now, secrets) in moves {
        let Some(now) = now.filter(|h| Some(h) != was.as_ref()) else {
            continue;
        };
        for (key, kept) in secrets {
            if kept && !entered(section, key) {
                return Err(ParseError::new(
                    "settings",
                    format!(
                        "this change sends {section}.{key} to `{now}` (it went to `{}`): enter {section}.{key} again in the same change",
                        was.as_deref().unwrap_or("the service's own host")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A URL's host and port, lower-cased (`https://Example.com:8443/x` → `example.com:8443`).
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials before an `@` are not part of where it goes.
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.to_ascii_lowercase()
}

/// RFC 7396: objects merge key by key, `null` deletes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_write_only() {
        let (s, _) = Settings::merge(
            None,
            &json!({"shopify": {"access_token": "shpat_supersecret"}, "ups": {"client_secret": "abc"}}),
        )
        .unwrap();
        let view = s.public_view().to_string();
        assert!(!view.contains("shpat_supersecret"), "{view}");
        assert!(!view.contains("\"abc\""), "{view}");
        assert!(view.contains("\"access_token_set\":true"));
        assert!(view.contains("\"api_secret_set\":false"));
        assert!(
            !format!("{s:?}").contains("shpat_supersecret"),
            "Debug redacts"
        );
    }

    #[test]
    fn a_secret_follows_a_new_host_only_when_entered_again() {
        let (_, stored) = Settings::merge(
            None,
            &json!({"shopify": {"shop_domain": "acme.myshopify.com", "access_token": "shpat_1"},
                    "ups": {"client_id": "cid", "client_secret": "ups_1"}}),
        )
        .unwrap();
        let refused = [
            json!({"ups": {"base_url": "https://collector.example"}}),
            json!({"shopify": {"api_base_url": "https://collector.example/admin/api/2026-10"}}),
            json!({"shopify": {"shop_domain": "collector.example"}}),
        ];
        for patch in refused {
            let e = Settings::merge(Some(&stored), &patch).unwrap_err();
            assert!(
                e.message.contains("collector.example") && e.message.contains("again"),
                "{patch}: {e}"
            );
        }
        let taken = [
            json!({"ups": {"base_url": "https://collector.example", "client_secret": "ups_2"}}),
            json!({"shopify": {"shop_domain": "other.myshopify.com", "access_token": "shpat_2"}}),
            json!({"shopify": {"shop_domain": "ACME.myshopify.com"}}),
            json!({"ups": {"environment": "production"}}),
            json!({"default_location": "A-1"}),
        ];
        for patch in taken {
            assert!(Settings::merge(Some(&stored), &patch).is_ok(), "{patch}");
        }
        // Back to UPS's own host needs nothing; a new path on the same host neither.
        let (_, moved) = Settings::merge(
            Some(&stored),
            &json!({"ups": {"base_url": "https://proxy.example/a", "client_secret": "ups_2"}}),
        )
        .unwrap();
        assert!(Settings::merge(Some(&moved), &json!({"ups": {"base_url": null}})).is_ok());
        assert!(
            Settings::merge(
                Some(&moved),
                &json!({"ups": {"base_url": "https://proxy.example/b"}})
            )
            .is_ok()
        );
        assert_eq!(
            host_of("https://u:p@Example.com:8443/x?y"),
            "example.com:8443"
        );
    }

    #[test]
    fn a_patch_merges_and_null_removes() {
        let (_, doc) = Settings::merge(
            None,
            &json!({"default_location": "A-1", "units": {"weight": "kg", "dimension": "cm"}}),
        )
        .unwrap();
        let (s, doc) = Settings::merge(
            Some(&doc),
            &json!({"default_location": null, "auto_fulfill": false}),
        )
        .unwrap();
        assert_eq!(s.default_location, None);
        assert_eq!(s.units.weight, WeightUnit::Kg, "untouched keys stay");
        assert!(!s.auto_fulfill);
        assert!(doc.get("default_location").is_none());
    }

    #[test]
    fn a_bad_patch_is_refused_whole() {
        assert!(Settings::merge(None, &json!({"nope": 1})).is_err());
        assert!(
            Settings::merge(
                None,
                &json!({"units": {"weight": "stone", "dimension": "in"}})
            )
            .is_err()
        );
        assert!(Settings::merge(None, &json!({"ups": {"base_url": "ftp://x"}})).is_err());
        assert!(
            Settings::merge(
                None,
                &json!({"shipper": {"phone": "+1 (555) 123-4567-8901"}})
            )
            .is_err()
        );
        assert!(Settings::merge(None, &json!([1])).is_err());
    }
}
