//! The durable work a segment roll leaves to a background thread (Kafka's
//! `Log.roll` scheduling `flush-log` on the `KafkaScheduler`): fsync the
//! segments the roll closed, and the producer-state snapshot taken at the
//! new segment's base offset, without the log's lock and off the async
//! executor's workers.
//!
//! A roll used to fsync the closed segment (log and both indexes, up to a
//! whole `segment.bytes` of dirty pages) and write and fsync the snapshot in
//! place, on the runtime worker that served the produce request, holding
//! the log's lock: every request on that worker and every append to that
//! partition waited for the disk. With 4 MiB segments at 40 MB/s this was a
//! p99 of 147 ms end to end (README, "Segment rolls and fsync").
//!
//! Here the roll (under the lock) only gathers what must be synced:
//! duplicates of the files' descriptors, so a segment deleted or renamed
//! meanwhile is synced harmlessly, and the snapshot's bytes. `RollFlush::sync`
//! does the fsyncs with no lock held; `Log` then, under its lock, moves the
//! recovery point to the new segment's base and renames the snapshot into
//! place, but only if the log's segments generation is unchanged (no
//! truncation, swap or deletion came in between: what was synced may no
//! longer be the log). Each job syncs every closed segment above the
//! recovery point it saw, so jobs may finish in any order.
//!
//! The jobs run on `FLUSH_THREADS` threads of their own ("kafka-log-flush",
//! Kafka's scheduler has `background.threads`), fed by a queue: however many
//! partitions roll at once (`segment.ms` ends for all of them together), a
//! disk gets a few fsyncs at a time and the broker a fixed number of threads.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

/// Threads running rolls' flushes.
pub const FLUSH_THREADS: usize = 2;

type Task = Box<dyn FnOnce() + Send>;

/// Queues `task` for a log-flush thread; gives it back if no such thread
/// could be started (the caller must not run it while holding what it locks).
pub fn submit(task: Task) -> Result<(), Task> {
    static QUEUE: OnceLock<Option<mpsc::Sender<Task>>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Task>();
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..FLUSH_THREADS {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("kafka-log-flush-{i}")).spawn(move || loop {
                let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                match next {
                    Ok(task) => task(),
                    Err(_) => return,
                }
            });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => log::error!("cannot start a log flush thread: {e}"),
            }
        }
        (started > 0).then_some(tx)
    });
    match queue {
        Some(tx) => tx.send(task).map_err(|mpsc::SendError(task)| task),
        None => Err(task),
    }
}

/// How an index file is synced: through a duplicate of the descriptor the
/// index holds, or (no descriptor held, but a truncation through a passing
/// one is unsynced) by opening it again.
#[derive(Debug)]
pub enum IndexSync {
    File(File),
    Path(PathBuf),
}

impl IndexSync {
    fn sync(&self) -> io::Result<()> {
        match self {
            IndexSync::File(f) => f.sync_data(),
            IndexSync::Path(p) => sync_path(p),
        }
    }
}

/// fsync of the file at `p`; a file already gone (the segment was deleted)
/// has nothing left to make durable.
fn sync_path(p: &std::path::Path) -> io::Result<()> {
    match File::open(p) {
        Ok(f) => f.sync_all(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// One closed segment's files to fsync (what `LogSegment::flush` syncs).
#[derive(Debug)]
pub struct SegmentSync {
    pub base_offset: i64,
    pub log: Arc<File>,
    pub indexes: Vec<IndexSync>,
    /// The `.txnindex`, when the segment has aborted transactions.
    pub txn_index: Option<PathBuf>,
}

impl SegmentSync {
    pub fn sync(&self) -> io::Result<()> {
        self.log.sync_data()?;
        for i in &self.indexes {
            i.sync()?;
        }
        if let Some(p) = &self.txn_index {
            sync_path(p)?;
        }
        Ok(())
    }
}

/// A producer-state snapshot to write at `tmp`, fsync, and rename to `path`.
#[derive(Debug)]
pub struct PendingSnapshot {
    pub tmp: PathBuf,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// What one roll leaves to be made durable.
#[derive(Debug)]
pub struct RollFlush {
    /// The new active segment's base: every offset below it is on disk once
    /// the job is done (Kafka's `flush(newSegment.baseOffset)`).
    pub target: i64,
    /// The log's segments generation when the roll happened.
    pub generation: u64,
    pub segments: Vec<SegmentSync>,
    pub snapshot: Option<PendingSnapshot>,
}

impl RollFlush {
    /// The slow part, run with no lock held: fsync every segment, then write
    /// and fsync the snapshot's temporary file (renamed by the log later).
    pub fn sync(&self) -> io::Result<()> {
        let _timer = crate::server::metrics::log_metrics::FlushTimer::start();
        for s in &self.segments {
            s.sync()?;
        }
        if let Some(snap) = &self.snapshot {
            let mut f = fs::File::create(&snap.tmp)?;
            f.write_all(&snap.bytes)?;
            f.sync_all()?;
        }
        Ok(())
    }

    /// Whether the log may count this job as done: nothing replaced its
    /// segments since the roll (pure; `Log` applies it under its lock).
    pub fn still_applies(&self, current_generation: u64, closed: bool) -> bool {
        !closed && current_generation == self.generation
    }

    /// The recovery point after this job, from the log's current one.
    pub fn recovery_point_after(&self, current: i64) -> i64 {
        current.max(self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(target: i64, generation: u64) -> RollFlush {
        RollFlush { target, generation, segments: Vec::new(), snapshot: None }
    }

    #[test]
    fn a_job_counts_only_for_the_generation_it_saw() {
        let j = job(100, 3);
        assert!(j.still_applies(3, false));
        assert!(!j.still_applies(4, false), "a truncation came in between");
        assert!(!j.still_applies(3, true), "the log was closed for deletion");
    }

    #[test]
    fn the_recovery_point_never_moves_back() {
        assert_eq!(job(100, 0).recovery_point_after(40), 100);
        // A later roll's job finished first: this one changes nothing.
        assert_eq!(job(100, 0).recovery_point_after(250), 250);
    }

    #[test]
    fn sync_writes_the_snapshot_and_tolerates_deleted_files() {
        let dir = std::env::temp_dir().join(format!("zkafka-rollflush-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        fs::create_dir_all(&dir).unwrap();
        let log_path = dir.join("00000000000000000000.log");
        let log = Arc::new(fs::OpenOptions::new().create(true).write(true).read(true).open(&log_path).unwrap());
        fs::remove_file(&log_path).unwrap();
        let j = RollFlush {
            target: 7,
            generation: 0,
            segments: vec![SegmentSync {
                base_offset: 0,
                log,
                indexes: vec![IndexSync::Path(dir.join("gone.index"))],
                txn_index: Some(dir.join("gone.txnindex")),
            }],
            snapshot: Some(PendingSnapshot { tmp: dir.join("s.tmp"), path: dir.join("s"), bytes: b"abc".to_vec() }),
        };
        j.sync().unwrap();
        assert_eq!(fs::read(dir.join("s.tmp")).unwrap(), b"abc");
        assert!(!dir.join("s").exists(), "the log renames it, under its lock");
        let _ = fs::remove_dir_all(&dir);
    }
}
