//! Secrets at rest. The settings' secrets (API tokens, client secrets) are sealed with
//! XChaCha20-Poly1305 under a key kept outside the database: whoever copies the database file
//! or a backup of it gets ciphertext. Each sealed value is bound to its tenant and its field,
//! so a sealed value moved to another tenant or field does not open.
//!
//! A sealed value reads `sealed:v1:<key id>:<base64 of nonce and ciphertext>`. The key id (the
//! first 8 hex digits of the key's SHA-256) names which key sealed it, so a hub given the wrong
//! key says so instead of failing on every secret.
//!
//! Where the key lives is the caller's choice: the hub reads it from `PACKBENCH_SECRET_KEY` or
//! a key file ([`SecretKey::load_or_create`]), the desktop station from the OS keyring.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 24;

/// The key that seals a database's secrets. Its `Debug` shows only its id.
#[derive(Clone)]
pub struct SecretKey {
    cipher: XChaCha20Poly1305,
    bytes: [u8; 32],
    id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a secret key is 32 bytes written in base64 (make one with `openssl rand -base64 32`)")]
    Malformed,
    #[error("{path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} can be read by other users (mode {mode:o}): `chmod 600 {path}`, it holds the key to the database's secrets"
    )]
    Exposed { path: String, mode: u32 },
}

/// Why a sealed secret did not open.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(
        "the database's secrets are sealed, and this hub has no secret key to open them: give it the key they were sealed with"
    )]
    NoKey,
    #[error(
        "{field} was sealed with key {sealed_with}, and this hub's key is {ours}: give it the key the database was set up with"
    )]
    OtherKey {
        field: String,
        sealed_with: String,
        ours: String,
    },
    #[error("{field} is damaged: its sealed value does not open")]
    Damaged { field: String },
}

impl SecretKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self::from_bytes(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    fn from_bytes(bytes: [u8; 32]) -> Self {
        let digest = Sha256::digest(bytes);
        Self {
            cipher: XChaCha20Poly1305::new(&bytes.into()),
            bytes,
            id: digest[..4].iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// A key from its base64 text (surrounding white space ignored).
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| KeyError::Malformed)?
            .try_into()
            .map_err(|_| KeyError::Malformed)?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key as base64 text, for a keyring entry or a key file.
    pub fn to_text(&self) -> String {
        B64.encode(self.bytes)
    }

    /// Which key this is (not secret: the first 8 hex digits of its SHA-256).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key kept in `path`, made there (readable by its owner only) when the file does not
    /// exist yet; `true` when it was made. A key file others can read is refused.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        let file_err = |source| KeyError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                refuse_exposed(path)?;
                Ok((Self::from_text(&text)?, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(file_err)?;
                }
                let key = Self::generate();
                match publish_private(path, &key.to_text()) {
                    Ok(()) => Ok((key, true)),
                    // Another hub starting beside this one made it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(path)
                    }
                    Err(e) => Err(file_err(e)),
                }
            }
            Err(e) => Err(file_err(e)),
        }
    }

    /// `plain` sealed for `field` of `tenant`.
    pub(crate) fn seal(&self, tenant: &str, field: &str, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = binding(tenant, field);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any message under 256 GiB");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", self.id, B64.encode(bytes))
    }

    /// The plain text of a value [`SecretKey::seal`] made for `field` of `tenant`.
    pub(crate) fn open(&self, tenant: &str, field: &str, value: &str) -> Result<String, SealError> {
        let damaged = || SealError::Damaged {
            field: field.to_owned(),
        };
        let rest = value.strip_prefix(PREFIX).ok_or_else(damaged)?;
        let (id, body) = rest.split_once(':').ok_or_else(damaged)?;
        if id != self.id {
            return Err(SealError::OtherKey {
                field: field.to_owned(),
                sealed_with: id.to_owned(),
                ours: self.id.clone(),
            });
        }
        let bytes = B64.decode(body).map_err(|_| damaged())?;
        if bytes.len() < NONCE_LEN {
            return Err(damaged());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let aad = binding(tenant, field);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| damaged())?;
        String::from_utf8(plain).map_err(|_| damaged())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

/// Whether a stored value is sealed (rather than plain text kept before sealing existed).
pub(crate) fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// What a sealed value is bound to: its tenant and its field.
fn binding(tenant: &str, field: &str) -> String {
    format!("packbench settings {tenant} {field}")
}

/// Writes `text` to `path`, readable by its owner only, all at once: the file is written
/// whole beside it, then linked in place (failing with `AlreadyExists` if `path` exists), so
/// a reader never sees half a key.
fn publish_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let draft = path.with_extension(format!("new-{}", rand::random::<u64>()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&draft).and_then(|mut file| {
        file.write_all(format!("{text}\n").as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    linked
}

#[cfg(unix)]
fn refuse_exposed(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| KeyError::File {
            path: path.display().to_string(),
            source,
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_exposed(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_tenant_and_field_with_its_key() {
        let key = SecretKey::generate();
        let sealed = key.seal("t1", "ups.client_secret", "hunter2");
        assert!(is_sealed(&sealed), "{sealed}");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(
            key.open("t1", "ups.client_secret", &sealed).unwrap(),
            "hunter2"
        );
        assert!(matches!(
            key.open("t2", "ups.client_secret", &sealed),
            Err(SealError::Damaged { .. })
        ));
        assert!(matches!(
            key.open("t1", "shopify.client_secret", &sealed),
            Err(SealError::Damaged { .. })
        ));
        let other = SecretKey::generate();
        let Err(SealError::OtherKey { sealed_with, .. }) =
            other.open("t1", "ups.client_secret", &sealed)
        else {
            panic!("another key opened it");
        };
        assert_eq!(sealed_with, key.id());
        // The same secret sealed twice reads differently (a fresh nonce each time).
        assert_ne!(sealed, key.seal("t1", "ups.client_secret", "hunter2"));
    }

    #[test]
    fn a_key_survives_its_text_and_a_bad_text_is_named() {
        let key = SecretKey::generate();
        let again = SecretKey::from_text(&format!(" {}\n", key.to_text())).unwrap();
        assert_eq!(again.id(), key.id());
        let sealed = key.seal("t", "f", "x");
        assert_eq!(again.open("t", "f", &sealed).unwrap(), "x");
        assert!(matches!(
            SecretKey::from_text("c2hvcnQ="),
            Err(KeyError::Malformed)
        ));
        assert!(!format!("{key:?}").contains(&key.to_text()));
    }

    #[test]
    fn a_key_file_is_made_once_for_its_owner_and_an_exposed_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("packbench-key-{}", rand::random::<u64>()));
        let path = dir.join("secret.key");
        let (made, created) = SecretKey::load_or_create(&path).unwrap();
        assert!(created);
        let (read, created) = SecretKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(made.id(), read.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                SecretKey::load_or_create(&path),
                Err(KeyError::Exposed { .. })
            ));
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
