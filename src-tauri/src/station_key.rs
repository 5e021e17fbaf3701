//! The key that seals the station database's secrets (`packbench_store::SecretKey`): kept in
//! the OS keyring (Credential Manager on Windows, the Keychain on macOS, the Secret Service on
//! Linux), so a copy of the data directory holds no usable credentials.
//!
//! A Linux desktop without a Secret Service (no GNOME Keyring or KWallet) keeps it in a file
//! in the data directory instead, readable by its owner only. Where the key went is written
//! down at the first start (`secret-key.where`), so a keyring that is locked or not running
//! later is reported as such, never answered with a new key the database's secrets would not
//! open under.

use std::path::{Path, PathBuf};

use packbench_store::SecretKey;

const SERVICE: &str = "Packbench station";
const WHERE: &str = "secret-key.where";
const KEY_FILE: &str = "secret.key";

/// Where the station's key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    Keyring,
    File(PathBuf),
}

/// The station's key for the database in `data_dir`, made at the first start.
pub fn station_key(data_dir: &Path) -> Result<(SecretKey, Kept), String> {
    let entry = keyring::Entry::new(SERVICE, &data_dir.display().to_string())
        .map_err(|e| format!("the OS keyring: {e}"));
    let in_file = || {
        let path = data_dir.join(KEY_FILE);
        SecretKey::load_or_create(&path)
            .map(|(key, _)| (key, Kept::File(path)))
            .map_err(|e| e.to_string())
    };
    match std::fs::read_to_string(data_dir.join(WHERE))
        .as_deref()
        .map(str::trim)
    {
        Ok("keyring") => {
            let text = entry.and_then(|e| {
                e.get_password().map_err(|e| {
                    format!(
                        "the key to this station's secrets is in the OS keyring, which did not give it ({e}): unlock the keyring (log in to the desktop) and start Packbench again"
                    )
                })
            })?;
            let key = SecretKey::from_text(&text).map_err(|e| format!("the OS keyring: {e}"))?;
            Ok((key, Kept::Keyring))
        }
        Ok("file") => in_file(),
        Ok(other) => Err(format!(
            "{}: `{other}` is neither `keyring` nor `file`",
            data_dir.join(WHERE).display()
        )),
        Err(_) => {
            let found = match entry {
                Ok(entry) => in_keyring(&entry),
                Err(_) => None,
            };
            let (key, kept) = match found {
                Some(key) => (key, Kept::Keyring),
                None => in_file()?,
            };
            let written = match kept {
                Kept::Keyring => "keyring",
                Kept::File(_) => "file",
            };
            std::fs::write(data_dir.join(WHERE), written)
                .map_err(|e| format!("{}: {e}", data_dir.join(WHERE).display()))?;
            Ok((key, kept))
        }
    }
}

/// The key in the keyring, put there now if it is not there yet; `None` when the keyring
/// cannot keep it.
fn in_keyring(entry: &keyring::Entry) -> Option<SecretKey> {
    match entry.get_password() {
        Ok(text) => SecretKey::from_text(&text).ok(),
        Err(keyring::Error::NoEntry) => {
            let key = SecretKey::generate();
            entry.set_password(&key.to_text()).ok()?;
            // Read back: some keyrings take a write they do not keep.
            let kept = entry.get_password().ok()?;
            (kept == key.to_text()).then_some(key)
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `PACKBENCH_REQUIRE_KEYRING=1` (`make test`, which runs a GNOME Keyring): the key must go
    /// to the keyring. Otherwise whichever this machine has.
    #[test]
    fn the_key_is_made_once_and_kept_where_it_was_put() {
        let dir =
            std::env::temp_dir().join(format!("packbench-station-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (key, kept) = station_key(&dir).unwrap();
        if std::env::var("PACKBENCH_REQUIRE_KEYRING").as_deref() == Ok("1") {
            assert_eq!(kept, Kept::Keyring, "no Secret Service answered");
        }
        match &kept {
            Kept::Keyring => assert!(!dir.join(KEY_FILE).exists()),
            Kept::File(path) => {
                assert!(path.exists(), "{}", path.display());
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
                    assert_eq!(mode, 0o600);
                }
            }
        }
        let (again, kept_again) = station_key(&dir).unwrap();
        assert_eq!((again.id(), &kept_again), (key.id(), &kept));
        if kept == Kept::Keyring {
            let entry = keyring::Entry::new(SERVICE, &dir.display().to_string()).unwrap();
            entry.delete_credential().unwrap();
            // The keyring lost it (or is locked): said so, not answered with a new key.
            let e = station_key(&dir).unwrap_err();
            assert!(e.contains("OS keyring"), "{e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
