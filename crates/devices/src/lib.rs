//! Packbench's bench hardware. Protocols are sans-IO functions tested on bytes (`scale`,
//! `printer`); transports (`transport`) move the bytes. This first slice has HID and serial
//! scale parsing with the scale state machine, and Zebra-class printers over raw TCP with
//! `~HS` status; USB/serial transports, scanners, device discovery and the desktop wiring
//! follow in the devices issue.

pub mod printer;
pub mod scale;
pub mod serial_scale;

pub mod transport;
