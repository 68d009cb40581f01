//! API keys, the version ranges this broker serves, and where each API's
//! flexible versions begin. Maps to Kafka's `ApiKeys` and `ApiVersionsResponse`.

/// The Kafka API keys this code base knows about (a subset of 2.8's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i16)]
pub enum ApiKey {
    Produce = 0,
    Fetch = 1,
    ListOffsets = 2,
    Metadata = 3,
    LeaderAndIsr = 4,
    StopReplica = 5,
    UpdateMetadata = 6,
    ControlledShutdown = 7,
    OffsetCommit = 8,
    OffsetFetch = 9,
    FindCoordinator = 10,
    JoinGroup = 11,
    Heartbeat = 12,
    LeaveGroup = 13,
    SyncGroup = 14,
    DescribeGroups = 15,
    ListGroups = 16,
    SaslHandshake = 17,
    ApiVersions = 18,
    CreateTopics = 19,
    DeleteTopics = 20,
    DeleteRecords = 21,
    InitProducerId = 22,
    OffsetForLeaderEpoch = 23,
    AddPartitionsToTxn = 24,
    AddOffsetsToTxn = 25,
    EndTxn = 26,
    WriteTxnMarkers = 27,
    TxnOffsetCommit = 28,
    DescribeAcls = 29,
    CreateAcls = 30,
    DeleteAcls = 31,
    DescribeConfigs = 32,
    AlterConfigs = 33,
    AlterReplicaLogDirs = 34,
    DescribeLogDirs = 35,
    SaslAuthenticate = 36,
    CreatePartitions = 37,
    DeleteGroups = 42,
    ElectLeaders = 43,
    IncrementalAlterConfigs = 44,
    AlterPartitionReassignments = 45,
    ListPartitionReassignments = 46,
    OffsetDelete = 47,
    DescribeClientQuotas = 48,
    AlterClientQuotas = 49,
    DescribeUserScramCredentials = 50,
    AlterUserScramCredentials = 51,
    AlterIsr = 56,
    DescribeCluster = 60,
}

impl ApiKey {
    pub fn from_i16(key: i16) -> Option<ApiKey> {
        use ApiKey::*;
        Some(match key {
            0 => Produce,
            1 => Fetch,
            2 => ListOffsets,
            3 => Metadata,
            4 => LeaderAndIsr,
            5 => StopReplica,
            6 => UpdateMetadata,
            7 => ControlledShutdown,
            8 => OffsetCommit,
            9 => OffsetFetch,
            10 => FindCoordinator,
            11 => JoinGroup,
            12 => Heartbeat,
            13 => LeaveGroup,
            14 => SyncGroup,
            15 => DescribeGroups,
            16 => ListGroups,
            17 => SaslHandshake,
            18 => ApiVersions,
            19 => CreateTopics,
            20 => DeleteTopics,
            21 => DeleteRecords,
            22 => InitProducerId,
            23 => OffsetForLeaderEpoch,
            24 => AddPartitionsToTxn,
            25 => AddOffsetsToTxn,
            26 => EndTxn,
            27 => WriteTxnMarkers,
            28 => TxnOffsetCommit,
            29 => DescribeAcls,
            30 => CreateAcls,
            31 => DeleteAcls,
            32 => DescribeConfigs,
            33 => AlterConfigs,
            34 => AlterReplicaLogDirs,
            35 => DescribeLogDirs,
            36 => SaslAuthenticate,
            37 => CreatePartitions,
            42 => DeleteGroups,
            43 => ElectLeaders,
            44 => IncrementalAlterConfigs,
            45 => AlterPartitionReassignments,
            46 => ListPartitionReassignments,
            47 => OffsetDelete,
            48 => DescribeClientQuotas,
            49 => AlterClientQuotas,
            50 => DescribeUserScramCredentials,
            51 => AlterUserScramCredentials,
            56 => AlterIsr,
            60 => DescribeCluster,
            _ => return None,
        })
    }

    pub fn id(self) -> i16 {
        self as i16
    }

    /// First flexible version in Kafka 2.8 (requests and responses agree);
    /// `i16::MAX` where no version is flexible.
    pub fn first_flexible_version(self) -> i16 {
        use ApiKey::*;
        match self {
            Produce => 9,
            Fetch => 12,
            ListOffsets => 6,
            Metadata => 9,
            LeaderAndIsr => 4,
            StopReplica => 2,
            UpdateMetadata => 6,
            ControlledShutdown => 3,
            OffsetCommit => 8,
            OffsetFetch => 6,
            FindCoordinator => 3,
            JoinGroup => 6,
            Heartbeat => 4,
            LeaveGroup => 4,
            SyncGroup => 4,
            DescribeGroups => 5,
            ListGroups => 3,
            ApiVersions => 3,
            CreateTopics => 5,
            DeleteTopics => 4,
            DeleteRecords => 2,
            OffsetForLeaderEpoch => 4,
            InitProducerId => 2,
            AddPartitionsToTxn | AddOffsetsToTxn | EndTxn | TxnOffsetCommit => 3,
            WriteTxnMarkers => 1,
            DescribeConfigs => 4,
            AlterConfigs => 2,
            AlterReplicaLogDirs => 2,
            DescribeLogDirs => 2,
            CreatePartitions => 2,
            DeleteGroups => 2,
            ElectLeaders => 2,
            IncrementalAlterConfigs => 1,
            AlterPartitionReassignments => 0,
            ListPartitionReassignments => 0,
            OffsetDelete => i16::MAX,
            DescribeClientQuotas => 1,
            AlterClientQuotas => 1,
            SaslHandshake => i16::MAX,
            SaslAuthenticate => 2,
            DescribeUserScramCredentials => 0,
            AlterUserScramCredentials => 0,
            AlterIsr => 0,
            DescribeAcls | CreateAcls | DeleteAcls => 2,
            DescribeCluster => 0,
        }
    }

    /// The first version whose response body starts with `throttle_time_ms`
    /// (Kafka 2.8's `*Response.json`); `None` where it never comes first
    /// (Produce and ApiVersions carry it later; controller APIs not at all).
    pub fn throttle_time_first_since(self) -> Option<i16> {
        use ApiKey::*;
        match self {
            Fetch | FindCoordinator | Heartbeat | LeaveGroup | SyncGroup | DescribeGroups | ListGroups | DeleteTopics => Some(1),
            ListOffsets | JoinGroup | CreateTopics | OffsetForLeaderEpoch => Some(2),
            Metadata | OffsetCommit | OffsetFetch => Some(3),
            DeleteRecords | InitProducerId | AddPartitionsToTxn | AddOffsetsToTxn | EndTxn | TxnOffsetCommit | DescribeConfigs | AlterConfigs | AlterReplicaLogDirs | DescribeLogDirs
            | CreatePartitions | DeleteGroups | ElectLeaders | IncrementalAlterConfigs | AlterPartitionReassignments
            | ListPartitionReassignments | DescribeClientQuotas | AlterClientQuotas | AlterIsr
            | DescribeUserScramCredentials | AlterUserScramCredentials | DescribeAcls | CreateAcls | DeleteAcls
            | DescribeCluster => Some(0),
            Produce | ApiVersions | LeaderAndIsr | StopReplica | UpdateMetadata | ControlledShutdown | OffsetDelete
            | SaslHandshake | SaslAuthenticate | WriteTxnMarkers => None,
        }
    }

    pub fn is_flexible(self, version: i16) -> bool {
        version >= self.first_flexible_version()
    }

    /// Request header version for a request of this API at `version`.
    pub fn request_header_version(self, version: i16) -> i16 {
        if self == ApiKey::ControlledShutdown && version == 0 {
            0
        } else if self.is_flexible(version) {
            2
        } else {
            1
        }
    }

    /// Response header version: 1 for flexible responses, except ApiVersions,
    /// whose response header is always v0 (KIP-511).
    pub fn response_header_version(self, version: i16) -> i16 {
        if self != ApiKey::ApiVersions && self.is_flexible(version) {
            1
        } else {
            0
        }
    }
}

/// The versions of each API this broker really serves, as advertised in
/// ApiVersions. An API is listed only once its handler exists.
pub const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 0, 9),
    (ApiKey::Fetch, 0, 12),
    (ApiKey::ListOffsets, 0, 6),
    (ApiKey::Metadata, 0, 11),
    (ApiKey::LeaderAndIsr, 0, 5),
    (ApiKey::StopReplica, 0, 3),
    (ApiKey::UpdateMetadata, 0, 7),
    (ApiKey::ControlledShutdown, 0, 3),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 0, 7),
    (ApiKey::OffsetCommit, 0, 8),
    (ApiKey::OffsetFetch, 0, 7),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::OffsetForLeaderEpoch, 0, 4),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::AddOffsetsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 3),
    (ApiKey::TxnOffsetCommit, 0, 3),
    (ApiKey::WriteTxnMarkers, 0, 1),
    (ApiKey::DescribeConfigs, 0, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::AlterReplicaLogDirs, 0, 2),
    (ApiKey::DescribeLogDirs, 0, 2),
    (ApiKey::DeleteTopics, 0, 5),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::AlterPartitionReassignments, 0, 0),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::DescribeClientQuotas, 0, 1),
    (ApiKey::AlterClientQuotas, 0, 1),
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
    (ApiKey::DescribeAcls, 0, 2),
    (ApiKey::CreateAcls, 0, 2),
    (ApiKey::DeleteAcls, 0, 2),
    // DescribeCluster: v0 is Kafka 2.8's; v1 (KIP-919's EndpointType) is
    // served too because kafka-python 2.x/3.x's describe_cluster() reads the
    // v1-only `endpoint_type` unconditionally and fails on a v0 answer (as
    // it does against Kafka 2.8 itself); v1 changes nothing else.
    (ApiKey::DescribeCluster, 0, 1),
];

/// The version range served for `key`, if any.
pub fn supported_versions(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED_APIS.iter().find(|(k, _, _)| *k == key).map(|(_, lo, hi)| (*lo, *hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_produce_and_fetch_versions_are_served() {
        // Produce v0-2 (magic 0/1 message sets, up-converted) and Fetch v0-3
        // (down-converted) as Kafka 2.8 serves them.
        assert_eq!(supported_versions(ApiKey::Produce), Some((0, 9)));
        assert_eq!(supported_versions(ApiKey::Fetch), Some((0, 12)));
        // what kafka-python pinned to 0.10 / 0.10.1 also sends
        for (key, v) in [(ApiKey::ListOffsets, 0), (ApiKey::Metadata, 1), (ApiKey::OffsetCommit, 2), (ApiKey::OffsetFetch, 1),
            (ApiKey::FindCoordinator, 0), (ApiKey::JoinGroup, 0), (ApiKey::SyncGroup, 0), (ApiKey::Heartbeat, 0)]
        {
            let (lo, hi) = supported_versions(key).unwrap();
            assert!(lo <= v && v <= hi, "{key:?} v{v}");
        }
    }
}
