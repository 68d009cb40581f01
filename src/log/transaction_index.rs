//! The `.txnindex` file of a segment (Kafka's `kafka.log.TransactionIndex` and
//! `AbortedTxn`): one 34-byte entry per transaction aborted by an ABORT marker
//! in the segment — version (i16, 0), producer id, first offset, last offset
//! (the marker's) and the last stable offset once it completed. read_committed
//! fetches collect the entries overlapping their range so that clients can
//! drop aborted records. The file is created on the first entry; the entries
//! are also kept in memory (a few per segment).

use crate::log::errors::{LogError, LogResult};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const TXN_INDEX_FILE_SUFFIX: &str = ".txnindex";
pub const ABORTED_TXN_SIZE: usize = 34;
const ABORTED_TXN_VERSION: i16 = 0;

/// One aborted transaction (Kafka's `AbortedTxn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    pub fn encode(&self) -> [u8; ABORTED_TXN_SIZE] {
        let mut b = [0u8; ABORTED_TXN_SIZE];
        b[0..2].copy_from_slice(&ABORTED_TXN_VERSION.to_be_bytes());
        b[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        b[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        b[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        b[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Result<AbortedTxn, String> {
        if b.len() < ABORTED_TXN_SIZE {
            return Err(format!("{} bytes are too few for an aborted transaction entry", b.len()));
        }
        let version = i16::from_be_bytes([b[0], b[1]]);
        if version != ABORTED_TXN_VERSION {
            return Err(format!("unexpected aborted transaction entry version {version}"));
        }
        let i64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[at..at + 8]);
            i64::from_be_bytes(a)
        };
        Ok(AbortedTxn { producer_id: i64_at(2), first_offset: i64_at(10), last_offset: i64_at(18), last_stable_offset: i64_at(26) })
    }
}

/// Parses a whole `.txnindex` file's bytes (Kafka's `DumpLogSegments` and
/// sanity check use the same framing); a trailing partial entry is an error.
pub fn parse_entries(data: &[u8]) -> Result<Vec<AbortedTxn>, String> {
    if data.len() % ABORTED_TXN_SIZE != 0 {
        return Err(format!("transaction index size {} is not a multiple of {ABORTED_TXN_SIZE}", data.len()));
    }
    data.chunks_exact(ABORTED_TXN_SIZE).map(AbortedTxn::decode).collect()
}

/// A segment's aborted transactions, in marker order.
#[derive(Debug)]
pub struct TransactionIndex {
    path: PathBuf,
    entries: Vec<AbortedTxn>,
}

impl TransactionIndex {
    /// Loads `path` if it exists (an unreadable file is an error the caller
    /// answers by rebuilding the segment's state).
    pub fn open(path: &Path) -> LogResult<TransactionIndex> {
        let entries = match fs::read(path) {
            Ok(d) => parse_entries(&d).map_err(|e| LogError::Corrupt(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(TransactionIndex { path: path.to_path_buf(), entries })
    }

    /// An index whose file could not be read: empty, and the file is rewritten.
    pub fn empty_at(path: &Path) -> TransactionIndex {
        let _ = fs::remove_file(path);
        TransactionIndex { path: path.to_path_buf(), entries: Vec::new() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn set_path(&mut self, path: PathBuf) {
        self.path = path;
    }
    pub fn entries(&self) -> &[AbortedTxn] {
        &self.entries
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends an entry; its last offset must be above every earlier one
    /// (Kafka refuses out-of-order entries the same way).
    pub fn append(&mut self, txn: AbortedTxn) -> LogResult<()> {
        if let Some(last) = self.entries.last() {
            if txn.last_offset <= last.last_offset {
                return Err(LogError::Storage(format!(
                    "aborted transaction with last offset {} after one ending at {} in {}",
                    txn.last_offset,
                    last.last_offset,
                    self.path.display()
                )));
            }
        }
        let mut f = OpenOptions::new().create(true).append(true).open(&self.path)?;
        f.write_all(&txn.encode())?;
        self.entries.push(txn);
        Ok(())
    }

    /// Drops every entry whose marker is at or after `offset`.
    pub fn truncate_to(&mut self, offset: i64) -> LogResult<()> {
        let keep = self.entries.iter().take_while(|t| t.last_offset < offset).count();
        if keep == self.entries.len() {
            return Ok(());
        }
        self.entries.truncate(keep);
        self.rewrite()
    }

    /// Empties the index and removes its file (before a rebuild).
    pub fn reset(&mut self) -> LogResult<()> {
        self.entries.clear();
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn rewrite(&self) -> LogResult<()> {
        if self.entries.is_empty() {
            return match fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            };
        }
        let mut buf = Vec::with_capacity(self.entries.len() * ABORTED_TXN_SIZE);
        for t in &self.entries {
            buf.extend_from_slice(&t.encode());
        }
        fs::write(&self.path, buf)?;
        Ok(())
    }

    /// The file a flush must sync, if the segment has aborted transactions.
    pub fn sync_path(&self) -> Option<PathBuf> {
        (!self.entries.is_empty()).then(|| self.path.clone())
    }

    pub fn flush(&self) -> LogResult<()> {
        if self.entries.is_empty() {
            return Ok(());
        }
        match fs::File::open(&self.path) {
            Ok(f) => Ok(f.sync_all()?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Kafka's `collectAbortedTxns(fetchOffset, upperBoundOffset)`: the
    /// entries overlapping `[fetch_offset, upper_bound)`, and whether the
    /// search may stop here (an entry's last stable offset passed the bound,
    /// so no later segment holds an overlapping transaction).
    pub fn collect_aborted(&self, fetch_offset: i64, upper_bound: i64, out: &mut Vec<AbortedTxn>) -> bool {
        for t in &self.entries {
            if t.last_offset >= fetch_offset && t.first_offset < upper_bound {
                out.push(*t);
            }
            if t.last_stable_offset >= upper_bound {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pid: i64, first: i64, last: i64, lso: i64) -> AbortedTxn {
        AbortedTxn { producer_id: pid, first_offset: first, last_offset: last, last_stable_offset: lso }
    }

    #[test]
    fn entry_bytes() {
        let e = t(0x0102, 3, 9, 10);
        let b = e.encode();
        assert_eq!(b.len(), 34);
        assert_eq!(&b[..2], &[0, 0]);
        assert_eq!(&b[2..10], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(&b[26..], &10i64.to_be_bytes());
        assert_eq!(AbortedTxn::decode(&b).unwrap(), e);
        let mut bad = b;
        bad[1] = 1;
        assert!(AbortedTxn::decode(&bad).is_err());
        assert!(parse_entries(&b[..33]).is_err());
    }

    #[test]
    fn file_append_truncate_reload_collect() {
        let dir = std::env::temp_dir().join(format!("zkafka-txnidx-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("00000000000000000000.txnindex");
        let mut idx = TransactionIndex::open(&path).unwrap();
        assert!(idx.is_empty() && !path.exists()); // created on the first entry
        idx.append(t(1, 0, 5, 6)).unwrap();
        idx.append(t(2, 2, 9, 3)).unwrap();
        idx.append(t(1, 10, 12, 13)).unwrap();
        assert!(idx.append(t(3, 0, 12, 13)).is_err());
        assert_eq!(fs::metadata(&path).unwrap().len(), 3 * 34);
        let back = TransactionIndex::open(&path).unwrap();
        assert_eq!(back.entries(), idx.entries());

        // overlap with [6, 10): the second one only; the third's LSO (13)
        // passes 10, so later segments need not be searched
        let mut out = Vec::new();
        assert!(idx.collect_aborted(6, 10, &mut out));
        assert_eq!(out, vec![t(2, 2, 9, 3)]);
        out.clear();
        assert!(!idx.collect_aborted(6, 20, &mut out));
        assert_eq!(out.len(), 2);
        // [0, 4): the first two overlap; the first's LSO (6) passes 4: complete
        out.clear();
        assert!(idx.collect_aborted(0, 4, &mut out));
        assert_eq!(out, vec![t(1, 0, 5, 6)]);

        idx.truncate_to(9).unwrap();
        assert_eq!(idx.entries().len(), 1);
        assert_eq!(TransactionIndex::open(&path).unwrap().entries().len(), 1);
        idx.truncate_to(0).unwrap();
        assert!(!path.exists());
        fs::write(&path, b"short").unwrap();
        assert!(TransactionIndex::open(&path).is_err());
        let _ = fs::remove_dir_all(&dir);
    }
}
