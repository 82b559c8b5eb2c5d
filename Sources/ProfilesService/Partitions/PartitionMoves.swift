import CRMPartitions
import CRMProfilesClient
import CRMProtos
import CRMRPC
import CRMServiceHost
import Foundation
import GRDB
import Logging
import Synchronization

/// Moving a partition from one profiles process to another (docs/partitioning.md §8): the steps
/// `crmctl partitions move` calls, each on the process it concerns, each safe to repeat.
///
/// 0. Optional, what keeps the move's window short: **PreparePartitionMove** on the owner pins
///    the file's main part (``PartitionPins``) while the partition serves, and **AdoptPartition**
///    part PREPARED has the new owner copy it (`p0007.sqlite.prepared`) while it still serves.
/// 1. **DrainPartition** on the owner: calls for the partition are refused UNAVAILABLE (retryable)
///    from then on, those in flight finish, its updater folds what is pending and stops, its file
///    is checkpointed and closed, and the drain is recorded in the process's firm file — a
///    restarted owner keeps the partition drained, so it never writes into a file whose copy may
///    already be the new owner's. The answer is the file's size and SHA-256 — or, after a pin that
///    held, the size and SHA-256 of the tail: the log written since the pin, kept beside the file.
/// 2. **AdoptPartition** on the new owner: it reads the file from the old owner
///    (**ReadPartitionFile**, in chunks) — or only the tail, which it applies to its prepared copy
///    (``PartitionFileCopy/assemble(prepared:tail:into:)``) —, checks size and SHA-256 against
///    what the drain answered, and keeps the file staged (`p0007.sqlite.incoming`), not served.
/// 3. The topology's map gets the partition at its new owner, with the next epoch: the commit.
/// 4. **ReloadPartitionMap** (or SIGHUP) on every process: the new owner opens the staged file and
///    serves it; the old owner deletes its copy and forwards the partition's calls to the new one;
///    the others route by the new map.
///
/// Before step 3, **ResumePartition** on the old owner cancels the move (it serves the file again).
/// A crash anywhere leaves either the old owner holding the only file the map points to (the new
/// owner drops a staged copy the map does not give it at its next start) or the new owner holding
/// it (a restarted old owner deletes a drained file the map gives elsewhere); nothing acknowledged
/// is lost (every acknowledged write is in the file that moves: the drain waited for it) and
/// nothing is applied twice (event ids and feed sequences are the file's, so followers' cursors
/// for the partition stay valid at its new owner).
final class PartitionMoves: Sendable {
    let routing: PartitionRouting
    let cores: ProfilesCores
    /// The process's firm file, where drains are recorded.
    let store: DatabasePool
    let logger: Logger
    /// One step at a time: a reload never runs beside a drain or an adoption.
    private let gate = AsyncGate()
    /// The prepared copies held here (new owner), by partition: the pinned main part's size and
    /// SHA-256 they were checked against. Not kept across a restart (the files are dropped then).
    private let prepared = Mutex<[Int: (size: UInt64, sha256: String)]>([:])

    typealias Profiles = Crm_Profiles_V1_Profiles

    init(routing: PartitionRouting, cores: ProfilesCores, store: DatabasePool, logger: Logger) {
        self.routing = routing
        self.cores = cores
        self.store = store
        self.logger = logger
    }

    func register(into router: inout Router) {
        // Operators only: these move customers' data between processes. Each step is in the audit
        // trail with what it did (the rule names the partition and the other owner; a drain counts
        // the customers whose data is about to move), so "who moved partition 7 where" is a query.
        let operators = AccessPolicy.roles(Set<String>())
        router.unary(Profiles.preparePartitionMove, policy: operators, audit: .declaredByHandler, offEventLoop: true) { request, _ in
            let answer = try await self.prepare(request)
            CallAudit.current?.aggregate(rule: "partition \(request.partition) pinned for a move to \(request.toOwner) (\(answer.sizeBytes) bytes)", count: 0)
            return answer
        }
        router.unary(Profiles.drainPartition, policy: operators, audit: .declaredByHandler, offEventLoop: true) { request, _ in
            let (answer, customers) = try await self.drain(request)
            CallAudit.current?.aggregate(rule: "partition \(request.partition) drained for a move to \(request.toOwner)", count: customers)
            return answer
        }
        router.serverStreaming(Profiles.readPartitionFile, policy: operators, offEventLoop: true) { request, writer, _ in
            try await self.read(request, to: writer)
        }
        router.unary(Profiles.adoptPartition, policy: operators, audit: .declaredByHandler, offEventLoop: true) { request, context in
            let answer = try await self.adopt(request, context: context)
            let what = switch request.part {
            case .prepared: "main part copied from \(request.fromOwner) (\(answer.sizeBytes) bytes kept aside)"
            case .tail: "tail copied from \(request.fromOwner) and applied (\(answer.sizeBytes) bytes; the file staged)"
            default: "copied from \(request.fromOwner) (\(answer.sizeBytes) bytes staged)"
            }
            CallAudit.current?.aggregate(rule: "partition \(request.partition) \(what)", count: 0)
            return answer
        }
        router.unary(Profiles.resumePartition, policy: operators, audit: .declaredByHandler) { request, _ in
            let answer = try await self.resume(request)
            CallAudit.current?.aggregate(rule: "partition \(request.partition) served again (move cancelled)", count: 0)
            return answer
        }
        router.unary(Profiles.reloadPartitionMap, policy: operators, audit: .declaredByHandler) { request, _ in
            let answer = try await self.reload(pushing: request.hasMap ? try Self.map(of: request.map) : nil)
            CallAudit.current?.aggregate(rule: "partition map epoch \(answer.epoch)\(request.hasMap ? " (pushed)" : ""): opened "
                + "\(answer.opened.isEmpty ? "none" : answer.opened), released \(answer.released.isEmpty ? "none" : answer.released)", count: 0)
            return answer
        }
    }

    // MARK: The old owner

    /// Drains the partition; also answers how many customers its file holds (for the audit trail).
    func drain(_ request: Crm_Profiles_V1_DrainPartitionRequest) async throws -> (Crm_Profiles_V1_DrainPartitionResponse, Int) {
        let partition = try checkedPartition(request.partition)
        try checkTarget(request.toOwner)
        let map = routing.map
        // A partition whose move committed but whose new owner lost its copy is still held here
        // (``ProfilesCores/releasing``): draining it again answers its file, to copy once more.
        guard map.owner(of: partition) == routing.ownName || cores.releasing[partition] != nil else {
            throw RPCError(.failedPrecondition, "partition \(partition) is \(map.owner(of: partition))'s under map epoch \(map.epoch), not "
                + "\(routing.ownName)'s: drain it at its owner", fieldViolations: [FieldViolation(field: "partition", description: "not owned here")])
        }
        return try await gate.run {
            let (path, customers, tail) = try await self.cores.drain(partition, to: request.toOwner, keepingTail: request.tailSincePrepare)
            try await self.store.write { db in
                try PartitionMoveRecord.record(db, partition: partition, to: request.toOwner, at: Int64(Date().timeIntervalSince1970 * 1_000))
            }
            // The tail kept since a pin, or else the whole file: what the new owner copies next.
            let copied = try tail.map { ($0.size, $0.sha256) } ?? PartitionFileCopy.fingerprint(of: path)
            let answer = Crm_Profiles_V1_DrainPartitionResponse.with {
                $0.part = tail == nil ? .whole : .tail
                $0.sizeBytes = copied.0
                $0.sha256 = copied.1
                $0.preparedSizeBytes = tail?.preparedSize ?? 0
                $0.preparedSha256 = tail?.preparedSHA256 ?? ""
            }
            self.logger.notice("partition drained: its \(tail == nil ? "file" : "tail") is ready to be copied", metadata: [
                "partition": "\(partition)", "to": "\(request.toOwner)", "bytes": "\(answer.sizeBytes)", "sha256": "\(answer.sha256)",
            ])
            return (answer, customers)
        }
    }

    /// Pins the partition's main part for a copy while it serves (``PartitionPins``).
    func prepare(_ request: Crm_Profiles_V1_PreparePartitionMoveRequest) async throws -> Crm_Profiles_V1_PreparePartitionMoveResponse {
        let partition = try checkedPartition(request.partition)
        try checkTarget(request.toOwner)
        guard cores.isSplit, let directory = cores.directory else { throw ProfilesCores.movesNeedFiles }
        return try await gate.run {
            guard let core = self.cores.core(for: partition) else {
                throw RPCError(.failedPrecondition, "partition \(partition) is not served here (drained, or another owner's): prepare it at its "
                    + "owner, before the drain", fieldViolations: [FieldViolation(field: "partition", description: "not served here")])
            }
            let pin = try await self.cores.pins.pin(partition, database: core.database, path: ProfilesCores.file(of: partition, in: directory),
                                                    for: request.toOwner)
            return .with {
                $0.sizeBytes = pin.size
                $0.sha256 = pin.sha256
            }
        }
    }

    func read(_ request: Crm_Profiles_V1_ReadPartitionFileRequest,
              to writer: ResponseStreamWriter<Crm_Profiles_V1_PartitionFileChunk>) async throws {
        let partition = try checkedPartition(request.partition)
        guard let directory = cores.directory else {
            throw RPCError(.failedPrecondition, "this process keeps its partitions in one file: no partition file to read")
        }
        let path: URL
        var limit: UInt64?
        switch request.part {
        case .prepared:
            guard let pin = cores.pins.pin(of: partition) else {
                throw RPCError(.failedPrecondition, "partition \(partition) is not pinned here: PreparePartitionMove first (an owner that "
                    + "restarted or drained since holds no pin)", fieldViolations: [FieldViolation(field: "part", description: "no pin here")])
            }
            path = ProfilesCores.file(of: partition, in: directory)
            limit = pin.size
        case .tail:
            path = ProfilesCores.tailFile(of: partition, in: directory)
            guard cores.holdsForMove(partition) != nil, FileManager.default.fileExists(atPath: path.path) else {
                throw RPCError(.failedPrecondition, "partition \(partition) has no tail here: only a drain after a pin keeps one",
                               fieldViolations: [FieldViolation(field: "part", description: "no tail here")])
            }
        default:
            guard cores.holdsForMove(partition) != nil else {
                throw RPCError(.failedPrecondition, "partition \(partition) is not drained here: only a drained partition's file is read "
                    + "(DrainPartition first)", fieldViolations: [FieldViolation(field: "partition", description: "not drained here")])
            }
            path = ProfilesCores.file(of: partition, in: directory)
        }
        try await PartitionFileCopy.send(path, from: request.offset, upTo: limit) { offset, data in
            try await writer.write(.with {
                $0.offset = offset
                $0.data = data
            })
        }
    }

    func resume(_ request: Crm_Profiles_V1_ResumePartitionRequest) async throws -> Crm_Profiles_V1_ResumePartitionResponse {
        let partition = try checkedPartition(request.partition)
        try await gate.run {
            let map = self.routing.map
            guard map.owner(of: partition) == self.routing.ownName else {
                throw RPCError(.failedPrecondition, "the map (epoch \(map.epoch)) gives partition \(partition) to \(map.owner(of: partition)): "
                    + "its move has committed and cannot be cancelled here")
            }
            let drained = self.cores.drained[partition] != nil
            try await self.cores.resume(partition)
            guard drained else { return }
            try await self.store.write { db in try PartitionMoveRecord.remove(db, partition: partition) }
            self.logger.notice("partition served again: its move was cancelled", metadata: ["partition": "\(partition)"])
        }
        return Crm_Profiles_V1_ResumePartitionResponse()
    }

    // MARK: The new owner

    func adopt(_ request: Crm_Profiles_V1_AdoptPartitionRequest, context: CallContext) async throws -> Crm_Profiles_V1_AdoptPartitionResponse {
        let partition = try checkedPartition(request.partition)
        guard !request.fromOwner.isEmpty else {
            throw RPCError.invalidArgument(field: "from_owner", "required: the owner that drained the partition")
        }
        guard request.sha256.count == 64, request.sha256.allSatisfy(\.isHexDigit) else {
            throw RPCError.invalidArgument(field: "sha256", "64 hex digits, as DrainPartition answered")
        }
        guard cores.isSplit, let directory = cores.directory else {
            throw RPCError(.failedPrecondition, "this process keeps its partitions in one file (partitions.storage one-file): it cannot "
                + "take a partition's file")
        }
        return try await gate.run {
            if self.cores.core(for: partition) != nil {
                // Adopted and served already (a repeated step after the map changed).
                return .with { $0.sizeBytes = request.sizeBytes }
            }
            guard self.cores.drained[partition] == nil else {
                throw RPCError(.failedPrecondition, "partition \(partition) is drained here, moving away: resume it instead")
            }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let staged = ProfilesCores.stagedFile(of: partition, in: directory)
            let preparedFile = ProfilesCores.preparedFile(of: partition, in: directory)
            switch request.part {
            case .prepared:
                self.prepared.withLock { $0[partition] = nil }
                try await self.copy(request, part: .prepared, into: preparedFile, context: context)
                self.prepared.withLock { $0[partition] = (request.sizeBytes, request.sha256.lowercased()) }
                self.logger.notice("partition's main part received while it serves: kept aside until its tail comes", metadata: [
                    "partition": "\(partition)", "from": "\(request.fromOwner)", "bytes": "\(request.sizeBytes)",
                ])
            case .tail:
                let held = self.prepared.withLock { $0[partition] }
                guard let held, held.size == request.preparedSizeBytes, held.sha256 == request.preparedSha256.lowercased(),
                      FileManager.default.fileExists(atPath: preparedFile.path) else {
                    throw RPCError(.failedPrecondition, "partition \(partition)'s prepared copy (\(request.preparedSizeBytes) bytes, SHA-256 "
                        + "\(request.preparedSha256)) is not held here (this process restarted since, or copied another pin): repeat the move",
                        fieldViolations: [FieldViolation(field: "prepared_sha256", description: "no such prepared copy here")])
                }
                let tail = URL(fileURLWithPath: preparedFile.path + ".tail")
                try await self.copy(request, part: .tail, into: tail, context: context)
                self.prepared.withLock { $0[partition] = nil }
                try PartitionFileCopy.assemble(prepared: preparedFile, tail: tail, into: staged)
                self.logger.notice("partition's tail received and applied to its main part: staged, served once the map gives it here", metadata: [
                    "partition": "\(partition)", "from": "\(request.fromOwner)", "tail bytes": "\(request.sizeBytes)",
                ])
            default:
                let partial = staged.appendingPathExtension("part")
                try await self.copy(request, part: .whole, into: partial, context: context)
                try? FileManager.default.removeItem(at: staged)
                try FileManager.default.moveItem(at: partial, to: staged)
                self.logger.notice("partition file received and staged: served once the map gives it here", metadata: [
                    "partition": "\(partition)", "from": "\(request.fromOwner)", "bytes": "\(request.sizeBytes)",
                ])
            }
            return .with { $0.sizeBytes = request.sizeBytes }
        }
    }

    /// Reads `part` of the partition's file from the old owner into `destination` and checks it
    /// against the request's size and SHA-256 (removed when it does not match).
    private func copy(_ request: Crm_Profiles_V1_AdoptPartitionRequest, part: Crm_Profiles_V1_PartitionFilePart, into destination: URL,
                      context: CallContext) async throws {
        let partition = Int(request.partition)
        var reading = Crm_Profiles_V1_ReadPartitionFileRequest()
        reading.partition = request.partition
        reading.part = part
        let what = part == .whole ? "the file of partition \(partition)" : "the \(part == .tail ? "tail" : "main part") of partition \(partition)"
        let copied = try await PartitionFileCopy.receive(into: destination) { write in
            let stream = try await self.routing.stream(request.fromOwner, method: Profiles.readPartitionFile.path,
                                                       payload: try reading.serializedData(), context: context, localOnly: false, what: what)
            var written: UInt64 = 0
            for try await message in stream {
                let chunk = try Crm_Profiles_V1_PartitionFileChunk(serializedBytes: message)
                guard chunk.offset == written else {
                    throw RPCError(.dataLoss, "\(what) came with a chunk at \(chunk.offset) where \(written) was due")
                }
                try write(chunk.data)
                written += UInt64(chunk.data.count)
            }
        }
        guard copied.size == request.sizeBytes, copied.sha256 == request.sha256.lowercased() else {
            try? FileManager.default.removeItem(at: destination)
            throw RPCError(.dataLoss, "the copy of \(what) is \(copied.size) bytes with SHA-256 \(copied.sha256), but the old owner "
                + "answered \(request.sizeBytes) bytes and \(request.sha256): repeat the move")
        }
    }

    // MARK: Every process

    /// Reads the topology's map again and serves by it when it is newer: opens the staged files
    /// of partitions it now gives here, routes by it, and deletes the drained files of partitions
    /// it gives elsewhere once their new owner serves them (``releaseServed()``). Checked whole before anything changes: a map that gives
    /// this process a partition it holds no copy of, or takes one it has not drained, is refused
    /// and the map in force stays.
    ///
    /// `pushed` (ReloadPartitionMap's `map`) is taken instead of the file's, checked the same way
    /// and against the file's list of processes, and kept in the store before it is routed by
    /// (``PushedMapRecord``), so a restart before the file holds it routes by it too.
    func reload(pushing pushed: PartitionMap? = nil) async throws -> Crm_Profiles_V1_ReloadPartitionMapResponse {
        try await gate.run {
            let current = self.routing.map
            let next: PartitionMap
            let source = pushed == nil ? "the topology's map" : "the pushed map"
            if let pushed {
                guard self.routing.mapped else {
                    throw RPCError(.failedPrecondition, "this process has no partitions.topology: it owns every partition, and no map can move them")
                }
                let unknown = self.routing.unknownOwners(in: pushed)
                guard unknown.isEmpty else {
                    throw RPCError(.failedPrecondition, "the pushed map names \(unknown.joined(separator: ", ")), which this process's topology file "
                        + "does not list among the profiles processes: add them to the file first",
                        fieldViolations: [FieldViolation(field: "map.owners", description: "not among the topology's profiles processes")])
                }
                next = pushed
            } else {
                do {
                    next = try self.routing.readMap()
                } catch {
                    throw RPCError(.failedPrecondition, "the partition map cannot be read: \(error)")
                }
            }
            let own = self.routing.ownName
            guard next.partitioning == current.partitioning else {
                throw RPCError(.failedPrecondition, "\(source) has \(next.partitioning.count) partitions, this firm \(current.partitioning.count)")
            }
            guard next.epoch >= current.epoch else {
                throw RPCError(.failedPrecondition, "\(source) has epoch \(next.epoch), older than the map in force (\(current.epoch))")
            }
            guard next.epoch > current.epoch else {
                guard next == current else {
                    throw RPCError(.failedPrecondition, "\(source) changes owners without a new epoch (\(next.epoch)): every change "
                        + "of owners needs the next epoch")
                }
                return Self.answer(current, own: own, opened: [], released: await self.releaseServed())
            }
            let before = Set(current.partitions(ownedBy: own).partitions)
            let after = Set(next.partitions(ownedBy: own).partitions)
            let gained = after.subtracting(before).sorted()
            let lost = before.subtracting(after).sorted()
            if (!gained.isEmpty || !lost.isEmpty) && !self.cores.isSplit {
                throw RPCError(.failedPrecondition, "map epoch \(next.epoch) changes what \(own) owns, but it keeps its partitions in one file")
            }
            let drained = self.cores.drained
            for partition in lost where drained[partition] == nil {
                throw RPCError(.failedPrecondition, "map epoch \(next.epoch) gives partition \(partition) to \(next.owner(of: partition)), but "
                    + "\(own) has not drained it: move partitions with crmctl partitions move, which drains and copies before the map changes")
            }
            // Open before routing by the new map, so the first call routed here finds the file.
            let opening = try self.openCopies(of: gained, epoch: next.epoch)
            let day = self.cores.businessDay
            if day > 0 { _ = try? await self.cores.adopt(day, from: "the partition files of this process") }
            if let pushed {
                try await self.store.write { db in try PushedMapRecord.save(db, pushed, at: Int64(Date().timeIntervalSince1970 * 1_000)) }
            }
            self.routing.adopt(next)
            // The files given away are kept until their new owners serve them: a new owner that
            // lost its staged copy (restarted before the map changed) can still be given the file.
            for partition in lost { self.cores.committed(partition) }
            let released = await self.releaseServed()
            self.logger.notice("serving by a new partition map", metadata: [
                "epoch": "\(next.epoch)", "opened": "\(PartitionSet(opening))", "released": "\(PartitionSet(released))",
                "kept until their new owner serves them": "\(PartitionSet(self.cores.releasing.keys.sorted()))",
            ])
            return Self.answer(next, own: own, opened: opening, released: released)
        }
    }

    /// Serves each of `gained` not served yet from its staged copy (or the file it became when an
    /// earlier reload stopped after renaming it), every copy checked to exist before any is opened.
    /// Returns the partitions opened.
    private func openCopies(of gained: [Int], epoch: UInt64) throws -> [Int] {
        let opening = gained.filter { cores.core(for: $0) == nil }
        guard !opening.isEmpty else { return [] }
        guard let directory = cores.directory else {
            throw RPCError(.failedPrecondition, "map epoch \(epoch) changes what \(routing.ownName) owns, but it keeps its partitions in one file")
        }
        let manager = FileManager.default
        for partition in opening {
            guard manager.fileExists(atPath: ProfilesCores.stagedFile(of: partition, in: directory).path)
                    || manager.fileExists(atPath: ProfilesCores.file(of: partition, in: directory).path) else {
                throw RPCError(.failedPrecondition, "map epoch \(epoch) gives partition \(partition) to \(routing.ownName), which holds no copy "
                    + "of it: AdoptPartition first (crmctl partitions move does)")
            }
        }
        let files = cores.all.count + opening.count
        for partition in opening {
            let main = ProfilesCores.file(of: partition, in: directory)
            let staged = ProfilesCores.stagedFile(of: partition, in: directory)
            if manager.fileExists(atPath: staged.path) {
                try ProfilesCores.deleteFile(of: partition, in: directory)
                try manager.moveItem(at: staged, to: main)
            }
            cores.add(partition, database: try cores.open(main.path, files: files))
        }
        return opening
    }

    /// Deletes the files of partitions moved away whose new owner now serves them: it answers a
    /// map at least as new as this process's that gives it the partition, which it routes by only
    /// after opening the partition's file (``reload()``). An owner that cannot be asked, or does
    /// not serve it yet, is asked again at the next reload. Returns the partitions released.
    private func releaseServed() async -> [Int] {
        guard let directory = cores.directory else { return [] }
        let map = routing.map
        var released: [Int] = []
        for (partition, _) in cores.releasing.sorted(by: { $0.key < $1.key }) {
            let owner = map.owner(of: partition)
            guard owner != routing.ownName else { continue }
            do {
                let answer = try await routing.partitionMap(of: owner, timeout: .seconds(5))
                let serves = answer.epoch >= map.epoch && answer.owners.contains { entry in
                    entry.name == owner && ((try? PartitionSet(parsing: entry.partitions, in: map.partitioning))?.partitions.contains(partition) ?? false)
                }
                guard serves else { continue }
                try ProfilesCores.deleteFile(of: partition, in: directory)
                cores.released(partition)
                try await store.write { db in try PartitionMoveRecord.remove(db, partition: partition) }
                released.append(partition)
                logger.notice("deleted the file of a partition its new owner serves", metadata: ["partition": "\(partition)", "owner": "\(owner)"])
            } catch {
                logger.warning("a moved partition's file is kept: its new owner could not be asked whether it serves it",
                               metadata: ["partition": "\(partition)", "owner": "\(owner)", "error": "\(error)"])
            }
        }
        return released
    }

    /// ReloadPartitionMap's `map` as a ``PartitionMap``; INVALID_ARGUMENT naming the field that is wrong.
    static func map(of pushed: Crm_Profiles_V1_PushedPartitionMap) throws -> PartitionMap {
        do {
            return try PartitionMapWire.map(count: pushed.count, epoch: pushed.epoch, owners: pushed.owners)
        } catch {
            throw RPCError.invalidArgument(field: "map.\(error.field)", error.reason)
        }
    }

    private static func answer(_ map: PartitionMap, own: String, opened: [Int], released: [Int]) -> Crm_Profiles_V1_ReloadPartitionMapResponse {
        .with {
            $0.epoch = map.epoch
            $0.partitions = map.partitions(ownedBy: own).description
            $0.opened = PartitionSet(opened).description
            $0.released = PartitionSet(released).description
        }
    }

    // MARK: Helpers

    /// The owner a drained or pinned partition goes to: named, and not this process.
    private func checkTarget(_ owner: String) throws {
        guard !owner.isEmpty else {
            throw RPCError.invalidArgument(field: "to_owner", "required: the owner the partition is moved to (profiles-N or host:port)")
        }
        guard owner != routing.ownName else {
            throw RPCError.invalidArgument(field: "to_owner", "is this process (\(routing.ownName)): a partition moves to another one")
        }
    }

    private func checkedPartition(_ number: UInt32) throws -> Int {
        let count = routing.map.partitioning.count
        guard Int(number) < count else {
            throw RPCError.invalidArgument(field: "partition", "\(number) does not exist: partitions are 0-\(count - 1)")
        }
        return Int(number)
    }
}
