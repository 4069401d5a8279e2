/// The colours of the examples' charts, one per meaning across every chart of a page: imports
/// are always red and exports always green, and no partner country takes either colour.
public enum Palette {
    /// Flows into Switzerland, and net import.
    public static let imports = "#c0392b"
    /// Flows out of Switzerland, and net export.
    public static let exports = "#1e8449"
    /// The partner countries, by code: none is red or green, so that a colour means one thing.
    public static let partners: [String: String] = [
        "AT": "#7d3c98", "DE": "#5d6d7e", "FR": "#2e86c1", "IT": "#d68910",
    ]
    /// A sensor's minute means.
    public static let mean = "#1f6fd1"
    /// A sensor's min–max range.
    public static let range = "#8fb8ef"
    /// Readings outside the sensor's valid range.
    public static let outOfRange = "#c0392b"
    /// Readings that came after their minute was closed.
    public static let late = "#e67e22"
    /// Messages that could not be read.
    public static let malformed = "#7d3c98"
}
