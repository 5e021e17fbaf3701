//! USB label printers through libusb (rusb): the printer-class interface's bulk endpoints,
//! taken from the kernel's `usblp` driver while printing. Not on Windows: its `usbprint`
//! driver owns USB printers, which print through the spooler there.

use std::time::Duration;

use super::{Transport, TransportError};

impl TransportError {
    /// A libusb error on `target`, by its cause.
    pub fn usb(target: &str, e: rusb::Error) -> Self {
        let target = target.to_owned();
        match e {
            rusb::Error::Access => Self::NoPermission { target },
            rusb::Error::NotFound => Self::NotFound { target },
            rusb::Error::NoDevice => Self::Unplugged { target },
            rusb::Error::Busy => Self::Busy {
                target,
                detail: "another driver holds it (the kernel's usblp, or CUPS's usb backend printing); stop that queue or unplug and replug".into(),
            },
            other => Self::Connect {
                target,
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}

/// A USB printer through libusb: its printer-class (07) interface, claimed (the kernel's usblp
/// driver is detached while Packbench holds it and given back when it lets go); jobs go to the
/// bulk OUT endpoint, `~HS` answers come from the bulk IN endpoint of bidirectional printers.
pub struct UsbPrinter {
    target: String,
    handle: rusb::DeviceHandle<rusb::GlobalContext>,
    interface: u8,
    out: u8,
    inp: Option<u8>,
}

/// Bulk writes go in pieces this big, each with its own timeout.
const USB_CHUNK: usize = 16 * 1024;

impl UsbPrinter {
    /// The first printer-class interface of the device `vendor:product`.
    pub fn open(vendor: u16, product: u16) -> Result<Self, TransportError> {
        let target = format!("usb:{vendor:04x}:{product:04x}");
        let err = |e| TransportError::usb(&target, e);
        let device = rusb::devices()
            .map_err(err)?
            .iter()
            .find(|d| {
                d.device_descriptor()
                    .is_ok_and(|dd| dd.vendor_id() == vendor && dd.product_id() == product)
            })
            .ok_or_else(|| TransportError::NotFound {
                target: target.clone(),
            })?;
        let config = device.active_config_descriptor().map_err(err)?;
        let (interface, setting, endpoints) = config
            .interfaces()
            .flat_map(|i| i.descriptors())
            .find(|d| d.class_code() == 0x07)
            .map(|d| {
                let eps: Vec<(rusb::Direction, u8)> = d
                    .endpoint_descriptors()
                    .filter(|e| e.transfer_type() == rusb::TransferType::Bulk)
                    .map(|e| (e.direction(), e.address()))
                    .collect();
                (d.interface_number(), d.setting_number(), eps)
            })
            .ok_or_else(|| TransportError::Connect {
                target: target.clone(),
                source: std::io::Error::other("this USB device has no printer interface"),
            })?;
        let out = endpoints
            .iter()
            .find(|(d, _)| *d == rusb::Direction::Out)
            .map(|(_, a)| *a)
            .ok_or_else(|| TransportError::Connect {
                target: target.clone(),
                source: std::io::Error::other("the printer interface has no bulk OUT endpoint"),
            })?;
        let inp = endpoints
            .iter()
            .find(|(d, _)| *d == rusb::Direction::In)
            .map(|(_, a)| *a);
        let handle = device.open().map_err(err)?;
        // Not supported on every platform (macOS, Windows): then there is no kernel driver to
        // take it from.
        let _ = handle.set_auto_detach_kernel_driver(true);
        handle.claim_interface(interface).map_err(err)?;
        if setting != 0 {
            handle
                .set_alternate_setting(interface, setting)
                .map_err(err)?;
        }
        Ok(Self {
            target,
            handle,
            interface,
            out,
            inp,
        })
    }
}

impl UsbPrinter {
    /// Whether the printer can answer (`~HS`): it has a bulk IN endpoint.
    pub fn answers_status(&self) -> bool {
        self.inp.is_some()
    }
}

impl Drop for UsbPrinter {
    fn drop(&mut self) {
        let _ = self.handle.release_interface(self.interface);
    }
}

impl Transport for UsbPrinter {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        for chunk in bytes.chunks(USB_CHUNK) {
            let mut sent = 0;
            while sent < chunk.len() {
                sent += self
                    .handle
                    .write_bulk(self.out, &chunk[sent..], Duration::from_secs(10))
                    .map_err(|e| TransportError::usb(&self.target, e))?;
            }
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let Some(inp) = self.inp else {
            return Ok(0);
        };
        match self
            .handle
            .read_bulk(inp, buf, timeout.max(Duration::from_millis(1)))
        {
            Ok(n) => Ok(n),
            Err(rusb::Error::Timeout) => Ok(0),
            Err(e) => Err(TransportError::usb(&self.target, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libusb_errors_name_their_cause() {
        let e = TransportError::usb("usb:0a5f:0166", rusb::Error::Busy);
        assert!(e.to_string().contains("another driver holds it"), "{e}");
        let e = TransportError::usb("usb:0a5f:0166", rusb::Error::Access);
        assert!(matches!(e, TransportError::NoPermission { .. }));
        let e = TransportError::usb("usb:0a5f:0166", rusb::Error::NoDevice);
        assert!(e.to_string().contains("unplugged"), "{e}");
    }

    #[test]
    fn an_absent_usb_printer_is_not_found() {
        // No USB device has vendor 0xFFFF; without a USB bus (a container) libusb may not even
        // start, which is said as an error too, never a panic.
        match UsbPrinter::open(0xFFFF, 0xFFFF) {
            Err(TransportError::NotFound { target }) => assert_eq!(target, "usb:ffff:ffff"),
            Err(other) => eprintln!("no USB here: {other}"),
            Ok(_) => panic!("found a device that cannot exist"),
        }
    }
}
