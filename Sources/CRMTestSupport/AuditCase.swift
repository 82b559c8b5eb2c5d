import CRMAudit
import CRMRPC

/// One row of a service's table of audited methods: a real call of the method and the record it
/// must leave in the trail (who, which method, which customers or which rule and count, which
/// status). Services' tests walk their table and check it covers every method the router audits,
/// so a method added with an audit rule and no row fails the test.
public struct AuditCase: Sendable {
    public var method: String
    public var principal: String
    /// The customers the record must name, in any order.
    public var customers: Set<String>
    public var rule: String
    public var count: UInt64?
    public var status: StatusCode
    public var call: @Sendable () async throws -> Void

    public init(_ method: String, principal: String, customers: Set<String>, rule: String = "", count: UInt64? = nil, status: StatusCode = .ok,
                call: @escaping @Sendable () async throws -> Void) {
        self.method = method
        self.principal = principal
        self.customers = customers
        self.rule = rule
        self.count = count
        self.status = status
        self.call = call
    }

    /// Makes the call and returns how what it left in `trail` differs from this row (empty: it
    /// left exactly one record, and that record is the row's). The caller's status must be the
    /// row's too: the record says what the caller got.
    public func mismatches(in trail: AuditTrail) async throws -> [String] {
        let before = trail.head.sequence
        let got = await statusOf { try await call() }?.code ?? .ok
        let records = try await trail.records(matching: AuditFilter(), after: before, limit: 10)
        var problems: [String] = []
        if got != status { problems.append("the caller got \(got), not \(status)") }
        guard records.count == 1, let record = records.first?.call else {
            return problems + ["\(records.count) records instead of one: \(records.map(\.call.method))"]
        }
        if record.method != method { problems.append("method \(record.method)") }
        if record.principal != principal { problems.append("principal \(record.principal), not \(principal)") }
        if Set(record.subjectIDs) != customers { problems.append("customers \(record.subjectIDs.sorted()), not \(customers.sorted())") }
        if record.aggregateRule != rule { problems.append("rule '\(record.aggregateRule)', not '\(rule)'") }
        if record.aggregateCount != count { problems.append("count \(record.aggregateCount.map(String.init) ?? "none"), not \(count.map(String.init) ?? "none")") }
        if record.status != got { problems.append("status \(record.status) recorded, the caller got \(got)") }
        return problems
    }
}
