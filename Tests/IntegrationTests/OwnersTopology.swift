import CRMRPC
import Foundation

/// The topology file of the partitioned tests: `owners` profiles processes of `count` partitions
/// in equal runs (`profiles-0` the first, `profiles-1` the next, …). It is written first without
/// endpoints, since each process needs the file to start and the OS picks their ports, and again
/// with the endpoints once they are known (each process reads the peers' endpoints lazily), with
/// the other services' endpoints too when crmctl reads it.
struct OwnersTopology {
    let url: URL
    let count: Int
    let owners: Int

    init(in workDir: URL, count: Int, owners: Int = 2) throws {
        precondition(owners >= 2 && count % owners == 0, "owners split the partitions evenly")
        url = workDir.appendingPathComponent("topology.json")
        self.count = count
        self.owners = owners
        try write(endpoints: [])
    }

    /// `matchingGroups`: matching's partition groups (partitions, replicas), written as the
    /// topology's `matching_groups` when any.
    func write(endpoints: [String], services: [String: [String]] = [:], matchingGroups: [(partitions: String, replicas: [String])] = []) throws {
        let run = count / owners
        let map = (0..<owners).map { "\"profiles-\($0)\": \"\($0 * run)-\(($0 + 1) * run - 1)\"" }.joined(separator: ", ")
        let others = services.sorted { $0.key < $1.key }.map { service, list in
            "\"\(service)\": [\(list.map { "\"\($0)\"" }.joined(separator: ", "))],\n"
        }.joined()
        let groups = matchingGroups.isEmpty ? "" : ",\n \"matching_groups\": [" + matchingGroups.map { group in
            "{\"partitions\": \"\(group.partitions)\", \"replicas\": [\(group.replicas.map { "\"\($0)\"" }.joined(separator: ", "))]}"
        }.joined(separator: ", ") + "]"
        let text = """
        {\(others)"profiles": [\(endpoints.map { "\"\($0)\"" }.joined(separator: ", "))],
         "partitions": {"count": \(count), "epoch": 1, "owners": {\(map)}}\(groups)}
        """
        try Data(text.utf8).write(to: url, options: .atomic)
    }

    /// The setting of an owner keeping its partitions in its one store, the layout of stores made
    /// before a file per partition became a new store's default: what the tests of a feed, log
    /// and trail per owner process start with.
    static let oneFile = ["--setting", "partitions.storage=one-file"]
    /// The setting of an owner keeping a file per partition (a new store's default, said explicitly).
    static let files = ["--setting", "partitions.storage=file-per-partition"]

    /// The settings profiles-`ordinal` starts with: the partition count, this file, its owner name.
    func ownerArguments(_ ordinal: Int) -> [String] {
        ["--setting", "partitions.count=\(count)", "--setting", "partitions.topology=\(url.path)", "--setting", "partitions.owner=profiles-\(ordinal)"]
    }

    /// Starts every owner (profiles-0, … in `workDir`, each with ``ownerArguments(_:)``, then
    /// `extra`, then `perOwner(ordinal)`) and writes their endpoints into the file; stops those it
    /// started if one fails.
    func startOwners(in workDir: URL, extra: [String] = [], perOwner: (Int) -> [String] = { _ in [] }) async throws -> [ServiceProcess] {
        let processes = (0..<owners).map { ServiceProcess(service: "profiles", workDir: workDir, name: "profiles-\($0)") }
        do {
            for (ordinal, process) in processes.enumerated() {
                try await process.start(arguments: ownerArguments(ordinal) + extra + perOwner(ordinal))
            }
            try write(endpoints: processes.map { "127.0.0.1:\($0.port)" })
        } catch {
            for process in processes { process.terminate() }
            throw error
        }
        return processes
    }
}

extension ServiceProcess {
    /// A client of this process with the development admin token, a generous deadline for a busy
    /// machine, and quick retries while a peer starts.
    func adminClient() -> RPCClient {
        RPCClient(configuration: ClientConfiguration(
            endpoints: [endpoint], security: clientSecurity, token: "dev-admin-token", defaultDeadline: .seconds(60),
            initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(250)
        ))
    }
}
