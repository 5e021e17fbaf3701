//! The SQLite checkpointer: keeps the write-ahead log from growing without bound while the
//! hub runs, without holding up writers.

use std::sync::Arc;
use std::time::Duration;

use crate::gate::WriteGate;

/// Copies SQLite's write-ahead log into the database file every two seconds, in two passes,
/// so the log starts over and the bench hardly waits for it:
/// - first beside the writers, on a connection of its own, again until what they add during
///   a pass is small: the slow part, the log's fsync (every frame written since the last
///   checkpoint: ~14 pages an operation, ~110 MB in two seconds at 2,000 operations a second),
///   the copy, and the database file's fsync;
/// - then on the work thread's connection (`sqlite_work`) while holding the
///   write gate, so nothing appends meanwhile: only the last few frames are left (1-4 ms),
///   the checkpoint has copied every frame, and the next write starts the log over from its
///   beginning. The log's file is rewritten in place, not grown.
///
/// One pass under the gate, a pass beside the writers alone, or a checkpoint inside a commit
/// each held up writers or let the log grow (the figures: BENCHMARKS.md, "Design figures
/// kept out of the code"). Stops with the store.
pub(crate) struct Checkpointer(tokio::task::JoinHandle<()>);

/// Size of the log's file past which it is truncated, should a reader have kept the log from
/// starting over for long (it then grows). Below it the file is kept, since truncating it
/// under the gate stalls writers and every write after it allocates its blocks again.
const WAL_TRUNCATE_BYTES: u64 = 1 << 30;

/// `pragma wal_checkpoint(passive)`: (pages in the log, pages copied).
fn passive_checkpoint(c: &rusqlite::Connection) -> rusqlite::Result<(i64, i64)> {
    c.query_row("pragma wal_checkpoint(passive)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

/// Frames left for the pass under the gate, at most (each pass beside the writers leaves
/// what they wrote meanwhile, less each time).
const LEFT_FOR_THE_GATE: i64 = 256;

/// Passes beside the writers until what they add during one is small; answers the frames
/// copied.
fn catch_up(c: &rusqlite::Connection) -> rusqlite::Result<i64> {
    let mut before = 0;
    let mut copied = 0;
    for _ in 0..5 {
        let (log, done) = passive_checkpoint(c)?;
        copied += (done - before).max(0);
        // The log started over since the last pass: everything in it was new.
        let new = if done < before { log } else { log - before };
        before = done;
        if new <= LEFT_FOR_THE_GATE {
            break;
        }
    }
    Ok(copied)
}

impl Checkpointer {
    pub(crate) fn start(
        path: String,
        work: Arc<crate::fast::sqlite_work::WorkThread>,
        gate: WriteGate,
    ) -> Self {
        Self(tokio::spawn(async move {
            let mut beside = open_checkpoint_connection(path).await;
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tick.tick().await;
                let started = std::time::Instant::now();
                let mut beside_copied = 0;
                if let Some(c) = beside.take() {
                    match tokio::task::spawn_blocking(move || {
                        let done = catch_up(&c);
                        (c, done)
                    })
                    .await
                    {
                        Ok((c, done)) => {
                            match done {
                                Ok(copied) => beside_copied = copied,
                                Err(e) => {
                                    tracing::warn!(error = %e, "WAL checkpoint beside the writers failed")
                                }
                            }
                            beside = Some(c);
                        }
                        Err(_) => break,
                    }
                }
                let beside_ms = started.elapsed().as_millis() as u64;
                let _turn = gate.turn().await;
                let done = work
                    .run(move |c| -> rusqlite::Result<()> {
                        let started = std::time::Instant::now();
                        let (log, copied) = passive_checkpoint(c)?;
                        let file = c.path().map(|p| format!("{p}-wal"));
                        let size = file
                            .and_then(|f| std::fs::metadata(f).ok())
                            .map_or(0, |m| m.len());
                        if size > WAL_TRUNCATE_BYTES {
                            c.query_row("pragma wal_checkpoint(truncate)", [], |_| Ok(()))?;
                        }
                        tracing::debug!(
                            log_pages = log,
                            copied_pages = copied,
                            beside_ms,
                            beside_copied,
                            ms = started.elapsed().as_millis() as u64,
                            "WAL checkpoint"
                        );
                        Ok(())
                    })
                    .await;
                match done {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
                    Err(_) => break,
                }
            }
        }))
    }
}

/// The connection the first pass of each checkpoint runs on; `None` (and every checkpoint in
/// one pass, under the gate) if it cannot be opened.
async fn open_checkpoint_connection(path: String) -> Option<rusqlite::Connection> {
    let opened = tokio::task::spawn_blocking(move || {
        let c = rusqlite::Connection::open(&path)?;
        c.busy_timeout(Duration::from_secs(10))?;
        Ok::<_, rusqlite::Error>(c)
    })
    .await;
    match opened {
        Ok(Ok(c)) => Some(c),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "no connection for checkpoints beside the writers");
            None
        }
        Err(_) => None,
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}
