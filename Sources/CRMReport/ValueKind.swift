/// What a chart's values are, for its axis labels.
public enum ValueKind: Sendable, Equatable {
    /// Customers, orders: whole numbers with separators.
    case count
    /// Fen, labelled in yuan (万, 亿).
    case money
    /// Ratios 0…1, labelled as percents.
    case percent

    /// The label of an axis tick.
    public func tickLabel(_ value: Double) -> String {
        switch self {
        case .count:
            return value == value.rounded() ? Format.count(Int64(value)) : Format.decimal(value, places: 1)
        case .money:
            return value <= 0 ? "0" : Format.money(fen: Int64(value.rounded()))
        case .percent:
            let percent = value * 100
            return Format.decimal(percent, places: abs(percent - percent.rounded()) < 1e-9 ? 0 : 1) + "%"
        }
    }
}
