//! DeleteTopics handler (v0-5): on the active controller, marks each known
//! topic for deletion in ZooKeeper (`/admin/delete_topics/<t>`) and waits until
//! the topic is gone from this broker's metadata cache or the request's
//! timeout passes. Maps to `KafkaApis.handleDeleteTopicsRequest`,
//! `ZkAdminManager.deleteTopics` and `DelayedDeleteTopics`.

use crate::security::authorizer::{AclOperation, ResourceType};
use crate::protocol::error;
use crate::protocol::messages::delete_topics::{DeletableTopicResult, DeleteTopicsRequest, DeleteTopicsResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};
use crate::zk::{AdminError, AdminZkClient};
use std::time::{Duration, Instant};

impl KafkaApis {
    pub(crate) async fn handle_delete_topics(&self, ctx: &RequestContext, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
        let mut names: Vec<String> = Vec::new();
        for n in req.names() {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let mut results: Vec<DeletableTopicResult> =
            names.iter().map(|n| DeletableTopicResult { name: Some(n.clone()), ..Default::default() }).collect();
        let active = self.controller.get().is_some_and(|c| c.is_active());
        if !active || !self.config.delete_topic_enable {
            let code = if !active {
                error::NOT_CONTROLLER
            } else if ctx.api_version < 3 {
                error::INVALID_REQUEST
            } else {
                error::TOPIC_DELETION_DISABLED
            };
            for r in &mut results {
                r.error_code = code;
            }
            return DeleteTopicsResponse { throttle_time_ms: 0, responses: results, ..Default::default() };
        }
        let admin = AdminZkClient::new(self.zk.clone());
        let mut pending: Vec<usize> = Vec::new();
        let deletable = self.filter_authorized(ctx, AclOperation::Delete, ResourceType::Topic, names.iter().map(String::as_str));
        for (i, r) in results.iter_mut().enumerate() {
            let name = r.name.clone().unwrap_or_default();
            if !deletable.contains(&name) {
                r.error_code = error::TOPIC_AUTHORIZATION_FAILED;
                continue;
            }
            if !self.metadata_cache.contains_topic(&name) {
                r.error_code = error::UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            match admin.delete_topic(&name).await {
                // Already marked: still tracked, so repeated calls all wait for the deletion.
                Ok(()) | Err(AdminError::TopicAlreadyMarkedForDeletion(_)) => pending.push(i),
                Err(e) => {
                    log::error!("Error processing delete topic request for topic {name}: {e}");
                    r.error_code = e.error_code();
                }
            }
        }
        // Kafka's DelayedDeleteTopics: done when the topics left the metadata cache.
        let deadline = Instant::now() + Duration::from_millis(req.timeout_ms.max(0) as u64);
        loop {
            pending.retain(|i| self.metadata_cache.contains_topic(results[*i].name.as_deref().unwrap_or_default()));
            if pending.is_empty() {
                break;
            }
            if req.timeout_ms <= 0 || Instant::now() >= deadline {
                for i in &pending {
                    results[*i].error_code = error::REQUEST_TIMED_OUT;
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        DeleteTopicsResponse { throttle_time_ms: 0, responses: results, ..Default::default() }
    }
}
