import ArgumentParser
import CRMPartitions
import CRMProfilesClient
import CRMProtos
import CRMRPC
import Foundation
import NIOCore

/// `crmctl partitions move|reload|resume|show`: moving a partition of profiles' customers from one
/// profiles process to another (docs/partitioning.md §8, deploy/README.md). Every step is an RPC
/// of the processes concerned (role admin); the map's change is a write of the topology file
/// those processes read.
struct PartitionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partitions",
        abstract: "Move partitions between profiles processes, or show who owns what.",
        subcommands: [Move.self, Reload.self, Resume.self, Show.self]
    )

    typealias Profiles = Crm_Profiles_V1_Profiles

    /// The topology with its map, and how to reach each owner by name.
    struct Cluster {
        let options: ClusterOptions
        let topology: Topology
        let map: PartitionMap
        let owners: PartitionTopology
        let path: String

        init(_ options: ClusterOptions) throws {
            self.options = options
            self.topology = try options.loadTopology()
            guard let map = topology.partitions, let path = topology.path else {
                throw CRMCtlError("\(options.topology) has no partitions object: one profiles process owns every partition, and nothing moves")
            }
            self.map = map
            self.path = path
            self.owners = PartitionTopology(map: map, profilesEndpoints: (topology.endpoints["profiles"] ?? []).map(\.description))
        }

        func client(ofOwner owner: String) throws -> RPCClient {
            guard let address = owners.endpoint(ofOwner: owner), let endpoint = Endpoint(address) else {
                throw CRMCtlError("\(owner) is neither profiles-N of the topology's \(owners.profilesEndpoints.count) profiles endpoints nor host:port")
            }
            return try client(endpoint)
        }

        func client(_ endpoint: Endpoint) throws -> RPCClient {
            RPCClient(configuration: ClientConfiguration(endpoints: [endpoint], security: try options.clientSecurity(), token: options.effectiveToken,
                                                         defaultDeadline: .seconds(900)))
        }

        /// Every profiles process: the topology's list, and owners named by host:port outside it.
        var everyProcess: [(name: String, endpoint: Endpoint)] {
            var all: [(name: String, endpoint: Endpoint)] = owners.profilesEndpoints.enumerated().compactMap { index, address in
                Endpoint(address).map { (PartitionTopology.instancePrefix + "\(index)", $0) }
            }
            for owner in map.owners.keys.sorted() where !owner.hasPrefix(PartitionTopology.instancePrefix) {
                if let endpoint = Endpoint(owner), !all.contains(where: { $0.endpoint == endpoint }) { all.append((owner, endpoint)) }
            }
            return all
        }

        /// Writes `map` into the topology file in place of its partitions object, keeping the rest
        /// (written whole to a temporary file, then renamed over it: a reader sees the old file or
        /// the new one).
        func write(_ map: PartitionMap) throws {
            let url = URL(fileURLWithPath: path)
            guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
                throw CRMCtlError("\(path) is not a JSON object")
            }
            object[Topology.partitionsKey] = try JSONSerialization.jsonObject(with: map.json)
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try (data + Data("\n".utf8)).write(to: url, options: .atomic)
        }

        /// ReloadPartitionMap on every process, `first` ones first; true when every one serves by
        /// `epoch`. `pushing`: each is given this map itself rather than re-reading its own file.
        func reloadEverywhere(expecting epoch: UInt64, first: [String], pushing pushed: PartitionMap? = nil) async -> Bool {
            let request = Crm_Profiles_V1_ReloadPartitionMapRequest.with { request in
                guard let pushed else { return }
                request.map = .with { map in
                    map.count = UInt32(pushed.partitioning.count)
                    map.epoch = pushed.epoch
                    map.owners = PartitionMapWire.owners(of: pushed)
                }
            }
            let processes = everyProcess.sorted { lhs, rhs in
                (first.firstIndex(of: lhs.name) ?? first.count) < (first.firstIndex(of: rhs.name) ?? first.count)
            }
            var allReloaded = true
            for process in processes {
                do {
                    let client = try client(process.endpoint)
                    defer { Task { await client.close() } }
                    let answer = try await client.unary(Profiles.reloadPartitionMap, request)
                    let changes = [answer.opened.isEmpty ? nil : "opened \(answer.opened)", answer.released.isEmpty ? nil : "released \(answer.released)"]
                        .compactMap { $0 }.joined(separator: ", ")
                    print("\(process.name) (\(process.endpoint)): map epoch \(answer.epoch), owns \(answer.partitions.isEmpty ? "none" : answer.partitions)"
                        + (changes.isEmpty ? "" : "; \(changes)"))
                    if answer.epoch < epoch {
                        allReloaded = false
                        print("  still on an older map: its topology file does not hold epoch \(epoch) yet (a ConfigMap takes up to a minute)")
                    }
                } catch {
                    allReloaded = false
                    print("\(process.name) (\(process.endpoint)): NOT reloaded: \(error)")
                }
            }
            return allReloaded
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a partition to another profiles process: copy, drain, copy the tail, change the map, reload everywhere.",
            discussion: """
            The owner pins the partition file's main part and the new owner copies it while the partition still serves; then \
            the owner stops serving the partition (calls for it get UNAVAILABLE, retryable), the new owner copies the writes \
            made since the pin (the tail), applies them and checks the result, the topology file's map gets the partition at \
            its new owner with the next epoch, and every profiles process re-reads it. The partition is refused for the \
            drain, the tail and the reload, not for the whole file's copy (--whole: drain first, then copy the file whole). Every step may be repeated after a failure: run the same command again. With --no-commit the \
            map is not written (a Kubernetes ConfigMap is changed by kubectl): the new partitions object is printed, and \
            `crmctl partitions reload --epoch N --push`, given the new topology, finishes the move at once.
            """
        )

        @Argument(help: "The partition (0 … P-1).") var partition: Int
        @Option(help: "The new owner: profiles-N or host:port.") var to: String
        @Option(help: "Finish a move whose map already gives the partition to --to but whose new owner has no copy (it restarted before the map changed): the old owner, which keeps the file until the new owner serves it.")
        var from: String?
        @Flag(help: "Drain and copy only; print the new map instead of writing the topology file.") var noCommit = false
        @Flag(help: "Copy the file whole after the drain, not while the partition serves (the partition is refused for the whole copy).")
        var whole = false
        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let cluster = try Cluster(self.cluster)
            let map = cluster.map
            guard (0..<map.partitioning.count).contains(partition) else {
                throw CRMCtlError("partition \(partition) does not exist: the map has 0-\(map.partitioning.count - 1)")
            }
            let owner = map.owner(of: partition)
            let committed = owner == to
            guard !committed || self.from != nil else {
                throw CRMCtlError("partition \(partition) is \(to)'s already (map epoch \(map.epoch)); if \(to) does not serve it (crmctl partitions "
                    + "reload says it holds no copy), finish the move with --from <the old owner>")
            }
            let from = self.from ?? owner
            guard from != to else { throw CRMCtlError("--from and --to name the same owner") }
            let next = committed ? map : try map.moving(partition, to: to)

            let source = try cluster.client(ofOwner: from)
            defer { Task { await source.close() } }
            let target = try cluster.client(ofOwner: to)
            defer { Task { await target.close() } }
            let prepared = committed || whole ? false : try await copyWhileServing(from: source, to: target, fromName: from)
            let drained = try await source.unary(Profiles.drainPartition, .with {
                $0.partition = UInt32(partition)
                $0.toOwner = to
                $0.tailSincePrepare = prepared
            })
            if drained.part == .tail {
                print("drained partition \(partition) at \(from): a tail of \(drained.sizeBytes) bytes written since the pin, SHA-256 \(drained.sha256)")
            } else {
                print("drained partition \(partition) at \(from): \(drained.sizeBytes) bytes, SHA-256 \(drained.sha256)")
            }
            let adopted = try await target.unary(Profiles.adoptPartition, .with {
                $0.partition = UInt32(partition)
                $0.fromOwner = from
                $0.part = drained.part
                $0.sizeBytes = drained.sizeBytes
                $0.sha256 = drained.sha256
                $0.preparedSizeBytes = drained.preparedSizeBytes
                $0.preparedSha256 = drained.preparedSha256
            })
            print(drained.part == .tail ? "tail copied to \(to), applied to its copy and checked: the file staged"
                : "copied to \(to) and checked: \(adopted.sizeBytes) bytes staged")

            if committed {
                print("the map (epoch \(next.epoch)) gives partition \(partition) to \(to) already")
            } else if noCommit {
                print("not committed: set the topology's partitions object to the following, then run crmctl partitions reload --epoch \(next.epoch) "
                      + "--push with that topology")
                print(String(decoding: next.json, as: UTF8.self))
                return
            } else {
                try cluster.write(next)
                print("map epoch \(next.epoch) written to \(cluster.path): partition \(partition) is \(to)'s")
            }
            guard await cluster.reloadEverywhere(expecting: next.epoch, first: [to, from]) else {
                print("the move has committed; run crmctl partitions reload --epoch \(next.epoch) until every process reloads")
                throw ExitCode(1)
            }
        }

        /// Pins the partition's main part at the owner and has the new owner copy it while the
        /// partition serves. False when the owner cannot pin it (drained already, by a move being
        /// repeated; or its log could not be emptied within the busy timeout): the file then moves
        /// whole after the drain. A failed copy ends the pin.
        private func copyWhileServing(from source: RPCClient, to target: RPCClient, fromName: String) async throws -> Bool {
            let pin: Crm_Profiles_V1_PreparePartitionMoveResponse
            do {
                pin = try await source.unary(Profiles.preparePartitionMove, .with {
                    $0.partition = UInt32(partition)
                    $0.toOwner = to
                })
            } catch let error as RPCError where error.code == .failedPrecondition || error.code == .unavailable {
                // Drained already (a repeated move), or long reads kept the log from being emptied:
                // the move goes on the first way, with a longer window.
                print("no copy while partition \(partition) serves (\(error.message)): its file is copied whole after the drain")
                return false
            }
            print("pinned partition \(partition)'s main part at \(fromName): \(pin.sizeBytes) bytes, copying it to \(to) while it serves")
            do {
                _ = try await target.unary(Profiles.adoptPartition, .with {
                    $0.partition = UInt32(partition)
                    $0.fromOwner = fromName
                    $0.part = .prepared
                    $0.sizeBytes = pin.sizeBytes
                    $0.sha256 = pin.sha256
                })
            } catch {
                _ = try? await source.unary(Profiles.resumePartition, .with { $0.partition = UInt32(partition) })
                throw error
            }
            print("main part copied to \(to) and checked")
            return true
        }
    }

    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Have every profiles process re-read the topology's map (the last step of a move).")

        @Option(help: "The epoch every process must reach; retried every second until --wait-seconds.") var epoch: UInt64?
        @Option(help: "How long to keep retrying processes behind --epoch.") var waitSeconds: Int = 120
        @Flag(help: "Give every process this command's topology map itself (--topology), so none waits for its own copy of the file (a Kubernetes ConfigMap reaches pods up to a minute late); each keeps it across restarts.")
        var push = false
        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let cluster = try Cluster(self.cluster)
            let epoch = self.epoch ?? cluster.map.epoch
            if push, epoch != cluster.map.epoch {
                throw CRMCtlError("--push gives the processes \(cluster.path)'s map, of epoch \(cluster.map.epoch), not --epoch \(epoch)")
            }
            let until = Date().addingTimeInterval(TimeInterval(waitSeconds))
            while true {
                if await cluster.reloadEverywhere(expecting: epoch, first: [], pushing: push ? cluster.map : nil) { return }
                guard Date() < until else { throw ExitCode(1) }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a move before its map changed: the owner serves the drained partition again.")

        @Argument(help: "The partition.") var partition: Int
        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let cluster = try Cluster(self.cluster)
            let owner = cluster.map.owner(of: partition)
            let client = try cluster.client(ofOwner: owner)
            defer { Task { await client.close() } }
            _ = try await client.unary(Profiles.resumePartition, .with { $0.partition = UInt32(partition) })
            print("partition \(partition) is served by \(owner) again")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each profiles process's map: epoch and owners, as it routes by them now.")

        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let cluster = try Cluster(self.cluster)
            print("topology \(cluster.path): epoch \(cluster.map.epoch)")
            for process in cluster.everyProcess {
                let client = try cluster.client(process.endpoint)
                defer { Task { await client.close() } }
                do {
                    let map = try await client.unary(Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest(),
                                                     options: CallOptions(timeout: .some(.seconds(5))))
                    let owners = map.owners.map { "\($0.name)=\($0.partitions)" }.joined(separator: " ")
                    print("\(process.name) (\(process.endpoint)): epoch \(map.epoch) \(owners)")
                } catch {
                    print("\(process.name) (\(process.endpoint)): not answering: \(error)")
                }
            }
        }
    }
}
