//! Packbench's bench hardware. Protocols are sans-IO functions and state machines tested on
//! bytes: `hid` (what a HID device is, from its report descriptor), `scale` (HID POS and serial
//! scale frames, the scale's state), `scanner` (HID POS and serial scanners), `printer` (ZPL
//! jobs and `~HS` status), `spooler` (the OS print queue: CUPS on Linux and macOS, winspool on
//! Windows). Transports (`transport`) move the bytes: raw TCP, serial ports, HID (Linux's
//! hidraw; hidapi on Windows and macOS), USB printers (rusb; not on Windows, where the spooler
//! owns them) and a scripted one for tests. `discover` finds what is plugged in; `station` is a
//! station's devices as one piece.

pub mod discover;
pub mod hid;
pub mod printer;
pub mod scale;
pub mod scale_task;
pub mod scanner;
pub mod scanner_task;
pub mod serial_scale;
pub mod sim;
pub mod spooler;
pub mod station;
pub mod target;
pub mod task;

pub mod transport;
