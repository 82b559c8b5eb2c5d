import CRMPartitions
import CRMProtos
import CRMRPC
import Foundation
import GRDB
import Testing

/// `crmctl audit query|verify|export` against the real profiles executable over TLS: what a
/// compliance officer runs, its output and exit codes, and who it runs as.
@Suite struct AuditCommandTests {
    func crmctl(_ arguments: [String], workDir: URL, name: String) async throws -> (status: Int32, output: String, error: String) {
        let command = try CommandProcess(ServiceProcess.binaryDir.appendingPathComponent("crmctl"), arguments, workDir: workDir, name: name)
        let status = await command.exit()
        return (status, command.standardOutput, command.standardError)
    }

    @Test func queryVerifyAndExportTheTrailAsComplianceAndRefuseOthers() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let profiles = ServiceProcess(service: "profiles", workDir: dir)
        defer { profiles.terminate() }
        try await profiles.start()
        let topology = dir.appendingPathComponent("topology.json")
        try Data(#"{"profiles": ["127.0.0.1:\#(profiles.port)"]}"#.utf8).write(to: topology)
        let common = ["profiles", "--topology", topology.path, "--data-dir", dir.path]

        // Two audited calls by the development admin token (principal "ops").
        let client = RPCClient(configuration: ClientConfiguration(endpoints: [profiles.endpoint], security: profiles.clientSecurity, token: "dev-admin-token"))
        _ = try await client.unary(Crm_Profiles_V1_Profiles.upsertCustomer, .with {
            $0.customer = .with {
                $0.customerID = "C000001"; $0.kind = .individual; $0.name = "Wang Fang"; $0.branchID = "B01"; $0.managerID = "M0001"
                $0.status = .normal; $0.openDate = .init(year: 2019, month: 3, day: 14)
            }
        })
        _ = try await client.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = "C000001" })
        await client.close()

        // Who saw C000001: one JSON record a line, oldest first, by the development compliance token.
        let query = try await crmctl(["audit", "query"] + common + ["--customer", "C000001"], workDir: dir, name: "audit-query")
        #expect(query.status == 0, "\(query.error)")
        let records = try query.output.split(separator: "\n").map { try Crm_Audit_V1_AuditRecord(jsonString: String($0)) }
        #expect(records.map(\.method) == ["/crm.profiles.v1.Profiles/UpsertCustomer", "/crm.profiles.v1.Profiles/GetCustomer"])
        #expect(records.allSatisfy { $0.principal == "ops" && $0.customerIds == ["C000001"] && $0.status == 0 })

        let intact = try await crmctl(["audit", "verify"] + common, workDir: dir, name: "audit-verify")
        #expect(intact.status == 0, "\(intact.error)")
        let verified = try Crm_Audit_V1_VerifyAuditChainResponse(jsonString: intact.output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(verified.intact && verified.recordsChecked == 2)

        // The archive: the anchor (genesis) line, then both records.
        let archive = dir.appendingPathComponent("audit.jsonl")
        let export = try await crmctl(["audit", "export"] + common + ["--output", archive.path], workDir: dir, name: "audit-export")
        #expect(export.status == 0, "\(export.error)")
        #expect(export.error.contains("exported 2 records"))
        let lines = try String(contentsOf: archive, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)

        // Not compliance: the admin token, and the operator's client certificate alone (no token
        // is sent with a certificate, so the call runs as the certificate's principal, ops).
        let asAdmin = try await crmctl(["audit", "query"] + common + ["--token", "dev-admin-token"], workDir: dir, name: "audit-admin")
        #expect(asAdmin.status != 0)
        #expect(asAdmin.error.contains("PERMISSION_DENIED"), "\(asAdmin.error)")
        let certs = dir.appendingPathComponent("certs")
        let asCertificate = try await crmctl(["audit", "verify"] + common + ["--tls-certificate", certs.appendingPathComponent("ops.crt").path,
                                                                               "--tls-key", certs.appendingPathComponent("ops.key").path],
                                             workDir: dir, name: "audit-certificate")
        #expect(asCertificate.status != 0)
        #expect(asCertificate.error.contains("ops") && asCertificate.error.contains("PERMISSION_DENIED"), "\(asCertificate.error)")

        // Someone edits the store behind the service's back: verify exits 1 naming the record.
        let outside = try DatabaseQueue(path: profiles.databasePath)
        try await outside.write { db in try db.execute(sql: "UPDATE audit_record SET principal = 'nobody' WHERE sequence = 2") }
        try outside.close()
        let tampered = try await crmctl(["audit", "verify"] + common, workDir: dir, name: "audit-tampered")
        #expect(tampered.status == 1)
        let broken = try Crm_Audit_V1_VerifyAuditChainResponse(jsonString: tampered.output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(!broken.intact && broken.problem == .recordChanged && broken.position == 2)
    }

    /// A service run as several processes (two profiles processes owning partitions): each keeps
    /// its own trail, so crmctl asks each one — one client per process, not a round robin whose
    /// pages would come from different trails — and names the process on every line.
    @Test func everyProcessOfAServiceIsQueriedAndVerifiedOnItsOwn() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-audit-owners-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let topology = try OwnersTopology(in: dir, count: 4)
        let owners = try await topology.startOwners(in: dir)
        defer { for process in owners { process.terminate() } }
        let common = ["profiles", "--topology", topology.url.path, "--data-dir", dir.path]
        let endpoints = owners.map { "127.0.0.1:\($0.port)" }

        // Customers of both owners, each written and read through profiles-0 (which forwards).
        let client = owners[0].adminClient()
        let partitioning = try Partitioning(count: 4)
        let ids = (1...8).map { String(format: "A%06d", $0) }
        let secondOwners = try #require(ids.first { partitioning.partition(of: $0) >= 2 })
        for id in ids {
            _ = try await client.unary(Crm_Profiles_V1_Profiles.upsertCustomer, .with {
                $0.customer = .with {
                    $0.customerID = id; $0.kind = .individual; $0.name = "Customer \(id)"; $0.branchID = "B01"; $0.managerID = "M0001"
                    $0.status = .normal; $0.openDate = .init(year: 2019, month: 3, day: 14)
                }
            })
            _ = try await client.unary(Crm_Profiles_V1_Profiles.getCustomer, .with { $0.customerID = id })
        }
        await client.close()

        let query = try await crmctl(["audit", "query"] + common + ["--customer", secondOwners], workDir: dir, name: "owners-query")
        #expect(query.status == 0, "\(query.error)")
        struct Line: Decodable { let process: String }
        let lines = query.output.split(separator: "\n").map(String.init)
        let processes = try lines.map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)).process }
        let records = try lines.map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let record = try JSONSerialization.data(withJSONObject: try #require(object["record"]))
            return try Crm_Audit_V1_AuditRecord(jsonUTF8Data: record)
        }
        // The owner recorded both calls for its customer (the forwarding process's record, if any,
        // is its own line naming profiles-0).
        let ownersRecords = zip(processes, records).filter { $0.0 == endpoints[1] }.map(\.1.method)
        #expect(ownersRecords == ["/crm.profiles.v1.Profiles/UpsertCustomer", "/crm.profiles.v1.Profiles/GetCustomer"], "\(query.output)")
        #expect(records.allSatisfy { $0.customerIds == [secondOwners] })

        let verify = try await crmctl(["audit", "verify"] + common, workDir: dir, name: "owners-verify")
        #expect(verify.status == 0, "\(verify.error)")
        let verified = verify.output.split(separator: "\n").map(String.init)
        #expect(verified.count == 2 && zip(verified, endpoints).allSatisfy { $0.contains("\"process\":\"\($1)\"") && $0.contains("\"intact\":true") },
                "\(verify.output)")

        // An archive is one chain: one process at a time.
        let refused = try await crmctl(["audit", "export"] + common, workDir: dir, name: "owners-export-all")
        #expect(refused.status != 0 && refused.error.contains("--process"), "\(refused.error)")
        let archive = dir.appendingPathComponent("owner-1.jsonl")
        let export = try await crmctl(["audit", "export"] + common + ["--process", endpoints[1], "--output", archive.path], workDir: dir, name: "owners-export")
        #expect(export.status == 0, "\(export.error)")
        let unknown = try await crmctl(["audit", "verify"] + common + ["--process", "127.0.0.1:1"], workDir: dir, name: "owners-unknown")
        #expect(unknown.status != 0 && unknown.error.contains("is not a process of profiles"), "\(unknown.error)")
    }
}
