/// A plain-text table for the terminal, its columns aligned by display width (a Chinese name takes
/// two columns per character), numbers right-aligned.
public struct TextTable: Sendable {
    public enum Alignment: Sendable { case left, right }

    public struct Column: Sendable {
        public var title: String
        public var alignment: Alignment
        /// Longer cells are cut with "…"; nil = no limit.
        public var maximumWidth: Int?

        public init(_ title: String, _ alignment: Alignment = .left, maximumWidth: Int? = nil) {
            self.title = title
            self.alignment = alignment
            self.maximumWidth = maximumWidth
        }
    }

    public var columns: [Column]
    public var rows: [[String]] = []
    /// Put before every line (e.g. an indent).
    public var indent: String

    public init(_ columns: [Column], indent: String = "  ") {
        self.columns = columns
        self.indent = indent
    }

    public mutating func append(_ row: [String]) {
        rows.append(row)
    }

    /// The header, a rule under it, then the rows; no trailing spaces on any line.
    public func render() -> String {
        let cells = ([columns.map(\.title)] + rows).map { row in
            columns.indices.map { index -> String in
                let text = index < row.count ? row[index] : ""
                return columns[index].maximumWidth.map { DisplayWidth.truncate(text, to: $0) } ?? text
            }
        }
        let widths = columns.indices.map { index in cells.map { DisplayWidth.of($0[index]) }.max() ?? 0 }
        func line(_ row: [String]) -> String {
            let parts = columns.indices.map { index in
                DisplayWidth.pad(row[index], to: widths[index], right: columns[index].alignment == .right)
            }
            return indent + String(parts.joined(separator: "  ").reversed().drop { $0 == " " }.reversed())
        }
        var lines = [line(cells[0])]
        lines.append(indent + widths.map { String(repeating: "─", count: $0) }.joined(separator: "  "))
        lines += cells.dropFirst().map(line)
        return lines.joined(separator: "\n")
    }
}

/// "label  value" lines with the labels padded to one width, for a record's fields.
public struct KeyValueList: Sendable {
    public var pairs: [(String, String)] = []
    public var indent: String

    public init(indent: String = "  ") {
        self.indent = indent
    }

    public mutating func append(_ label: String, _ value: String) {
        pairs.append((label, value))
    }

    public func render() -> String {
        let width = pairs.map { DisplayWidth.of($0.0) }.max() ?? 0
        return pairs.map { label, value in
            String((indent + DisplayWidth.pad(label, to: width) + "  " + value).reversed().drop { $0 == " " }.reversed())
        }.joined(separator: "\n")
    }
}
