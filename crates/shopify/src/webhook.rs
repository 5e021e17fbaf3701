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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
