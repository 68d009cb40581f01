//! A slice of a segment file holding whole record batches, sent to a socket
//! without passing through user space: Kafka's `FileRecords` (its `slice`,
//! and `writeTo`, which is `FileChannel.transferTo`, i.e. `sendfile(2)`).
//! A fetch response's record data goes from the page cache to the socket.

use crate::log::LogResult;
use crate::protocol::records::{self, LOG_OVERHEAD};
use bytes::Bytes;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Batches past this many headers are not walked to find where the last
/// whole batch ends: the caller reads the bytes instead (tiny batches).
const MAX_HEADERS_WALKED: usize = 256;

/// `len` bytes of `file` from `position`: whole batches only.
#[derive(Debug, Clone)]
pub struct FileRecords {
    pub file: Arc<File>,
    pub position: u64,
    pub len: usize,
}

impl FileRecords {
    /// The whole batches within `len` bytes from `position`, found by
    /// reading only their 12-byte `offset`+`size` prefixes; `None` when
    /// more than `MAX_HEADERS_WALKED` batches would have to be walked.
    pub fn whole_batches(file: &Arc<File>, position: u64, len: usize) -> LogResult<Option<FileRecords>> {
        let mut at = 0usize;
        let mut prefix = [0u8; LOG_OVERHEAD];
        for _ in 0..MAX_HEADERS_WALKED {
            if len - at < LOG_OVERHEAD {
                return Ok(Some(FileRecords { file: file.clone(), position, len: at }));
            }
            let n = read_full_at(file, &mut prefix, position + at as u64)?;
            let Some((_, size)) = (n == LOG_OVERHEAD).then(|| records::entry_prefix(&prefix)).flatten() else {
                return Ok(Some(FileRecords { file: file.clone(), position, len: at }));
            };
            if size < records::MIN_ENTRY_SIZE {
                return Ok(Some(FileRecords { file: file.clone(), position, len: at }));
            }
            let total = LOG_OVERHEAD + size as usize;
            if len - at < total {
                return Ok(Some(FileRecords { file: file.clone(), position, len: at }));
            }
            at += total;
        }
        if at == len {
            return Ok(Some(FileRecords { file: file.clone(), position, len }));
        }
        Ok(None)
    }

    /// The bytes, read into memory (for callers that need them there).
    pub fn read_bytes(&self) -> io::Result<Bytes> {
        let mut buf = vec![0u8; self.len];
        let n = read_full_at(&self.file, &mut buf, self.position)?;
        if n < self.len {
            return Err(truncated());
        }
        Ok(Bytes::from(buf))
    }

    /// Copies the slice to `w` through memory, 64 KiB at a time: for
    /// streams that are not a plain socket (TLS), where sendfile cannot be
    /// used. Fails if the file shrank underneath, like `write_to`.
    pub async fn copy_to<W: tokio::io::AsyncWrite + Unpin>(&self, w: &mut W) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        const CHUNK: usize = 64 * 1024;
        let mut buf = vec![0u8; CHUNK.min(self.len)];
        let mut done = 0usize;
        while done < self.len {
            let n = (self.len - done).min(CHUNK);
            let got = read_full_at(&self.file, &mut buf[..n], self.position + done as u64)?;
            if got < n {
                return Err(truncated());
            }
            w.write_all(&buf[..n]).await?;
            done += n;
        }
        Ok(())
    }

    /// Sends the slice to `stream` (everything buffered before it must have
    /// been written first). Fails if the file shrank underneath: the
    /// response frame promised `len` bytes, so the connection must close.
    pub async fn write_to(&self, stream: &tokio::net::TcpStream) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            use tokio::io::Interest;
            let (sock, src) = (stream.as_raw_fd(), self.file.as_raw_fd());
            let end = self.position + self.len as u64;
            let mut off = self.position;
            while off < end {
                stream.writable().await?;
                let want = (end - off).min(1 << 30) as usize;
                let r = stream.try_io(Interest::WRITABLE, || {
                    let mut o = off as libc::off_t;
                    // SAFETY: both descriptors stay open for the call (the
                    // stream and the Arc<File> are borrowed); `o` is a local.
                    let n = unsafe { libc::sendfile(sock, src, &mut o, want) };
                    if n < 0 {
                        Err(io::Error::last_os_error())
                    } else {
                        Ok(n as usize)
                    }
                });
                match r {
                    Ok(0) => return Err(truncated()),
                    Ok(n) => off += n as u64,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            let bytes = self.read_bytes()?;
            let mut rest: &[u8] = &bytes;
            while !rest.is_empty() {
                stream.writable().await?;
                match stream.try_write(rest) {
                    Ok(n) => rest = &rest[n..],
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
    }
}

fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "segment file truncated while its records were being sent")
}

/// Reads until `buf` is full or the file ends; the count read.
fn read_full_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], pos + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::compression::Compression;

    fn batch(base: i64, n: usize) -> Vec<u8> {
        let mut b = crate::protocol::records::RecordBatchBuilder::new(Compression::None).base_offset(base);
        for i in 0..n {
            b.append(1000 + i as i64, None, Some(&[b'v'; 50]), &[]);
        }
        b.build().unwrap().to_vec()
    }

    #[test]
    fn whole_batches_stop_before_a_partial_one() {
        let dir = std::env::temp_dir().join(format!("zk-file-records-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seg.log");
        let (a, b, c) = (batch(0, 3), batch(3, 5), batch(8, 2));
        let all: Vec<u8> = [a.clone(), b.clone(), c.clone()].concat();
        std::fs::write(&path, &all).unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        let whole = |pos: u64, len: usize| FileRecords::whole_batches(&file, pos, len).unwrap().unwrap().len;
        assert_eq!(whole(0, all.len()), all.len());
        assert_eq!(whole(0, all.len() - 1), a.len() + b.len());
        assert_eq!(whole(0, a.len() + 11), a.len());
        assert_eq!(whole(0, a.len() - 1), 0);
        assert_eq!(whole(a.len() as u64, b.len() + c.len()), b.len() + c.len());
        // Past the end of the file: only what is there.
        assert_eq!(whole(0, all.len() + 100), all.len());
        let fr = FileRecords::whole_batches(&file, a.len() as u64, b.len()).unwrap().unwrap();
        assert_eq!(&fr.read_bytes().unwrap()[..], &b[..]);
        let too_long = FileRecords { file: file.clone(), position: 0, len: all.len() + 1 };
        assert!(too_long.read_bytes().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn write_to_sends_the_slice_and_fails_when_the_file_shrank() {
        use tokio::io::AsyncReadExt;
        let dir = std::env::temp_dir().join(format!("zk-file-records-send-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seg.log");
        // Large enough to fill the socket buffers: sendfile returns early
        // and the loop must wait for writability.
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        let sock = tokio::net::TcpStream::connect(addr).await.unwrap();
        let fr = FileRecords { file: file.clone(), position: 1000, len: data.len() - 2000 };
        fr.write_to(&sock).await.unwrap();
        // Past the end of the file: the promised length cannot be sent.
        let short = FileRecords { file: file.clone(), position: data.len() as u64 - 10, len: 20 };
        let err = short.write_to(&sock).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        drop(sock);
        let got = reader.await.unwrap();
        assert_eq!(got.len(), data.len() - 2000 + 10);
        assert_eq!(&got[..data.len() - 2000], &data[1000..data.len() - 1000]);
        assert_eq!(&got[data.len() - 2000..], &data[data.len() - 10..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
