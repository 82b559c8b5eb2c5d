/// One sample of a Prometheus text exposition: `name{label="value",...} number`.
struct MetricSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Reads the Prometheus text format (version 0.0.4) the services serve: comments skipped, label
/// values unescaped, timestamps ignored.
enum MetricsText {
    static func parse(_ text: String) -> [MetricSample] {
        text.split(separator: "\n").compactMap { line in
            line.hasPrefix("#") ? nil : sample(Substring(line))
        }
    }

    static func sample(_ line: Substring) -> MetricSample? {
        var labels: [String: String] = [:]
        var rest: Substring
        let name: Substring
        if let brace = line.firstIndex(of: "{") {
            name = line[..<brace]
            var index = line.index(after: brace)
            // key="value" pairs separated by commas, up to the closing brace.
            while index < line.endIndex, line[index] != "}" {
                guard let equals = line[index...].firstIndex(of: "=") else { return nil }
                let key = line[index..<equals].trimmingCharacters(in: [",", " "])
                var cursor = line.index(after: equals)
                guard cursor < line.endIndex, line[cursor] == "\"" else { return nil }
                cursor = line.index(after: cursor)
                var value = ""
                while cursor < line.endIndex, line[cursor] != "\"" {
                    if line[cursor] == "\\" {
                        cursor = line.index(after: cursor)
                        guard cursor < line.endIndex else { return nil }
                        value.append(line[cursor] == "n" ? "\n" : line[cursor])
                    } else {
                        value.append(line[cursor])
                    }
                    cursor = line.index(after: cursor)
                }
                guard cursor < line.endIndex else { return nil }
                labels[String(key)] = value
                index = line.index(after: cursor)
                if index < line.endIndex, line[index] == "," { index = line.index(after: index) }
            }
            guard index < line.endIndex else { return nil }
            rest = line[line.index(after: index)...]
        } else {
            guard let space = line.firstIndex(of: " ") else { return nil }
            name = line[..<space]
            rest = line[space...]
        }
        rest = rest.drop(while: { $0 == " " })
        let number = rest.split(separator: " ").first.map(String.init) ?? ""
        let value: Double
        switch number {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let parsed = Double(number) else { return nil }
            value = parsed
        }
        return MetricSample(name: String(name), labels: labels, value: value)
    }

    /// The `q` quantile (0...1) of the observations between two cumulative histograms (bucket
    /// upper bound → count), interpolated within the bucket as Prometheus' histogram_quantile does;
    /// nil when nothing was observed.
    static func quantile(_ q: Double, before: [Double: Double], after: [Double: Double]) -> Double? {
        let bounds = after.keys.sorted()
        let counts = bounds.map { max(0, (after[$0] ?? 0) - (before[$0] ?? 0)) }
        guard let total = counts.last, total > 0 else { return nil }
        let rank = q * total
        var lower = 0.0, below = 0.0
        for (bound, count) in zip(bounds, counts) {
            if count >= rank {
                if bound == .infinity { return lower }
                let inBucket = count - below
                return inBucket > 0 ? lower + (bound - lower) * (rank - below) / inBucket : bound
            }
            lower = bound
            below = count
        }
        return lower
    }
}
