//! `kafka-dump-log`: prints the batches (and with `--deep-iteration` the
//! records) of `.log` segment files (control batches with their
//! `endTxnMarker`), and the entries of `.index`, `.timeindex` and `.txnindex`
//! files, in Kafka 2.8's format. Maps to Kafka's
//! `kafka.tools.DumpLogSegments`.

use crate::protocol::records::{batches, entry_prefix, RecordBatch};
use bytes::Bytes;
use clap::Parser;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Parser, Debug)]
#[command(name = "kafka-dump-log.sh", about = "Parse a log file and dump its contents to the console, useful for debugging a seemingly corrupt log segment.", disable_version_flag = true)]
pub struct DumpLogOptions {
    /// REQUIRED: The comma separated list of data and index log files to be dumped.
    #[arg(long, value_delimiter = ',')]
    pub files: Vec<String>,
    /// If set, printing the messages content when dumping data logs. Automatically set if any decoder option is specified.
    #[arg(long)]
    pub print_data_log: bool,
    /// If set, uses deep instead of shallow iteration. Automatically set if print-data-log is enabled.
    #[arg(long)]
    pub deep_iteration: bool,
    /// if set, just verify the index log without printing its content.
    #[arg(long)]
    pub verify_index_only: bool,
    /// Skip record metadata when printing the data log.
    #[arg(long)]
    pub skip_record_metadata: bool,
}

pub fn main(args: Vec<String>) -> i32 {
    let opts: DumpLogOptions = match super::parse_args(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if opts.files.is_empty() {
        eprintln!("Missing required argument \"[files]\"");
        return 1;
    }
    let mut code = 0;
    for f in &opts.files {
        let path = Path::new(f);
        println!("Dumping {f}");
        let data = match std::fs::read(path) {
            Ok(d) => Bytes::from(d),
            Err(e) => {
                eprintln!("Cannot read {f}: {e}");
                code = 1;
                continue;
            }
        };
        let base: i64 = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok()).unwrap_or(0);
        match path.extension().and_then(|e| e.to_str()) {
            Some("log") => print!("{}", dump_segment(base, data, opts.print_data_log || opts.deep_iteration, opts.print_data_log, opts.skip_record_metadata)),
            Some("index") => {
                if !opts.verify_index_only {
                    print!("{}", dump_offset_index(base, &data));
                }
            }
            Some("timeindex") => {
                if !opts.verify_index_only {
                    print!("{}", dump_time_index(base, &data));
                }
            }
            Some("txnindex") => match dump_txn_index(&data) {
                Ok(text) => print!("{text}"),
                Err(e) => {
                    eprintln!("Cannot parse {f}: {e}");
                    code = 1;
                }
            },
            _ => {
                eprintln!("Ignoring unknown file {f}");
            }
        }
    }
    code
}

fn compression_name(b: &RecordBatch) -> &'static str {
    match b.compression() {
        Some(c) => match c.id() {
            0 => "NONE",
            1 => "GZIP",
            2 => "SNAPPY",
            3 => "LZ4",
            4 => "ZSTD",
            _ => "UNKNOWN",
        },
        None => "UNKNOWN",
    }
}

/// The text for one `.log` file whose base offset is `base`.
pub fn dump_segment(base: i64, data: Bytes, deep: bool, print_data: bool, skip_metadata: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Starting offset: {base}");
    let total = data.len();
    let mut position = 0usize;
    for batch in batches(data.clone()) {
        let b = match batch {
            Ok(b) => b,
            Err(e) => {
                let _ = writeln!(out, "Found an invalid batch at position {position}: {e}");
                return out;
            }
        };
        let size = b.size_in_bytes();
        if !skip_metadata {
            let _ = writeln!(
                out,
                "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} isControl: {} position: {} {}: {} size: {} magic: {} compresscodec: {} crc: {} isvalid: {}",
                b.base_offset(),
                b.last_offset(),
                b.records_count(),
                b.base_sequence(),
                if b.base_sequence() < 0 { -1 } else { b.base_sequence().wrapping_add(b.last_offset_delta()) },
                b.producer_id(),
                b.producer_epoch(),
                b.partition_leader_epoch(),
                b.is_transactional(),
                b.is_control(),
                position,
                b.timestamp_type().name(),
                b.max_timestamp(),
                size,
                b.magic(),
                compression_name(&b),
                b.crc(),
                b.is_valid()
            );
        }
        if deep {
            match b.records() {
                Ok(recs) => {
                    for r in recs {
                        let mut line = String::new();
                        if !skip_metadata {
                            let _ = write!(
                                line,
                                "| offset: {} {}: {} keySize: {} valueSize: {} sequence: {} headerKeys: [{}]",
                                r.offset,
                                b.timestamp_type().name(),
                                r.timestamp,
                                r.key.as_ref().map_or(-1, |k| k.len() as i64),
                                r.value.as_ref().map_or(-1, |v| v.len() as i64),
                                if b.base_sequence() < 0 { -1 } else { b.base_sequence().wrapping_add(r.offset_delta) },
                                r.headers.iter().map(|h| h.key.clone()).collect::<Vec<_>>().join(",")
                            );
                        }
                        if !skip_metadata && b.is_control() {
                            let _ = write!(line, "{}", control_record_text(r.key.as_deref(), r.value.as_deref()));
                        }
                        if print_data && !b.is_control() {
                            if let Some(k) = &r.key {
                                let _ = write!(line, " key: {}", String::from_utf8_lossy(k));
                            }
                            let _ = write!(
                                line,
                                " payload: {}",
                                r.value.as_ref().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default()
                            );
                        }
                        let _ = writeln!(out, "{line}");
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "| cannot decode records: {e}");
                }
            }
        }
        position += size;
    }
    if position < total {
        if let Some((offset, size)) = entry_prefix(&data[position..]) {
            let _ = writeln!(out, "Found {} invalid bytes at the end of {} (a partial batch at offset {offset}, size {size})", total - position, base);
        }
    }
    out
}

/// Kafka's description of a control record: ` endTxnMarker: COMMIT
/// coordinatorEpoch: N` for transaction markers, else ` controlType: ...`.
pub fn control_record_text(key: Option<&[u8]>, value: Option<&[u8]>) -> String {
    let type_id = key.filter(|k| k.len() >= 4).map_or(-1, |k| i16::from_be_bytes([k[2], k[3]]));
    match (key, value) {
        (Some(k), Some(v)) => match crate::log::producer_state::TxnMarker::from_key_value(k, v) {
            Some(m) => format!(" endTxnMarker: {} coordinatorEpoch: {}", if m.commit { "COMMIT" } else { "ABORT" }, m.coordinator_epoch),
            None => format!(" controlType: UNKNOWN({type_id})"),
        },
        _ => format!(" controlType: UNKNOWN({type_id})"),
    }
}

/// The text for one `.txnindex` file (Kafka's `dumpTxnIndex`).
pub fn dump_txn_index(data: &[u8]) -> Result<String, String> {
    let mut out = String::new();
    for t in crate::log::transaction_index::parse_entries(data)? {
        let _ = writeln!(
            out,
            "version: 0 producerId: {} firstOffset: {} lastOffset: {} lastStableOffset: {}",
            t.producer_id, t.first_offset, t.last_offset, t.last_stable_offset
        );
    }
    Ok(out)
}

/// The text for one `.index` file.
pub fn dump_offset_index(base: i64, data: &[u8]) -> String {
    let mut out = String::new();
    for e in data.chunks_exact(8) {
        let rel = i32::from_be_bytes([e[0], e[1], e[2], e[3]]);
        let pos = i32::from_be_bytes([e[4], e[5], e[6], e[7]]);
        if rel == 0 && pos == 0 && !out.is_empty() {
            break; // pre-allocated zeros of an active segment's index
        }
        let _ = writeln!(out, "offset: {} position: {}", base + rel as i64, pos);
    }
    out
}

/// The text for one `.timeindex` file.
pub fn dump_time_index(base: i64, data: &[u8]) -> String {
    let mut out = String::new();
    for e in data.chunks_exact(12) {
        let ts = i64::from_be_bytes([e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]]);
        let rel = i32::from_be_bytes([e[8], e[9], e[10], e[11]]);
        if ts == 0 && rel == 0 {
            break;
        }
        let _ = writeln!(out, "timestamp: {} offset: {}", ts, base + rel as i64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::producer_state::TxnMarker;
    use crate::log::transaction_index::AbortedTxn;

    #[test]
    fn control_batches_and_txn_index() {
        let m = TxnMarker { commit: true, coordinator_epoch: 4 }.build_batch(9, 1, 1000).unwrap();
        let text = dump_segment(0, m, true, true, false);
        assert!(text.contains("producerId: 9 producerEpoch: 1 partitionLeaderEpoch: -1 isTransactional: true isControl: true"), "{text}");
        assert!(text.contains(" endTxnMarker: COMMIT coordinatorEpoch: 4"), "{text}");
        assert!(!text.contains("payload"), "{text}");
        let a = TxnMarker { commit: false, coordinator_epoch: 0 }.key_value();
        assert_eq!(control_record_text(Some(&a.0), Some(&a.1)), " endTxnMarker: ABORT coordinatorEpoch: 0");
        assert_eq!(control_record_text(Some(&[0, 0, 0, 5]), Some(&a.1)), " controlType: UNKNOWN(5)");
        let mut idx = Vec::new();
        idx.extend_from_slice(&AbortedTxn { producer_id: 3, first_offset: 10, last_offset: 12, last_stable_offset: 13 }.encode());
        assert_eq!(
            dump_txn_index(&idx).unwrap(),
            "version: 0 producerId: 3 firstOffset: 10 lastOffset: 12 lastStableOffset: 13\n"
        );
        assert!(dump_txn_index(&idx[..20]).is_err());
    }
}
