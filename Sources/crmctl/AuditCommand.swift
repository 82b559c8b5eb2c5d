import ArgumentParser
import CRMProtos
import CRMRPC
import Foundation
import SwiftProtobuf

/// `crmctl audit query|verify|export SERVICE`: a compliance officer's view of one service's audit
/// trail (proto/README.md §8.1). Runs as the compliance role: `--token`, `$CRM_TOKEN`, a client
/// certificate's principal, else the development compliance token.
///
/// Each process keeps its own trail (its own sequence and hash chain): a service run as several
/// processes (profiles owning partitions, matching replicas) is queried and verified process by
/// process — one client per endpoint, never a round robin, whose pages would come from different
/// trails — and the records are merged by time, each line then naming its process.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Query, verify or export a service's audit trail (role compliance).",
        subcommands: [Query.self, Verify.self, Export.self]
    )

    struct Target: ParsableArguments {
        @Argument(help: "profiles, products, matching or compensation.")
        var service: String
        @Option(help: "One process of the service (HOST:PORT, as the topology lists it); default: every process.")
        var process: String?
        @OptionGroup var cluster: ClusterOptions

        /// One client per process asked, with the process's endpoint.
        func clients() throws -> [(process: String, client: RPCClient)] {
            let token = cluster.token ?? ProcessEnvironment.value("CRM_TOKEN")
                ?? (cluster.tlsCertificate == nil ? Topology.developmentComplianceToken : nil)
            let listed = try cluster.loadTopology().endpoints(of: service)
            let endpoints: [Endpoint]
            if let process {
                guard let endpoint = listed.first(where: { $0.description == process }) else {
                    throw CRMCtlError("\(process) is not a process of \(service) in the topology (its processes: \(listed.map(\.description).joined(separator: ", ")))")
                }
                endpoints = [endpoint]
            } else {
                endpoints = listed
            }
            let security = try cluster.clientSecurity()
            return endpoints.map { endpoint in
                (endpoint.description, RPCClient(configuration: ClientConfiguration(endpoints: [endpoint], security: security, token: token,
                                                                                   defaultDeadline: .seconds(600))))
            }
        }
    }

    /// Who saw a customer, what a principal did, what happened in a time range: every page of every
    /// process, one record a line (protobuf JSON), oldest first. With several processes each line
    /// is `{"process": "HOST:PORT", "record": {…}}`.
    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Records by customer, principal and time range, one JSON line each.")
        @OptionGroup var target: Target
        @Option(help: "Records naming this customer.") var customer: String?
        @Option(help: "Records of this principal.") var principal: String?
        @Option(help: "From this time (ISO 8601, e.g. 2026-01-01T00:00:00+08:00), inclusive.") var from: String?
        @Option(help: "Until this time (ISO 8601), exclusive.") var to: String?

        func run() async throws {
            let clients = try target.clients()
            defer { Task { for (_, client) in clients { await client.close() } } }
            var request = Crm_Audit_V1_QueryAuditRequest()
            request.customerID = customer ?? ""
            request.principal = principal ?? ""
            if let from {
                let millis = try AuditCommand.millis(from)
                request.from = .with { $0.unixMillis = millis }
            }
            if let to {
                let millis = try AuditCommand.millis(to)
                request.to = .with { $0.unixMillis = millis }
            }
            var records: [(process: String, record: Crm_Audit_V1_AuditRecord)] = []
            for (process, client) in clients {
                var paging = request
                repeat {
                    let page = try await client.unary(Crm_Audit_V1_Audit.queryAudit, paging)
                    records += page.records.map { (process, $0) }
                    paging.page.pageToken = page.page.nextPageToken
                } while !paging.page.pageToken.isEmpty
            }
            if clients.count == 1 {
                for (_, record) in records { print(try record.jsonString()) }
                return
            }
            records.sort { ($0.record.time.unixMillis, $0.process, $0.record.sequence) < ($1.record.time.unixMillis, $1.process, $1.record.sequence) }
            for (process, record) in records {
                print(#"{"process":"\#(process)","record":\#(try record.jsonString())}"#)
            }
        }
    }

    /// Checks each process's chain (one JSON result a line; with several processes each line is
    /// `{"process": …, "result": {…}}`); exits 1 when any is not intact.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the trail's hash chain; exit 1 at the first record found wrong.")
        @OptionGroup var target: Target

        func run() async throws {
            let clients = try target.clients()
            defer { Task { for (_, client) in clients { await client.close() } } }
            var intact = true
            for (process, client) in clients {
                let result = try await client.unary(Crm_Audit_V1_Audit.verifyAuditChain, Crm_Audit_V1_VerifyAuditChainRequest())
                print(clients.count == 1 ? try result.jsonString() : #"{"process":"\#(process)","result":\#(try result.jsonString())}"#)
                intact = intact && result.intact
            }
            if !intact { throw ExitCode(1) }
        }
    }

    /// The archive form: the anchor line first, then each record, as JSON lines. A later export
    /// starts `--after` the last sequence archived and its anchor is that record's hash, so the
    /// archives chain together and each verifies on its own (§8.1's encoding).
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the trail as JSON lines (the anchor, then each record) for archive.")

        @OptionGroup var target: Target
        @Option(help: "Records after this sequence (0: from the start).") var after: UInt64 = 0
        @Option(help: "Up to this sequence (default: the last).") var through: UInt64 = 0
        @Option(help: "File to write (default: standard output).") var output: String?

        func run() async throws {
            let clients = try target.clients()
            defer { Task { for (_, client) in clients { await client.close() } } }
            guard clients.count == 1, let client = clients.first?.client else {
                throw CRMCtlError("\(target.service) runs as \(clients.count) processes, each with its own chain: export each with --process "
                                  + clients.map(\.process).joined(separator: " / "))
            }
            var lines = ""
            let stream = try await client.serverStreaming(Crm_Audit_V1_Audit.exportAudit, .with {
                $0.afterSequence = after
                $0.throughSequence = through
            })
            var count = 0
            for try await chunk in stream {
                lines += try chunk.jsonString() + "\n"
                if case .record? = chunk.kind { count += 1 }
                if output == nil, lines.utf8.count > 1 << 20 {
                    print(lines, terminator: "")
                    lines = ""
                }
            }
            if let output {
                try Data(lines.utf8).write(to: URL(fileURLWithPath: output))
                FileHandle.standardError.write(Data("exported \(count) records to \(output)\n".utf8))
            } else {
                print(lines, terminator: "")
            }
        }
    }

    static func millis(_ text: String) throws -> Int64 {
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: text) else { throw CRMCtlError("\(text) is not an ISO 8601 time like 2026-01-01T00:00:00+08:00") }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}
