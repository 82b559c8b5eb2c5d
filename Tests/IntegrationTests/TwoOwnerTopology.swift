import CRMRPC
import Foundation

/// The topology file of the partitioned tests: two profiles owners of `count` partitions
/// (`profiles-0` the first half, `profiles-1` the second). It is written first without endpoints,
/// since each process needs the file to start and the OS picks their ports, and again with the
/// endpoints once they are known (each process reads the peers' endpoints lazily).
struct TwoOwnerTopology {
    let url: URL
    let count: Int

    init(in workDir: URL, count: Int) throws {
        url = workDir.appendingPathComponent("topology.json")
        self.count = count
        try write(endpoints: [])
    }

    func write(endpoints: [String]) throws {
        let half = count / 2
        let text = """
        {"profiles": [\(endpoints.map { "\"\($0)\"" }.joined(separator: ", "))],
         "partitions": {"count": \(count), "epoch": 1, "owners": {"profiles-0": "0-\(half - 1)", "profiles-1": "\(half)-\(count - 1)"}}}
        """
        try Data(text.utf8).write(to: url, options: .atomic)
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
