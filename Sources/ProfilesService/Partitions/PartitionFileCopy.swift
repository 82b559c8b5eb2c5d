import CRMRPC
import Crypto
import Foundation
import GRDB

/// A partition file's bytes counted and digested as they pass: every copy a move makes is checked
/// by size and SHA-256 against what the side that has the file answered.
struct PartitionFileHasher {
    private var hasher = SHA256()
    private(set) var size: UInt64 = 0

    mutating func update(_ data: Data) {
        hasher.update(data: data)
        size += UInt64(data.count)
    }

    /// The size and the SHA-256 as 64 lowercase hex digits.
    func finish() -> (size: UInt64, sha256: String) {
        (size, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }
}

/// The file operations of a partition's move (``PartitionMoves``): digesting, copying, sending and
/// receiving a file in chunks, and making a drained file from its prepared main part and its tail.
enum PartitionFileCopy {
    /// How much of a file one ReadPartitionFile message carries.
    static let chunkBytes = 1 << 20

    /// A file's size and SHA-256, read a chunk at a time.
    static func fingerprint(of path: URL) throws -> (size: UInt64, sha256: String) {
        guard let file = FileHandle(forReadingAtPath: path.path) else {
            throw RPCError(.internal, "cannot open \(path.path)")
        }
        defer { try? file.close() }
        var hasher = PartitionFileHasher()
        while let data = try file.read(upToCount: chunkBytes), !data.isEmpty {
            hasher.update(data)
        }
        return hasher.finish()
    }

    /// Copies `source` (missing: as if empty — a log not written yet) to `destination`, synced;
    /// answers the copy's size and SHA-256.
    static func copy(_ source: URL, to destination: URL) throws -> (size: UInt64, sha256: String) {
        let output = try newFile(at: destination)
        defer { try? output.close() }
        var hasher = PartitionFileHasher()
        if let input = FileHandle(forReadingAtPath: source.path) {
            defer { try? input.close() }
            while let data = try input.read(upToCount: chunkBytes), !data.isEmpty {
                try output.write(contentsOf: data)
                hasher.update(data)
            }
        }
        try output.synchronize()
        return hasher.finish()
    }

    /// Writes what `produce` hands its writer into a new file at `destination` (replacing one there),
    /// synced at the end; answers its size and SHA-256. On an error the file is removed.
    static func receive(into destination: URL, _ produce: (_ write: (Data) throws -> Void) async throws -> Void) async throws
        -> (size: UInt64, sha256: String)
    {
        let output = try newFile(at: destination)
        var hasher = PartitionFileHasher()
        do {
            defer { try? output.close() }
            try await produce { data in
                try output.write(contentsOf: data)
                hasher.update(data)
            }
            try output.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: destination)
            throw error
        }
        return hasher.finish()
    }

    /// An empty file at `destination` (one there is replaced), open for writing.
    private static func newFile(at destination: URL) throws -> FileHandle {
        let manager = FileManager.default
        try? manager.removeItem(at: destination)
        guard manager.createFile(atPath: destination.path, contents: nil), let output = FileHandle(forWritingAtPath: destination.path) else {
            throw RPCError(.internal, "cannot create \(destination.path)")
        }
        return output
    }

    /// Sends the file at `path` from `offset` up to `limit` bytes (nil: its end) as chunks to `send`.
    static func send(_ path: URL, from offset: UInt64, upTo limit: UInt64?, _ send: (UInt64, Data) async throws -> Void) async throws {
        guard let file = FileHandle(forReadingAtPath: path.path) else {
            throw RPCError(.internal, "\(path.path) cannot be opened")
        }
        defer { try? file.close() }
        var position = offset
        try file.seek(toOffset: position)
        while limit.map({ position < $0 }) ?? true {
            let wanted = limit.map { Int(min(UInt64(chunkBytes), $0 - position)) } ?? chunkBytes
            guard let data = try file.read(upToCount: wanted), !data.isEmpty else { break }
            try await send(position, data)
            position += UInt64(data.count)
        }
    }

    /// Makes the partition's file as drained from its main part as pinned (`prepared`, copied
    /// while it served) and its tail (the log written since): the two are put where SQLite finds a
    /// database and its log, opened — SQLite recovers the log, each frame checked by its checksum,
    /// and keeps its committed transactions — checkpointed whole into the main part and closed,
    /// then renamed to `staged`. Both inputs are consumed.
    static func assemble(prepared: URL, tail: URL, into staged: URL) throws {
        let manager = FileManager.default
        let assembling = URL(fileURLWithPath: staged.path + ".assembling")
        let log = URL(fileURLWithPath: assembling.path + "-wal")
        for leftover in [assembling.path, log.path, assembling.path + "-shm"] where manager.fileExists(atPath: leftover) {
            try manager.removeItem(atPath: leftover)
        }
        try manager.moveItem(at: prepared, to: assembling)
        try manager.moveItem(at: tail, to: log)
        do {
            var configuration = Configuration()
            configuration.label = "a moved partition's file assembled"
            let database = try DatabaseQueue(path: assembling.path, configuration: configuration)
            let (frames, checkpointed) = try database.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
            try database.close()
            guard frames == checkpointed else {
                throw RPCError(.dataLoss, "the tail of \(staged.lastPathComponent) was applied in part (\(checkpointed) of \(frames) pages)")
            }
        } catch {
            try? manager.removeItem(at: assembling)
            try? manager.removeItem(at: log)
            try? manager.removeItem(atPath: assembling.path + "-shm")
            throw error
        }
        for leftover in [log.path, assembling.path + "-shm"] where manager.fileExists(atPath: leftover) {
            try manager.removeItem(atPath: leftover)
        }
        try? manager.removeItem(at: staged)
        try manager.moveItem(at: assembling, to: staged)
    }
}
