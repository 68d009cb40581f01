//! Errors of the log layer and their Kafka error codes (the exceptions
//! `kafka.log.Log` throws: `OffsetOutOfRangeException`, `CorruptRecordException`,
//! `RecordTooLargeException`, `KafkaStorageException`, ...).

use crate::protocol::error::{self as ec, ErrorCode};
use crate::protocol::records::RecordsError;
use std::fmt;
use std::io;

#[derive(Debug)]
pub enum LogError {
    /// Fetch/list offset outside `[log_start_offset, log_end_offset]`.
    OffsetOutOfRange { offset: i64, log_start_offset: i64, log_end_offset: i64 },
    /// Bad bytes: CRC mismatch, broken framing (`CORRUPT_MESSAGE`).
    Corrupt(String),
    /// A batch larger than `max.message.bytes`.
    MessageTooLarge { size: usize, max: usize },
    /// A record set larger than a whole segment (`RECORD_LIST_TOO_LARGE`).
    RecordListTooLarge { size: usize, max: usize },
    /// A batch that breaks the rules (`INVALID_RECORD`).
    InvalidRecord(String),
    /// v0/v1 messages or other unsupported formats.
    UnsupportedForMessageFormat(String),
    /// A record timestamp out of `message.timestamp.difference.max.ms`, or a
    /// client batch claiming LogAppendTime (`INVALID_TIMESTAMP`).
    InvalidTimestamp(String),
    /// A codec the format cannot carry (`UNSUPPORTED_COMPRESSION_TYPE`).
    UnsupportedCompression(String),
    /// An idempotent producer's batch does not follow its last one.
    OutOfOrderSequence(String),
    /// An idempotent producer's batch carries an epoch older than the last seen.
    InvalidProducerEpoch(String),
    /// A non-transactional batch from a producer with an open transaction
    /// (`INVALID_TXN_STATE`).
    InvalidTxnState(String),
    /// A marker from a coordinator older than the one last seen
    /// (`TRANSACTION_COORDINATOR_FENCED`).
    TransactionCoordinatorFenced(String),
    /// Disk trouble (`KAFKA_STORAGE_ERROR`).
    Io(io::Error),
    /// A log dir that belongs to another broker/cluster, bad config, bad state.
    Storage(String),
    /// The log was deleted or closed.
    Closed,
}

pub type LogResult<T> = Result<T, LogError>;

impl LogError {
    pub fn error_code(&self) -> ErrorCode {
        match self {
            LogError::OffsetOutOfRange { .. } => ec::OFFSET_OUT_OF_RANGE,
            LogError::Corrupt(_) => ec::CORRUPT_MESSAGE,
            LogError::MessageTooLarge { .. } => ec::MESSAGE_TOO_LARGE,
            LogError::RecordListTooLarge { .. } => ec::RECORD_LIST_TOO_LARGE,
            LogError::InvalidRecord(_) => ec::INVALID_RECORD,
            LogError::UnsupportedForMessageFormat(_) => ec::UNSUPPORTED_FOR_MESSAGE_FORMAT,
            LogError::InvalidTimestamp(_) => ec::INVALID_TIMESTAMP,
            LogError::UnsupportedCompression(_) => ec::UNSUPPORTED_COMPRESSION_TYPE,
            LogError::OutOfOrderSequence(_) => ec::OUT_OF_ORDER_SEQUENCE_NUMBER,
            LogError::InvalidProducerEpoch(_) => ec::INVALID_PRODUCER_EPOCH,
            LogError::InvalidTxnState(_) => ec::INVALID_TXN_STATE,
            LogError::TransactionCoordinatorFenced(_) => ec::TRANSACTION_COORDINATOR_FENCED,
            LogError::Io(_) | LogError::Storage(_) | LogError::Closed => ec::KAFKA_STORAGE_ERROR,
        }
    }
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::OffsetOutOfRange { offset, log_start_offset, log_end_offset } => write!(
                f,
                "offset {offset} is out of range [{log_start_offset}, {log_end_offset}]"
            ),
            LogError::Corrupt(s) => write!(f, "corrupt records: {s}"),
            LogError::MessageTooLarge { size, max } => write!(f, "batch of {size} bytes exceeds {max}"),
            LogError::RecordListTooLarge { size, max } => {
                write!(f, "record set of {size} bytes exceeds segment size {max}")
            }
            LogError::InvalidRecord(s) => write!(f, "invalid record: {s}"),
            LogError::UnsupportedForMessageFormat(s) => write!(f, "unsupported message format: {s}"),
            LogError::InvalidTimestamp(s) => write!(f, "{s}"),
            LogError::UnsupportedCompression(s) => write!(f, "{s}"),
            LogError::OutOfOrderSequence(s) => write!(f, "{s}"),
            LogError::InvalidProducerEpoch(s) => write!(f, "{s}"),
            LogError::InvalidTxnState(s) => write!(f, "{s}"),
            LogError::TransactionCoordinatorFenced(s) => write!(f, "{s}"),
            LogError::Io(e) => write!(f, "I/O error: {e}"),
            LogError::Storage(s) => write!(f, "storage error: {s}"),
            LogError::Closed => write!(f, "log is closed"),
        }
    }
}

impl std::error::Error for LogError {}

impl From<io::Error> for LogError {
    fn from(e: io::Error) -> Self {
        LogError::Io(e)
    }
}

impl From<RecordsError> for LogError {
    fn from(e: RecordsError) -> Self {
        match e {
            RecordsError::Corrupt(s) => LogError::Corrupt(s),
            RecordsError::InvalidRecord(s) => LogError::InvalidRecord(s),
            RecordsError::UnsupportedMagic(m) => {
                LogError::UnsupportedForMessageFormat(format!("magic {m} message sets are not supported"))
            }
            RecordsError::MessageTooLarge { size, max } => LogError::MessageTooLarge { size, max },
            RecordsError::InvalidTimestamp(s) => LogError::InvalidTimestamp(s),
            RecordsError::UnsupportedCompression(s) => LogError::UnsupportedCompression(s),
        }
    }
}
