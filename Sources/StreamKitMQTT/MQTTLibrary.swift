import CMosquitto

/// The libmosquitto library StreamKit's MQTT connector is built on.
///
/// The MQTT source and sink arrive with the connector issue; this target already links
/// libmosquitto (Debian: `libmosquitto-dev`) through the `CMosquitto` system-library target.
public enum MQTTLibrary {
    /// The version of the libmosquitto the program runs with, as `major.minor.revision`.
    public static var version: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var revision: Int32 = 0
        mosquitto_lib_version(&major, &minor, &revision)
        return "\(major).\(minor).\(revision)"
    }
}
