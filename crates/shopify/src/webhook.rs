//! Webhook signatures: `X-Shopify-Hmac-Sha256` is the Base64 HMAC-SHA256 of the raw body with
//! the app's secret. Verified on the bytes as received (re-serialised JSON would not match),
//! compared in constant time. Sans-IO: bytes in, a verdict out.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether `header` is the signature of `body` under `secret`.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(header.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).is_ok()
}

/// The signature of `body` (for the sim and tests that send webhooks).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Why a signed delivery does not fit the topic it came under or this shop, if it does not.
///
/// Shopify signs the body only: `X-Shopify-Topic` and `X-Shopify-Shop-Domain` are not
/// covered, so a body captured on its way could be sent again under another topic (an order
/// as `app/uninstalled`, a customer's redaction as `shop/redact`). Each topic that acts on its
/// own (not only bringing an import, which reads the shop's current state) must carry the body
/// Shopify sends for it, naming this shop.
pub fn fits(
    topic: &str,
    shop_domain: &str,
    header_shop: Option<&str>,
    body: &[u8],
) -> Result<(), String> {
    let same_shop = |d: &str| d.trim().eq_ignore_ascii_case(shop_domain.trim());
    if let Some(h) = header_shop
        && !same_shop(h)
    {
        return Err(format!(
            "this delivery is for the shop `{h}`, not `{shop_domain}`"
        ));
    }
    let Ok(serde_json::Value::Object(body)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return Err("the body is not a JSON object".into());
    };
    let text = |k: &str| body.get(k).and_then(serde_json::Value::as_str);
    let has = |k: &str| body.contains_key(k);
    let names_this_shop = |k: &str| match text(k) {
        Some(d) if same_shop(d) => Ok(()),
        Some(d) => Err(format!("the body's `{k}` is `{d}`, not `{shop_domain}`")),
        None => Err(format!("a `{topic}` body names its shop in `{k}`")),
    };
    match topic {
        // The shop itself.
        "app/uninstalled" => names_this_shop("myshopify_domain"),
        "shop/redact" => {
            names_this_shop("shop_domain")?;
            if has("customer") || has("orders_to_redact") || has("orders_requested") {
                return Err("a `shop/redact` body names no customer".into());
            }
            Ok(())
        }
        "customers/redact" | "customers/data_request" => {
            names_this_shop("shop_domain")?;
            let orders = if topic == "customers/redact" {
                "orders_to_redact"
            } else {
                "orders_requested"
            };
            let fits = body
                .get("customer")
                .is_some_and(serde_json::Value::is_object)
                && body.get(orders).is_some_and(serde_json::Value::is_array)
                && (topic == "customers/redact") != has("data_request");
            if fits {
                Ok(())
            } else {
                Err(format!("a `{topic}` body has a `customer` and `{orders}`"))
            }
        }
        // The rest only bring an import, or nothing.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A documented sample body (`specs/shopify/examples/webhooks`), addressed to `shop`.
    fn sample(name: &str, shop: &str) -> Vec<u8> {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/shopify/examples/webhooks");
        let text = std::fs::read_to_string(dir.join(format!("{name}.2026-07.json"))).unwrap();
        let mut v: serde_json::Value =
            serde_json::from_str(&text.replace("{shop}.myshopify.com", shop)).unwrap();
        if name == "app_uninstalled" {
            v["myshopify_domain"] = shop.into();
        }
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn a_body_is_taken_only_under_its_own_topic_and_for_this_shop() {
        let shop = "acme.myshopify.com";
        let topics = [
            ("app_uninstalled", "app/uninstalled"),
            ("shop_redact", "shop/redact"),
            ("customers_redact", "customers/redact"),
            ("customers_data_request", "customers/data_request"),
            ("orders_create", "orders/create"),
        ];
        for (file, topic) in topics {
            let body = sample(file, shop);
            assert_eq!(fits(topic, shop, Some(shop), &body), Ok(()), "{topic}");
            assert!(
                fits(topic, shop, Some("other.myshopify.com"), &body).is_err(),
                "{topic}"
            );
            if topic != "orders/create" {
                let theirs = sample(file, "other.myshopify.com");
                assert!(
                    fits(topic, shop, None, &theirs).is_err(),
                    "{topic} of another shop"
                );
            }
            // Under every other topic that acts on its own, refused.
            for (_, other) in topics
                .iter()
                .filter(|(_, t)| *t != topic && *t != "orders/create")
            {
                assert!(
                    fits(other, shop, Some(shop), &body).is_err(),
                    "{topic} as {other}"
                );
            }
        }
        assert!(fits("orders/create", shop, None, b"[1]").is_err());
    }

    #[test]
    fn shopifys_test_vectors_verify_and_whitespace_changes_do_not() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/shopify/examples");
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("hmac_test_vectors.json")).unwrap(),
        )
        .unwrap();
        let vectors = v["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 4);
        let mut first_header = String::new();
        for (i, t) in vectors.iter().enumerate() {
            let body = match (t["body_utf8"].as_str(), t["body_file"].as_str()) {
                (Some(b), _) => b.as_bytes().to_vec(),
                (None, Some(f)) => std::fs::read(dir.join(f)).unwrap(),
                _ => panic!("vector {i} has no body"),
            };
            let secret = t["secret"].as_str().unwrap().as_bytes();
            let expected = t["expected_x_shopify_hmac_sha256"].as_str().unwrap();
            assert!(verify(secret, &body, expected), "{}", t["name"]);
            assert_eq!(sign(secret, &body), expected);
            if i == 0 {
                first_header = expected.to_string();
            }
            if i == 1 {
                assert!(
                    !verify(secret, &body, &first_header),
                    "re-spaced JSON must not verify"
                );
            }
            assert!(!verify(b"wrong", &body, expected));
        }
        assert!(!verify(b"hush", b"{}", "not base64!"));
        assert!(!verify(b"hush", b"{}", ""));
    }
}
