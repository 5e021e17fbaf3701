//! A simulated HID scale for demos, training and tests: a transport that speaks the HID POS
//! scale protocol (the same 6-byte reports a Dymo sends), so the simulated scale goes through
//! the real path — the scale task, its state, its events — and only the bytes are made up.
//! A new load reads as in motion for a moment, then stable; like real scales it keeps
//! reporting a few times a second; zeroing (the control report) empties it.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::scale_task::ZERO_REPORT;
use crate::transport::{Transport, TransportError};

/// The simulated scale's capacity, in pounds.
pub const CAPACITY_LB: f64 = 150.0;

#[derive(Debug)]
struct Load {
    lb: f64,
    placed: Instant,
    /// Bumped on every change, so a reader answers at once.
    version: u64,
}

/// Puts loads on the simulated scale; hands out its transport.
#[derive(Debug, Clone)]
pub struct SimScale {
    shared: Arc<(Mutex<Load>, Condvar)>,
    settle: Duration,
    period: Duration,
}

impl SimScale {
    /// `settle`: how long a new load reads as moving; `period`: how often it reports anyway.
    pub fn new(settle: Duration, period: Duration) -> Self {
        Self {
            shared: Arc::new((
                Mutex::new(Load {
                    lb: 0.0,
                    placed: Instant::now(),
                    version: 0,
                }),
                Condvar::new(),
            )),
            settle,
            period,
        }
    }

    /// Puts `lb` pounds on the scale (0 empties it).
    pub fn load(&self, lb: f64) {
        let (m, cv) = &*self.shared;
        if let Ok(mut l) = m.lock() {
            l.lb = lb.max(0.0);
            l.placed = Instant::now();
            l.version += 1;
        }
        cv.notify_all();
    }

    /// A connection to the scale, as if its USB cable was plugged in.
    pub fn transport(&self) -> SimScaleTransport {
        SimScaleTransport {
            scale: self.clone(),
            seen: u64::MAX,
            sent_at: None,
            sent_stable: false,
        }
    }
}

/// What reading the simulated scale gives: a HID POS report (id 3, pounds, 0.01 lb steps).
pub fn report(lb: f64, moving: bool) -> [u8; 6] {
    let (status, lb) = if lb <= 0.0 {
        (2, 0.0)
    } else if lb > CAPACITY_LB {
        (6, 0.0)
    } else if moving {
        (3, (lb * 0.93 * 100.0).round() / 100.0)
    } else {
        (4, lb)
    };
    let raw = (lb * 100.0).round().clamp(0.0, f64::from(u16::MAX)) as u16;
    let [lo, hi] = raw.to_le_bytes();
    [0x03, status, 0x0C, 0xFE, lo, hi]
}

pub struct SimScaleTransport {
    scale: SimScale,
    seen: u64,
    sent_at: Option<Instant>,
    sent_stable: bool,
}

impl Transport for SimScaleTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        if bytes == ZERO_REPORT {
            self.scale.load(0.0);
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.scale.shared;
        let mut load = m
            .lock()
            .map_err(|_| std::io::Error::other("the simulated scale broke"))?;
        loop {
            let now = Instant::now();
            let settled_at = load.placed + self.scale.settle;
            // A new load, or a load that just settled, answers at once.
            let due = if load.version != self.seen || (!self.sent_stable && now >= settled_at) {
                now
            } else if !self.sent_stable {
                settled_at.min(self.sent_at.map_or(now, |t| t + self.scale.period))
            } else {
                self.sent_at.map_or(now, |t| t + self.scale.period)
            };
            if due <= now {
                let moving = now < settled_at && load.lb > 0.0;
                let frame = report(load.lb, moving);
                self.seen = load.version;
                self.sent_at = Some(now);
                self.sent_stable = !moving;
                let n = frame.len().min(buf.len());
                buf[..n].copy_from_slice(&frame[..n]);
                return Ok(n);
            }
            if now >= deadline {
                return Ok(0);
            }
            let wait = due.min(deadline) - now;
            load = cv
                .wait_timeout(load, wait)
                .map_err(|_| std::io::Error::other("the simulated scale broke"))?
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::{ScaleStatus, parse_hid_report};

    fn next(t: &mut SimScaleTransport, within: Duration) -> Option<(ScaleStatus, f64)> {
        let mut buf = [0u8; 8];
        let n = t.read(&mut buf, within).unwrap();
        (n > 0).then(|| {
            let r = parse_hid_report(&buf[..n]).unwrap();
            (r.status, (r.grams / 453.59237 * 100.0).round() / 100.0)
        })
    }

    #[test]
    fn a_load_moves_then_settles_and_zero_empties_it() {
        let scale = SimScale::new(Duration::from_millis(60), Duration::from_millis(500));
        let mut t = scale.transport();
        assert_eq!(
            next(&mut t, Duration::ZERO),
            Some((ScaleStatus::StableZero, 0.0)),
            "a report at once on opening"
        );
        assert_eq!(next(&mut t, Duration::from_millis(10)), None, "then quiet");
        scale.load(7.85);
        assert_eq!(
            next(&mut t, Duration::from_millis(10)),
            Some((ScaleStatus::InMotion, 7.3)),
            "a new load answers at once, moving"
        );
        assert_eq!(
            next(&mut t, Duration::from_millis(200)),
            Some((ScaleStatus::Stable, 7.85))
        );
        assert_eq!(
            next(&mut t, Duration::from_millis(600)),
            Some((ScaleStatus::Stable, 7.85)),
            "and keeps reporting"
        );
        t.write_all(&ZERO_REPORT).unwrap();
        assert_eq!(
            next(&mut t, Duration::from_millis(10)),
            Some((ScaleStatus::StableZero, 0.0))
        );
        scale.load(200.0);
        assert_eq!(
            next(&mut t, Duration::from_millis(10)).unwrap().0,
            ScaleStatus::OverWeight
        );
    }
}
