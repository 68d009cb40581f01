//! CreatePartitions handler (v0-3): on the active controller, validates each
//! topic's new count and manual assignment, writes the extra partitions into
//! `/brokers/topics/<t>` through AdminZkClient (the controller creates them),
//! then waits until every partition of those topics has a leader in this
//! broker's metadata cache or the timeout passes. Maps to
//! `KafkaApis.handleCreatePartitionsRequest`, `ZkAdminManager.createPartitions`
//! and `DelayedCreatePartitions`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::protocol::error;
use crate::protocol::messages::create_partitions::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreatePartitionsTopicResult,
};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::zk::admin_zk_client::check_create_partitions;
use crate::zk::{AdminError, AdminZkClient, RackAwareMode};
use std::collections::HashMap;
use std::time::{Duration, Instant};

impl KafkaApis {
    pub(crate) async fn handle_create_partitions(
        &self,
        ctx: &RequestContext,
        req: CreatePartitionsRequest,
    ) -> CreatePartitionsResponse {
        let alterable = self.filter_authorized(ctx, AclOperation::Alter, ResourceType::Topic, req.topics.iter().map(|t| t.name.as_str()));
        let mut results: Vec<CreatePartitionsTopicResult> = Vec::with_capacity(req.topics.len());
        let active = self.controller.get().is_some_and(|c| c.is_active());
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for t in &req.topics {
            *counts.entry(t.name.as_str()).or_default() += 1;
        }
        let admin = AdminZkClient::new(self.zk.clone());
        // Kafka's getBrokerMetadatas() (registered brokers, racks enforced).
        let brokers = if active { Some(admin.get_broker_metadatas(RackAwareMode::Enforced, None).await) } else { None };
        let mut reported: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut pending: Vec<(usize, i32)> = Vec::new();
        for t in &req.topics {
            if !reported.insert(t.name.as_str()) {
                continue; // one answer per duplicated name
            }
            let mut r = CreatePartitionsTopicResult { name: t.name.clone(), ..Default::default() };
            if active && counts[t.name.as_str()] == 1 && !alterable.contains(&t.name) {
                r.error_code = error::TOPIC_AUTHORIZATION_FAILED;
                r.error_message = Some("The topic authorization is failed.".into());
                results.push(r);
                continue;
            }
            let outcome: Result<(), AdminError> = async {
                if !active {
                    return Err(AdminError::NotController);
                }
                if counts[t.name.as_str()] > 1 {
                    return Err(AdminError::InvalidRequest("Duplicate topic in request.".into()));
                }
                if self.zk.is_topic_marked_for_deletion(&t.name).await? {
                    return Err(AdminError::InvalidTopic("The topic is queued for deletion.".into()));
                }
                let brokers = match &brokers {
                    Some(Ok(b)) => b,
                    Some(Err(e)) => return Err(e.clone()),
                    None => return Err(AdminError::NotController),
                };
                let ids: Vec<i32> = brokers.iter().map(|b| b.id).collect();
                let existing = self.zk.get_topic_assignment(&t.name).await?;
                let manual: Option<Vec<Vec<i32>>> =
                    t.assignments.as_ref().map(|a| a.iter().map(|x| x.broker_ids.clone()).collect());
                let manual = check_create_partitions(&t.name, existing.as_ref(), &ids, t.count, manual.as_deref())?;
                admin.add_partitions(&t.name, t.count, manual, brokers, req.validate_only).await?;
                Ok(())
            }
            .await;
            match outcome {
                Ok(()) if !req.validate_only => pending.push((results.len(), t.count)),
                Ok(()) => {}
                Err(e) => {
                    r.error_code = e.error_code();
                    r.error_message = match e {
                        AdminError::NotController => None,
                        e => Some(e.message()),
                    };
                }
            }
            results.push(r);
        }
        // Kafka's DelayedCreatePartitions: done when every partition has a leader.
        let deadline = Instant::now() + Duration::from_millis(req.timeout_ms.max(0) as u64);
        loop {
            pending.retain(|(i, count)| !self.has_leaders_for(&results[*i].name, *count));
            if pending.is_empty() {
                break;
            }
            if req.timeout_ms <= 0 || Instant::now() >= deadline {
                for (i, _) in &pending {
                    results[*i].error_code = error::REQUEST_TIMED_OUT;
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        CreatePartitionsResponse { throttle_time_ms: 0, results, ..Default::default() }
    }

    /// Whether the metadata cache shows `count` partitions of `topic`, all with a leader.
    fn has_leaders_for(&self, topic: &str, count: i32) -> bool {
        self.metadata_cache
            .partitions(topic)
            .is_some_and(|ps| ps.len() as i32 >= count && ps.iter().all(|(_, p)| p.leader >= 0))
    }
}
