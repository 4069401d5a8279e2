/// The flows as the example's outputs name them: snake_case columns for the tables, and words for
/// people in the report and on the console.
extension Flow {
    /// The column in the example's tables, such as `fr_ch_mwh`.
    public var outputColumn: String { column.lowercased() }

    /// The partner country's name in English, such as `France`.
    public var partnerName: String { ["Austria", "Germany", "France", "Italy"][rawValue % 4] }

    /// The flow in words, such as `France → Switzerland`.
    public var label: String { isImport ? "\(partnerName) → Switzerland" : "Switzerland → \(partnerName)" }

    /// The flow of a column name of the file (`FR_CH_MWh`) or of the tables (`fr_ch_mwh`).
    public init?(column: String) {
        guard let flow = Flow.allCases.first(where: { $0.column.lowercased() == column.lowercased() }) else {
            return nil
        }
        self = flow
    }
}
