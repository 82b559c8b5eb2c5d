/// The checks every request of the contract passes before a handler sees it, whatever the method:
/// no string holds U+0000 (C clients and SQLite's C API end a string there, so the text would be
/// silently cut), no string is longer than its field's limit, and every date is a real calendar
/// date. Each message type's `checkFields` is generated from proto/ by scripts/generate-proto.sh
/// (protoc-gen-crm), the limits from the fields' comments ("At most N bytes"; 256 otherwise).
public protocol FieldChecked {
    /// Adds a problem for every field of this message (and the messages inside it) that breaks
    /// the contract's rules.
    func checkFields(_ problems: inout FieldProblems)
}

extension FieldChecked {
    /// The problems of this message as a request, each with the path of its field
    /// (`customer.name`, `trades[12].instrument`, `details["key"]`); empty when it is clean.
    public func fieldProblems() -> [FieldProblems.Problem] {
        var problems = FieldProblems()
        checkFields(&problems)
        return problems.found
    }
}

/// What the generated checks found, and where they are in the message while they look.
///
/// The path is kept as a stack of static names and indexes and turned into text only when a
/// problem is found, so a clean request (nearly all of them) costs no allocation.
public struct FieldProblems: Sendable {
    public struct Problem: Sendable, Hashable {
        public let field: String
        public let description: String
    }

    /// The strings a field holds when its comment gives no limit.
    public static let defaultMaxBytes = 256

    public private(set) var found: [Problem] = []
    private var path: [Component] = []

    private enum Component: Sendable {
        case field(StaticString)
        case element(StaticString, Int)
        case entry(StaticString, String)
    }

    public init() {}

    public var isEmpty: Bool { found.isEmpty }

    // MARK: Descending into messages

    public mutating func enter(_ name: StaticString) { path.append(.field(name)) }
    public mutating func enter(_ name: StaticString, index: Int) { path.append(.element(name, index)) }
    public mutating func enter(_ name: StaticString, key: String) { path.append(.entry(name, key)) }
    public mutating func leave() { path.removeLast() }

    // MARK: Checks

    /// A string field: no U+0000, at most `maxBytes` bytes of UTF-8.
    public mutating func checkText(_ value: String, _ name: StaticString, maxBytes: Int) {
        guard let problem = Self.problem(text: value, maxBytes: maxBytes) else { return }
        report(.field(name), problem)
    }

    /// One element of a repeated string field.
    public mutating func checkText(_ value: String, _ name: StaticString, index: Int, maxBytes: Int) {
        guard let problem = Self.problem(text: value, maxBytes: maxBytes) else { return }
        report(.element(name, index), problem)
    }

    /// A key or value of a map field (`key` is the entry's key, as sent).
    public mutating func checkText(_ value: String, _ name: StaticString, key: String, maxBytes: Int) {
        guard let problem = Self.problem(text: value, maxBytes: maxBytes) else { return }
        report(.entry(name, key), problem)
    }

    /// A date field that is present: a real calendar date.
    public mutating func checkDate(_ date: Crm_Common_V1_Date, _ name: StaticString) {
        guard !date.isValid else { return }
        report(.field(name), "\(date.year)-\(date.month)-\(date.day) is not a calendar date (year 1–9999, month 1–12, a day of that month)")
    }

    public mutating func checkDate(_ date: Crm_Common_V1_Date, _ name: StaticString, index: Int) {
        guard !date.isValid else { return }
        report(.element(name, index), "\(date.year)-\(date.month)-\(date.day) is not a calendar date (year 1–9999, month 1–12, a day of that month)")
    }

    static func problem(text: String, maxBytes: Int) -> String? {
        let utf8 = text.utf8
        if utf8.count > maxBytes {
            return "is \(utf8.count) bytes long; at most \(maxBytes) bytes of UTF-8"
        }
        if utf8.contains(0) {
            return "contains the character U+0000, which no text field may hold"
        }
        return nil
    }

    private mutating func report(_ last: Component, _ description: String) {
        found.append(Problem(field: (path + [last]).map(Self.text).joined(separator: "."), description: description))
    }

    private static func text(_ component: Component) -> String {
        switch component {
        case let .field(name): return "\(name)"
        case let .element(name, index): return "\(name)[\(index)]"
        case let .entry(name, key): return "\(name)[\"\(key.replacingNULs())\"]"
        }
    }
}

extension String {
    /// The text with each U+0000 shown as `\0`, so a path or message that quotes it stays whole.
    func replacingNULs() -> String {
        guard utf8.contains(0) else { return self }
        return String(decoding: utf8.flatMap { $0 == 0 ? Array("\\0".utf8) : [$0] }, as: UTF8.self)
    }
}
