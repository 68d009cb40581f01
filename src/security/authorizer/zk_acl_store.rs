//! The ACLs in ZooKeeper: Kafka's `ZkAclStore` / `ZkAclChangeStore` and the
//! ZooKeeper side of `AclAuthorizer` (`loadCache`, `updateResourceAcls`,
//! the `AclChangedNotificationHandler` fed by a
//! `ZkNodeChangeNotificationListener`).
//!
//! Layout as Kafka 2.8: `/kafka-acl/<ResourceType>/<name>` (literal) and
//! `/kafka-acl-extended/prefixed/<ResourceType>/<name>`, each holding
//! `{"version":1,"acls":[...]}`; a change to a resource's ACLs writes the
//! znode (conditionally on its version, retried) and then a persistent
//! sequential `acl_changes_<seq>` under `/kafka-acl-changes` (data
//! `TOPIC:name`) or `/kafka-acl-extended-changes` (a JSON event). Every
//! broker re-reads the named resource on a notification; notifications
//! older than 15 minutes are purged.

use super::acl_authorizer::{AclAuthorizer, AclCache};
use super::{
    acl_change_root, acl_root, decode_acls, decode_change_notification, encode_acls, encode_change_notification,
    AccessControlEntry, AclBinding, AclBindingFilter, PatternType, ResourcePattern, ResourceType, ACL_CHANGE_PREFIX,
    EXTENDED_ACL_CHANGES_PATH, LITERAL_ACL_CHANGES_PATH,
};
use crate::zk::{KafkaZkClient, ZkError};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Kafka's notification expiry (`ZkNodeChangeNotificationListener.changeExpirationMs`).
pub const ACL_CHANGE_EXPIRATION_MS: i64 = 15 * 60 * 1000;

/// Kafka's `createAclPaths`: the two ACL roots and their change directories.
pub async fn create_acl_paths(zk: &KafkaZkClient) -> Result<(), ZkError> {
    for p in [acl_root(PatternType::Literal), acl_root(PatternType::Prefixed), LITERAL_ACL_CHANGES_PATH, EXTENDED_ACL_CHANGES_PATH] {
        zk.make_sure_persistent_path_exists(p).await?;
    }
    Ok(())
}

/// The ACLs of one pattern and the znode's version (`None`: no znode).
pub async fn read_resource(zk: &KafkaZkClient, pattern: &ResourcePattern) -> Result<(BTreeSet<AccessControlEntry>, Option<i32>), ZkError> {
    let path = pattern.zk_path();
    match zk.get_data(&path).await? {
        None => Ok((BTreeSet::new(), None)),
        Some((bytes, stat)) => match decode_acls(&bytes) {
            Ok(set) => Ok((set, Some(stat.version))),
            Err(reason) => Err(ZkError::InvalidData { path, reason }),
        },
    }
}

/// Kafka's `loadCache`: every resource of both stores. A znode that does not
/// decode is logged and skipped (its resource has no ACLs in the cache).
pub async fn load_all(zk: &KafkaZkClient) -> Result<AclCache, ZkError> {
    let mut cache = AclCache::new();
    for pt in [PatternType::Literal, PatternType::Prefixed] {
        for type_name in zk.get_children(acl_root(pt)).await? {
            let Some(rt) = ResourceType::parse(&type_name).filter(|t| ResourceType::CONCRETE.contains(t)) else {
                log::warn!("[AclAuthorizer] ignoring unknown ResourceType: {type_name}");
                continue;
            };
            for name in zk.get_children(&format!("{}/{}", acl_root(pt), type_name)).await? {
                let pattern = ResourcePattern::new(rt, &name, pt);
                match read_resource(zk, &pattern).await {
                    Ok((set, _)) if !set.is_empty() => {
                        cache.insert(pattern, set);
                    }
                    Ok(_) => {}
                    Err(ZkError::InvalidData { path, reason }) => log::warn!("[AclAuthorizer] ignoring bad ACLs in {path}: {reason}"),
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(cache)
}

/// Kafka's `updateResourceAcls`: applies `change` to the pattern's current
/// ACLs, writes the result conditionally (retrying on a concurrent change),
/// deletes the znode when nothing is left, and writes the change
/// notification. Returns the new set.
pub async fn update_resource<F>(zk: &KafkaZkClient, pattern: &ResourcePattern, change: F) -> Result<BTreeSet<AccessControlEntry>, ZkError>
where
    F: Fn(&BTreeSet<AccessControlEntry>) -> BTreeSet<AccessControlEntry>,
{
    let path = pattern.zk_path();
    for _ in 0..50 {
        let (current, version) = match read_resource(zk, pattern).await {
            Ok(v) => v,
            // Bytes we cannot read are replaced, as Kafka treats them as no ACLs.
            Err(ZkError::InvalidData { .. }) => (BTreeSet::new(), zk.exists(&path).await?.map(|s| s.version)),
            Err(e) => return Err(e),
        };
        let new = change(&current);
        if new == current && version.is_some() {
            return Ok(new);
        }
        let done = match (version, new.is_empty()) {
            (None, true) => return Ok(new),
            (None, false) => zk.create_if_absent(&path, &encode_acls(&new)).await?,
            (Some(v), true) => zk.conditional_delete(&path, v).await?,
            (Some(v), false) => zk.conditional_set_data(&path, &encode_acls(&new), v).await?.is_some(),
        };
        if done {
            zk.create_sequential_notification(acl_change_root(pattern.pattern_type), ACL_CHANGE_PREFIX, &encode_change_notification(pattern))
                .await?;
            return Ok(new);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(ZkError::InvalidData { path, reason: "too many concurrent updates".to_string() })
}

/// Adds ACLs (CreateAcls, `kafka-acls --add`), one resource at a time.
pub async fn add_acls(zk: &KafkaZkClient, bindings: &[AclBinding], authorizer: Option<&AclAuthorizer>) -> Result<(), ZkError> {
    let mut by_pattern: std::collections::BTreeMap<ResourcePattern, Vec<AccessControlEntry>> = Default::default();
    for b in bindings {
        by_pattern.entry(b.pattern.clone()).or_default().push(b.entry.clone());
    }
    for (pattern, entries) in by_pattern {
        let new = update_resource(zk, &pattern, |cur| cur.iter().cloned().chain(entries.iter().cloned()).collect()).await?;
        if let Some(a) = authorizer {
            a.update_resource(pattern, new);
        }
    }
    Ok(())
}

/// Removes the ACLs matching each filter (DeleteAcls, `kafka-acls --remove`),
/// reading the current ACLs from ZooKeeper. Returns, per filter, the ACLs removed.
pub async fn remove_acls(
    zk: &KafkaZkClient,
    filters: &[AclBindingFilter],
    authorizer: Option<&AclAuthorizer>,
) -> Result<Vec<Vec<AclBinding>>, ZkError> {
    let all = load_all(zk).await?;
    let mut removed: Vec<Vec<AclBinding>> = vec![Vec::new(); filters.len()];
    for (pattern, entries) in &all {
        let mut gone = BTreeSet::new();
        for (i, f) in filters.iter().enumerate() {
            if !f.matches_pattern(pattern) {
                continue;
            }
            for e in entries.iter().filter(|e| f.matches_entry(e)) {
                removed[i].push(AclBinding { pattern: pattern.clone(), entry: e.clone() });
                gone.insert(e.clone());
            }
        }
        if gone.is_empty() {
            continue;
        }
        let new = update_resource(zk, pattern, |cur| cur.difference(&gone).cloned().collect()).await?;
        if let Some(a) = authorizer {
            a.update_resource(pattern.clone(), new);
        }
    }
    Ok(removed)
}

/// The ACLs in ZooKeeper matching a filter (`kafka-acls --list` with `--authorizer-properties`).
pub async fn list_acls(zk: &KafkaZkClient, filter: &AclBindingFilter) -> Result<Vec<AclBinding>, ZkError> {
    let all = load_all(zk).await?;
    let a = AclAuthorizer::new("", false);
    a.replace_all(all);
    Ok(a.acls(filter))
}

/// Processes the notifications of one change store newer than `last`, in
/// sequence order, re-reading each named resource into the cache; purges
/// expired ones. Returns the new `last` and the child watch.
async fn process_changes(
    zk: &KafkaZkClient,
    authorizer: &AclAuthorizer,
    change_root: &str,
    mut last: i64,
) -> Result<(i64, zookeeper_client::OneshotWatcher), ZkError> {
    let (children, watcher) = zk.get_children_and_watch(change_root).await?;
    let mut changes: Vec<(i64, String)> = children
        .into_iter()
        .filter_map(|c| c.strip_prefix(ACL_CHANGE_PREFIX).and_then(|s| s.parse().ok()).map(|s| (s, c)))
        .collect();
    changes.sort();
    let now = crate::common::now_ms();
    for (seq, name) in changes {
        let path = format!("{change_root}/{name}");
        if seq > last {
            if let Some((data, _)) = zk.get_data(&path).await? {
                match decode_change_notification(change_root, &data) {
                    Some(pattern) => {
                        let set = match read_resource(zk, &pattern).await {
                            Ok((set, _)) => set,
                            Err(ZkError::InvalidData { path, reason }) => {
                                log::warn!("[AclAuthorizer] ignoring bad ACLs in {path}: {reason}");
                                BTreeSet::new()
                            }
                            Err(e) => return Err(e),
                        };
                        log::info!("[AclAuthorizer] processing {path}: {} ACLs on {:?}", set.len(), pattern);
                        authorizer.update_resource(pattern, set);
                    }
                    None => log::warn!(
                        "[AclAuthorizer] ignoring malformed ACL change {path}: {}",
                        String::from_utf8_lossy(&data[..data.len().min(200)])
                    ),
                }
            }
            last = seq;
        }
        if let Some(stat) = zk.exists(&path).await? {
            if now - stat.ctime > ACL_CHANGE_EXPIRATION_MS {
                let _ = zk.delete_path(&path).await;
            }
        }
    }
    Ok((last, watcher))
}

/// Kafka's `AclAuthorizer.configure` in ZooKeeper mode: creates the ACL
/// paths, loads the cache, and follows both change stores until `shutdown`.
pub async fn start(zk: KafkaZkClient, authorizer: Arc<AclAuthorizer>, shutdown: watch::Receiver<bool>) -> Result<(), ZkError> {
    create_acl_paths(&zk).await?;
    authorizer.replace_all(load_all(&zk).await?);
    log::info!("[AclAuthorizer] loaded ACLs of {} resource patterns", authorizer.snapshot().len());
    for root in [LITERAL_ACL_CHANGES_PATH, EXTENDED_ACL_CHANGES_PATH] {
        let (zk, authorizer, mut shutdown) = (zk.clone(), authorizer.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut sessions = zk.subscribe_session_reinit();
            let mut last = -1i64;
            loop {
                let watcher = match process_changes(&zk, &authorizer, root, last).await {
                    Ok((l, w)) => {
                        last = l;
                        Some(w)
                    }
                    Err(e) => {
                        log::warn!("[AclAuthorizer] processing {root} failed: {e}");
                        if matches!(e, ZkError::NoNode(_)) {
                            let _ = zk.make_sure_persistent_path_exists(root).await;
                        }
                        None
                    }
                };
                let wait = async {
                    match watcher {
                        Some(w) => {
                            let _ = tokio::time::timeout(Duration::from_secs(30), w.changed()).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(2)).await,
                    }
                };
                tokio::select! {
                    _ = wait => {}
                    _ = sessions.changed() => {
                        // a new session may have missed changes: reload everything
                        if let Ok(all) = load_all(&zk).await {
                            authorizer.replace_all(all);
                        }
                    }
                    _ = shutdown.changed() => return,
                }
                if *shutdown.borrow() {
                    return;
                }
            }
        });
    }
    Ok(())
}
