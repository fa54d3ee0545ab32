//! Creating and checking the three internal topics at start-up, as Kafka Connect does
//! (`KafkaTopicBasedBackingStore`, `TopicAdmin`): created compacted when absent; an existing one
//! must be compacted, and the config topic must have exactly one partition. The messages are
//! Kafka's, so operators find the same advice.

use crate::distributed_config::TopicSettings;
use rdkafka::admin::{AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::error::RDKafkaErrorCode;
use std::time::Duration;
use tributary_runtime::error::RuntimeError;
use tributary_runtime::kafka::Admin;

/// Creates the topic if absent, then checks it. Returns whether it was created.
pub async fn ensure(admin: &Admin, topic: &TopicSettings) -> Result<bool, RuntimeError> {
    let mut new = NewTopic::new(&topic.name, topic.partitions, TopicReplication::Fixed(topic.replication_factor)).set("cleanup.policy", "compact");
    for (k, v) in &topic.configs {
        new = new.set(k, v);
    }
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let created = match admin.create_topics([&new], &opts).await {
        Ok(results) => match results.into_iter().next() {
            Some(Ok(_)) => true,
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) | None => false,
            Some(Err((_, code))) => {
                return Err(RuntimeError::Config(format!("Unable to create topic '{}' supplied via the '{}' property: {code}", topic.name, topic.property)))
            }
        },
        Err(e) => return Err(RuntimeError::kafka(format!("creating topic {}", topic.name), e)),
    };
    if created {
        tracing::info!(topic = %topic.name, partitions = topic.partitions, replication_factor = topic.replication_factor, "created internal topic");
    } else {
        check_cleanup_policy(admin, topic).await?;
    }
    Ok(created)
}

/// An existing topic must be compacted, or this cluster would eventually lose what it keeps.
/// A topic another worker has just created may not report its configs yet: asked again for a
/// few seconds, then (as Kafka does when it cannot describe a topic) logged and accepted.
async fn check_cleanup_policy(admin: &Admin, topic: &TopicSettings) -> Result<(), RuntimeError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match cleanup_policy(admin, &topic.name).await {
            Some(policy) => {
                let mut values: Vec<String> = policy.split(',').map(|p| p.trim().to_ascii_lowercase()).filter(|p| !p.is_empty()).collect();
                values.sort();
                values.dedup();
                if values != ["compact"] {
                    return Err(RuntimeError::Config(cleanup_policy_message(topic, &policy)));
                }
                return Ok(());
            }
            None if tokio::time::Instant::now() >= deadline => {
                tracing::warn!(topic = %topic.name, "cannot read the cleanup policy of the topic; assuming it is compacted");
                return Ok(());
            }
            None => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The topic's `cleanup.policy`, when the broker reports one.
async fn cleanup_policy(admin: &Admin, topic: &str) -> Option<String> {
    let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(30)));
    let described = match admin.describe_configs([&ResourceSpecifier::Topic(topic)], &opts).await {
        Ok(d) => d,
        Err(e) => {
            tracing::debug!(topic, error = %e, "describing the topic's configs failed");
            return None;
        }
    };
    let resource = described.into_iter().next()?.ok()?;
    resource.get("cleanup.policy").and_then(|e| e.value.clone()).filter(|v| !v.is_empty())
}

fn cleanup_policy_message(topic: &TopicSettings, found: &str) -> String {
    format!(
        "Topic '{t}' supplied via the '{p}' property is required to have 'cleanup.policy=compact' to guarantee consistency and durability of {what}, but found the topic currently has 'cleanup.policy={found}'. Continuing would likely result in eventually losing {what} and problems restarting this Connect cluster in the future. Change the '{p}' property in the Connect worker configurations to use a topic with 'cleanup.policy=compact'.",
        t = topic.name,
        p = topic.property,
        what = topic.purpose,
    )
}

/// The config topic keeps one total order of configs; more partitions would break it.
pub fn check_config_topic_partitions(topic: &str, partitions: usize) -> Result<(), RuntimeError> {
    if partitions > 1 {
        return Err(RuntimeError::Config(format!(
            "Topic '{topic}' supplied via the 'config.storage.topic' property is required to have a single partition in order to guarantee consistency of connector configurations, but found {partitions} partitions."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_kafkas() {
        let t = TopicSettings {
            name: "connect-status".into(),
            property: "status.storage.topic",
            partitions: 5,
            replication_factor: 1,
            configs: Default::default(),
            purpose: "connector and task statuses",
        };
        assert_eq!(
            cleanup_policy_message(&t, "delete"),
            "Topic 'connect-status' supplied via the 'status.storage.topic' property is required to have 'cleanup.policy=compact' to guarantee consistency and durability of connector and task statuses, but found the topic currently has 'cleanup.policy=delete'. Continuing would likely result in eventually losing connector and task statuses and problems restarting this Connect cluster in the future. Change the 'status.storage.topic' property in the Connect worker configurations to use a topic with 'cleanup.policy=compact'."
        );
        assert!(check_config_topic_partitions("c", 1).is_ok());
        assert_eq!(
            check_config_topic_partitions("c", 3).expect_err("three").to_string(),
            "Topic 'c' supplied via the 'config.storage.topic' property is required to have a single partition in order to guarantee consistency of connector configurations, but found 3 partitions."
        );
    }
}
