/// The other costs of a trade besides exchange and regulatory fees (e.g. a transfer fee, a channel
/// cost), each a rate of the trade's amount, from the `trade_costs` setting. Computed once per trade
/// when its event is recorded and kept with it; a scheme lists which of them net commission deducts.
///
/// The setting is `name=rate,name=rate`, each rate in basis points of the trade amount with at most
/// four decimals (`transfer=0.1` is 0.001 % of the amount). Each cost is one line item: amount × rate,
/// rounded once, half away from zero (``FenArithmetic``).
public struct TradeCostSchedule: Sendable, Hashable {
    /// One named rate, in hundred-millionths of the amount (1 bp = 10 000).
    public struct Rate: Sendable, Hashable {
        public var name: String
        public var partsPerHundredMillion: Int64

        public init(name: String, partsPerHundredMillion: Int64) {
            self.name = name
            self.partsPerHundredMillion = partsPerHundredMillion
        }
    }

    public static let scale: Int64 = 100_000_000

    public var rates: [Rate]

    public init(rates: [Rate] = []) { self.rates = rates }

    /// Parses the setting; nil with the reason when it is malformed.
    public static func parse(_ text: String) -> Result<TradeCostSchedule, SettlementError> {
        var rates: [Rate] = []
        var seen: Set<String> = []
        for (index, part) in text.split(separator: ",").enumerated() {
            let field = "trade_costs[\(index)]"
            let pieces = part.split(separator: "=", maxSplits: 1).map { trimmed($0) }
            guard pieces.count == 2, !pieces[0].isEmpty,
                  pieces[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                return .failure(.invalid([SettlementViolation(field: field, description: "'\(part)' is not name=rate_bp")]))
            }
            guard let rate = parseBasisPoints(pieces[1]) else {
                return .failure(.invalid([SettlementViolation(field: field, description: "'\(pieces[1])' is not a rate in bp with at most four decimals (0–10000)")]))
            }
            guard seen.insert(pieces[0]).inserted else {
                return .failure(.invalid([SettlementViolation(field: field, description: "\(pieces[0]) is listed twice")]))
            }
            rates.append(Rate(name: pieces[0], partsPerHundredMillion: rate))
        }
        return .success(TradeCostSchedule(rates: rates))
    }

    /// "0.1" → 1 000 (hundred-millionths); nil for anything but a decimal of at most four places
    /// from 0 to 10 000 bp.
    static func parseBasisPoints(_ text: String) -> Int64? {
        guard let result = DecimalText.scaled(text, places: 4, wholeDigits: 5) else { return nil }
        return result <= Int64(BasisPoints.scale) * 10_000 ? result : nil
    }

    /// The costs of a trade of `amountFen`, in the schedule's order; zero costs are left out.
    public func costs(ofTradeAmount amountFen: Int64) -> [NamedCost] {
        rates.compactMap { rate in
            let fen = FenArithmetic.rounded(Int128(amountFen) * Int128(rate.partsPerHundredMillion), dividedBy: Int128(Self.scale))
            return fen == 0 ? nil : NamedCost(name: rate.name, fen: fen)
        }
    }

    /// "transfer=0.1bp" text for health and documentation.
    public var description: String {
        rates.map { rate in
            let whole = rate.partsPerHundredMillion / 10_000
            var fraction = String(rate.partsPerHundredMillion % 10_000)
            fraction = String(repeating: "0", count: 4 - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            return "\(rate.name)=\(whole)\(fraction.isEmpty ? "" : "." + fraction) bp"
        }.joined(separator: ", ")
    }
}

private func trimmed(_ text: Substring) -> String {
    String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
}

