//! Text checkpoint files (Kafka's `CheckpointFile` / `OffsetCheckpointFile`):
//! a version line (0), an entry-count line, then one entry per line. Used for
//! `recovery-point-offset-checkpoint`, `replication-offset-checkpoint`,
//! `log-start-offset-checkpoint` and (with other entries) `leader-epoch-checkpoint`.
//! Writes go to `<file>.tmp`, are fsynced, then renamed over the target.

use crate::common::TopicPartition;
use crate::log::errors::{LogError, LogResult};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const CHECKPOINT_VERSION: i32 = 0;
pub const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point-offset-checkpoint";
pub const REPLICATION_OFFSET_CHECKPOINT: &str = "replication-offset-checkpoint";
pub const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";

/// Largest checkpoint file we are willing to read.
const MAX_CHECKPOINT_BYTES: u64 = 256 * 1024 * 1024;

/// Writes `contents` to `path` atomically: tmp file, fsync, rename, fsync dir.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // Directory fsync makes the rename durable; not every FS allows it.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// `<file>.tmp`: where `write_atomic` and `write_temp` write first.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    PathBuf::from(tmp)
}

/// `write_atomic` in steps, for many files made durable together: the
/// contents go to `<file>.tmp` here, unsynced; `sync_filesystems` makes every
/// such temp file durable at once; `commit_temp` renames each over its
/// target; a second `sync_filesystems` makes the renames durable. A crash at
/// any point leaves each target file either old or new, never partial.
pub fn write_temp(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(temp_path(path))?;
    f.write_all(contents)
}

/// See `write_temp`: renames `<file>.tmp` over `<file>` (not yet durable).
pub fn commit_temp(path: &Path) -> io::Result<()> {
    fs::rename(temp_path(path), path)
}

/// Makes everything written to the file systems holding `dirs` durable:
/// one `syncfs` per file system (two device flushes for any number of
/// files, where fsyncing each file and its directory is two per file).
/// Elsewhere than Linux, or if `syncfs` fails, `fallback` (each file and
/// directory fsynced) is used.
pub fn sync_filesystems(dirs: &[PathBuf], fallback: &[PathBuf]) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        let mut done: Vec<u64> = Vec::new();
        let mut ok = true;
        for d in dirs {
            let Ok(f) = File::open(d) else {
                ok = false;
                break;
            };
            let dev = std::os::unix::fs::MetadataExt::dev(&f.metadata()?);
            if done.contains(&dev) {
                continue;
            }
            // SAFETY: syncfs takes any open descriptor on the file system.
            if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
                ok = false;
                break;
            }
            done.push(dev);
        }
        if ok {
            return Ok(());
        }
    }
    for p in fallback {
        File::open(p)?.sync_all()?;
    }
    Ok(())
}

/// Renders checkpoint text from pre-formatted entry lines.
pub fn render(lines: &[String]) -> String {
    let mut s = format!("{CHECKPOINT_VERSION}\n{}\n", lines.len());
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Reads a checkpoint file's entry lines, each split on whitespace.
/// A missing file is `Ok(None)`; a malformed one is an error.
pub fn read_entries(path: &Path) -> LogResult<Option<Vec<Vec<String>>>> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if meta.len() > MAX_CHECKPOINT_BYTES {
        return Err(malformed(path, "file is too large"));
    }
    let bytes = fs::read(path)?;
    let text = String::from_utf8(bytes).map_err(|_| malformed(path, "not UTF-8"))?;
    let mut lines = text.lines();
    let version = lines.next().ok_or_else(|| malformed(path, "empty file"))?;
    if version.trim().parse::<i32>().ok() != Some(CHECKPOINT_VERSION) {
        return Err(malformed(path, &format!("unsupported version {version:?}")));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| malformed(path, "bad entry count"))?;
    let mut out = Vec::new();
    for l in lines {
        if l.trim().is_empty() {
            continue;
        }
        out.push(l.split_whitespace().map(str::to_string).collect());
    }
    if out.len() != count {
        return Err(malformed(path, &format!("expected {count} entries, found {}", out.len())));
    }
    Ok(Some(out))
}

fn malformed(path: &Path, why: &str) -> LogError {
    LogError::Storage(format!("malformed checkpoint file {}: {why}", path.display()))
}

/// A `<topic> <partition> <offset>` checkpoint file.
#[derive(Debug, Clone)]
pub struct OffsetCheckpointFile {
    path: PathBuf,
}

impl OffsetCheckpointFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OffsetCheckpointFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&self, offsets: &HashMap<TopicPartition, i64>) -> io::Result<()> {
        let mut entries: Vec<_> = offsets.iter().collect();
        entries.sort();
        let lines: Vec<String> =
            entries.iter().map(|(tp, o)| format!("{} {} {}", tp.topic, tp.partition, o)).collect();
        write_atomic(&self.path, render(&lines).as_bytes())
    }

    /// The offsets in the file; empty if it does not exist, an error if malformed.
    pub fn read(&self) -> LogResult<HashMap<TopicPartition, i64>> {
        let mut out = HashMap::new();
        let Some(entries) = read_entries(&self.path)? else {
            return Ok(out);
        };
        for e in entries {
            let [topic, part, off] = e.as_slice() else {
                return Err(malformed(&self.path, &format!("bad entry {e:?}")));
            };
            let (Ok(p), Ok(o)) = (part.parse::<i32>(), off.parse::<i64>()) else {
                return Err(malformed(&self.path, &format!("bad entry {e:?}")));
            };
            out.insert(TopicPartition::new(topic.clone(), p), o);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let dir = std::env::temp_dir().join(format!("zk-ckpt-{}-{}", std::process::id(), rand::random::<u32>()));
        fs::create_dir_all(&dir).unwrap();
        let f = OffsetCheckpointFile::new(dir.join(RECOVERY_POINT_CHECKPOINT));
        assert!(f.read().unwrap().is_empty());
        let mut m = HashMap::new();
        m.insert(TopicPartition::new("orders", 0), 1234);
        m.insert(TopicPartition::new("__consumer_offsets", 7), 42);
        f.write(&m).unwrap();
        let text = fs::read_to_string(f.path()).unwrap();
        assert_eq!(text, "0\n2\n__consumer_offsets 7 42\norders 0 1234\n");
        assert_eq!(f.read().unwrap(), m);
        for garbage in ["", "1\n0\n", "0\n3\na 0 1\n", "0\nx\n", "0\n1\na b c\n", "0\n1\na 1\n", "\u{0}\u{ff}"] {
            fs::write(f.path(), garbage).unwrap();
            assert!(f.read().is_err(), "{garbage:?}");
        }
        fs::write(f.path(), [0xffu8, 0xfe, 0x00]).unwrap();
        assert!(f.read().is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
