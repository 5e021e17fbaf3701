//! Linux hidraw nodes (`/dev/hidrawN`): HID scales and scanners with no driver to detach; a
//! udev rule is enough to let the packer's account open them.

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use super::{Transport, TransportError};

/// A Linux hidraw node (`/dev/hidrawN`): whole HID reports in and out, no driver to detach.
pub struct Hidraw {
    path: String,
    file: std::fs::File,
}

impl Hidraw {
    pub fn open(path: &str) -> Result<Self, TransportError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| TransportError::opening(path, e))?;
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }
}

/// Waits until `file` has something to read, for at most `timeout`: false when nothing came.
fn readable(file: &std::fs::File, timeout: Duration) -> std::io::Result<bool> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(file, PollFlags::IN)];
    let t = Timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    match poll(&mut fds, Some(&t)) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

impl Transport for Hidraw {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        Ok(self.file.write_all(bytes)?)
    }
    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    /// One report per read (the kernel hands hidraw reports whole).
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        if !readable(&self.file, timeout)? {
            return Ok(0);
        }
        match self.file.read(buf) {
            Ok(n) => Ok(n),
            // ENODEV: the device went away under us.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NODEV.raw_os_error()) => {
                Err(TransportError::Unplugged {
                    target: self.path.clone(),
                })
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidraw_reads_whole_reports_and_times_out_quietly() {
        // A FIFO stands in for /dev/hidrawN: the same open, poll and read.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hidraw0");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let p = path.to_str().unwrap().to_owned();
        let mut h = Hidraw::open(&p).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(h.read(&mut buf, Duration::from_millis(20)).unwrap(), 0);
        h.write_all(&[0x03, 0x04, 0x0C, 0xFE, 0x11, 0x03]).unwrap();
        let n = h.read(&mut buf, Duration::from_millis(200)).unwrap();
        assert_eq!(&buf[..n], &[0x03, 0x04, 0x0C, 0xFE, 0x11, 0x03]);
        let missing = Hidraw::open(dir.path().join("hidraw9").to_str().unwrap());
        assert!(matches!(missing, Err(TransportError::NotFound { .. })));
    }
}
