import CMosquitto
import StreamKit

/// Checks MQTT topic filters and topic names before they reach the broker.
enum MQTTTopicFilter {
    /// Throws when `filter` is not a valid subscription: `+` must fill a whole level and `#` must
    /// be the last level.
    static func validate(subscription filter: String) throws {
        guard !filter.isEmpty, mosquitto_sub_topic_check(filter) == MOSQ_ERR_SUCCESS.rawValue else {
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "invalid MQTT topic filter '\(filter)': a filter is non-empty, '+' stands alone "
                    + "between slashes (sensors/+/temperature) and '#' only as the last level (sensors/#)"
            )
        }
    }

    /// Throws when `topic` is not a valid topic to publish to: it may not contain wildcards.
    static func validate(publication topic: String) throws {
        guard !topic.isEmpty, mosquitto_pub_topic_check(topic) == MOSQ_ERR_SUCCESS.rawValue else {
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "invalid MQTT topic '\(topic)' to publish to: a topic is non-empty and has no '+' or '#'"
            )
        }
    }
}
