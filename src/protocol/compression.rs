//! Compression codecs of record batches (Kafka's `CompressionType` and the
//! stream wrappers it chooses): gzip, snappy in xerial (snappy-java) framing,
//! LZ4 frame format, and zstd. Decompression is always bounded by a caller
//! supplied limit so a small hostile payload cannot expand without end.

use std::io::{self, Read, Write};

/// The codec of a batch: bits 0-2 of the v2 batch `attributes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// The codec for an attributes value, `None` for the unused ids 5..7.
    pub fn from_id(id: i16) -> Option<Compression> {
        match id & 0x07 {
            0 => Some(Compression::None),
            1 => Some(Compression::Gzip),
            2 => Some(Compression::Snappy),
            3 => Some(Compression::Lz4),
            4 => Some(Compression::Zstd),
            _ => None,
        }
    }

    pub fn id(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// Kafka's `compression.type` names (`producer` is handled by callers).
    pub fn from_name(name: &str) -> Option<Compression> {
        match name.to_ascii_lowercase().as_str() {
            "none" | "uncompressed" => Some(Compression::None),
            "gzip" => Some(Compression::Gzip),
            "snappy" => Some(Compression::Snappy),
            "lz4" => Some(Compression::Lz4),
            "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// Magic that opens a snappy-java `SnappyOutputStream`.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Uncompressed block size snappy-java (and so Kafka) uses.
const XERIAL_BLOCK: usize = 32 * 1024;

/// Compresses `data` as one stream of the given codec.
pub fn compress(codec: Compression, data: &[u8]) -> io::Result<Vec<u8>> {
    match codec {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data)?;
            enc.finish()
        }
        Compression::Snappy => {
            let mut out = Vec::with_capacity(16 + data.len() / 2);
            out.extend_from_slice(&XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes()); // version
            out.extend_from_slice(&1i32.to_be_bytes()); // minimum compatible version
            let mut enc = snap::raw::Encoder::new();
            for chunk in data.chunks(XERIAL_BLOCK) {
                let block = enc
                    .compress_vec(chunk)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                out.extend_from_slice(&(block.len() as i32).to_be_bytes());
                out.extend_from_slice(&block);
            }
            Ok(out)
        }
        Compression::Lz4 => {
            // Kafka's reader decodes each block on its own: independent blocks.
            let info = lz4_flex::frame::FrameInfo::new()
                .block_mode(lz4_flex::frame::BlockMode::Independent)
                .block_size(lz4_flex::frame::BlockSize::Max64KB);
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
            enc.write_all(data)?;
            enc.finish().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        }
        Compression::Zstd => zstd::bulk::compress(data, 3),
    }
}

/// Reads `r` to its end, failing once more than `limit` bytes come out.
fn read_bounded<R: Read>(r: R, limit: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut taken = r.take(limit as u64 + 1);
    taken.read_to_end(&mut out)?;
    if out.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("decompressed data exceeds {limit} bytes"),
        ));
    }
    Ok(out)
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Decompresses one stream, producing at most `limit` bytes.
pub fn decompress(codec: Compression, data: &[u8], limit: usize) -> io::Result<Vec<u8>> {
    match codec {
        Compression::None => {
            if data.len() > limit {
                return Err(invalid("data exceeds limit"));
            }
            Ok(data.to_vec())
        }
        Compression::Gzip => read_bounded(flate2::read::MultiGzDecoder::new(data), limit),
        Compression::Snappy => snappy_decompress(data, limit),
        Compression::Lz4 => read_bounded(lz4_flex::frame::FrameDecoder::new(data), limit),
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::new(data)?;
            read_bounded(dec, limit)
        }
    }
}

/// Snappy as Kafka's clients write it: xerial framing (a header, then
/// int32-length-prefixed raw blocks); a bare raw snappy block is accepted too.
fn snappy_decompress(data: &[u8], limit: usize) -> io::Result<Vec<u8>> {
    let mut dec = snap::raw::Decoder::new();
    if data.len() >= 16 && data[..8] == XERIAL_MAGIC {
        let mut out = Vec::new();
        let mut pos = 16;
        while pos < data.len() {
            let len_bytes = data.get(pos..pos + 4).ok_or_else(|| invalid("truncated snappy block length"))?;
            let len = i32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
            pos += 4;
            if len < 0 {
                return Err(invalid("negative snappy block length"));
            }
            let block = data
                .get(pos..pos + len as usize)
                .ok_or_else(|| invalid("truncated snappy block"))?;
            pos += len as usize;
            let n = snap::raw::decompress_len(block).map_err(|e| invalid(e.to_string()))?;
            if out.len() + n > limit {
                return Err(invalid(format!("decompressed data exceeds {limit} bytes")));
            }
            let start = out.len();
            out.resize(start + n, 0);
            let written = dec
                .decompress(block, &mut out[start..])
                .map_err(|e| invalid(e.to_string()))?;
            out.truncate(start + written);
        }
        Ok(out)
    } else {
        let n = snap::raw::decompress_len(data).map_err(|e| invalid(e.to_string()))?;
        if n > limit {
            return Err(invalid(format!("decompressed data exceeds {limit} bytes")));
        }
        dec.decompress_vec(data).map_err(|e| invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_codec() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for c in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            let z = compress(c, &data).unwrap();
            assert_eq!(decompress(c, &z, 1 << 20).unwrap(), data, "{c:?}");
            assert!(decompress(c, &z, 1000).is_err(), "{c:?} limit");
        }
    }

    #[test]
    fn raw_snappy_and_garbage() {
        let raw = snap::raw::Encoder::new().compress_vec(b"hello hello hello").unwrap();
        assert_eq!(decompress(Compression::Snappy, &raw, 100).unwrap(), b"hello hello hello");
        for c in [Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            assert!(decompress(c, b"\x82SNAPPY\x00garbage-garbage-garbage", 1000).is_err());
        }
    }
}
