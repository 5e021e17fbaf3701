//! HID scales and scanners on Windows and macOS, through hidapi (Windows: its backend written
//! in Rust over the HID class driver; macOS: IOKit). A device is named by the path hidapi
//! lists it under (`hid:\\?\hid#vid_0922&pid_8003#…` on Windows, `hid:DevSrvsID:4294971234`
//! on macOS). Reports come and go as on Linux's hidraw: whole, with the report id first when
//! the device numbers its reports.

use std::ffi::CString;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use hidapi::{HidApi, HidDevice};

use super::{Transport, TransportError};
use crate::discover::{Found, FoundKind};
use crate::hid::{self, Application, HidKind};

/// hidapi keeps one context per process.
fn api() -> Result<&'static Mutex<HidApi>, TransportError> {
    static API: OnceLock<Result<Mutex<HidApi>, String>> = OnceLock::new();
    API.get_or_init(|| HidApi::new().map(Mutex::new).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| TransportError::Io(std::io::Error::other(format!("HID: {e}"))))
}

/// An open HID device.
pub struct Hid {
    path: String,
    device: HidDevice,
}

impl Hid {
    pub fn open(path: &str) -> Result<Self, TransportError> {
        let c = CString::new(path).map_err(|_| TransportError::NotFound {
            target: path.to_owned(),
        })?;
        let api = api()?.lock().unwrap_or_else(|p| p.into_inner());
        let device = api.open_path(&c).map_err(|e| opening(path, e, &api))?;
        Ok(Self {
            path: path.to_owned(),
            device,
        })
    }

    /// Whether its reports start with a report id (its descriptor declares ids); `None` when
    /// the descriptor cannot be read.
    pub fn numbered(&self) -> Option<bool> {
        let mut buf = [0u8; 4096];
        let n = self.device.get_report_descriptor(&mut buf).ok()?;
        let apps = hid::applications(&buf[..n]).ok()?;
        Some(apps.iter().any(|a| !a.report_ids.is_empty()))
    }
}

/// Why a device did not open: gone from the list (unplugged), or there but refused (Windows
/// keeps keyboards to itself; another program may hold it).
fn opening(path: &str, e: hidapi::HidError, api: &HidApi) -> TransportError {
    let listed = api.device_list().any(|d| d.path().to_str() == Ok(path));
    if listed {
        TransportError::Busy {
            target: path.to_owned(),
            detail: format!("{e} (another program may have it open)"),
        }
    } else {
        TransportError::NotFound {
            target: path.to_owned(),
        }
    }
}

impl Transport for Hid {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.device.write(bytes).map_err(|_| self.unplugged())?;
        Ok(())
    }
    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let ms = i32::try_from(timeout.as_millis())
            .unwrap_or(i32::MAX)
            .max(1);
        self.device
            .read_timeout(buf, ms)
            .map_err(|_| self.unplugged())
    }
}

impl Hid {
    fn unplugged(&self) -> TransportError {
        TransportError::Unplugged {
            target: self.path.clone(),
        }
    }
}

/// The HID devices hidapi lists, each top-level collection once (a scanner that is also a
/// keyboard is listed as both, as Windows shows it).
pub fn devices() -> Vec<Found> {
    let Ok(api) = api() else { return Vec::new() };
    let mut api = api.lock().unwrap_or_else(|p| p.into_inner());
    if api.refresh_devices().is_err() {
        return Vec::new();
    }
    api.device_list()
        .filter_map(|d| {
            let path = d.path().to_str().ok()?;
            Some(found(
                path,
                d.usage_page(),
                d.usage(),
                d.product_string().unwrap_or_default(),
                d.vendor_id(),
                d.product_id(),
            ))
        })
        .collect()
}

/// One listed collection as the bench sees it.
pub fn found(
    path: &str,
    usage_page: u16,
    usage: u16,
    product: &str,
    vendor_id: u16,
    product_id: u16,
) -> Found {
    let kind = match hid::classify(&[Application {
        usage_page,
        usage,
        report_ids: Vec::new(),
    }]) {
        HidKind::Scale => FoundKind::Scale,
        HidKind::BarcodeScanner => FoundKind::BarcodeScanner,
        HidKind::Keyboard => FoundKind::Keyboard,
        HidKind::Other => FoundKind::Other,
    };
    Found {
        id: format!("hid:{path}"),
        kind,
        name: if product.is_empty() {
            format!("HID device {vendor_id:04x}:{product_id:04x}")
        } else {
            product.to_owned()
        },
        transport: "hid",
        vendor_id: Some(vendor_id),
        product_id: Some(product_id),
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_read_as_bench_devices() {
        let f = found(
            r"\\?\hid#vid_0922&pid_8003#7&1",
            0x8D,
            0x20,
            "M25 Scale",
            0x0922,
            0x8003,
        );
        assert_eq!(f.kind, FoundKind::Scale);
        assert_eq!(f.id, r"hid:\\?\hid#vid_0922&pid_8003#7&1");
        assert_eq!(
            found("p", 0x8C, 0x02, "", 0x05e0, 0x1200).name,
            "HID device 05e0:1200"
        );
        assert_eq!(
            found("p", 0x01, 0x06, "Kbd", 1, 2).kind,
            FoundKind::Keyboard
        );
    }

    #[test]
    fn listing_and_an_absent_device_never_panic() {
        // Whatever this machine has (Wine has none); a device that is not there is not found.
        let _ = devices();
        assert!(matches!(
            Hid::open(r"\\?\hid#vid_ffff&pid_ffff#0"),
            Err(TransportError::NotFound { .. }) | Err(TransportError::Io(_))
        ));
    }
}
