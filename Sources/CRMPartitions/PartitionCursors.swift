import Foundation

/// A page token that holds a cursor per partition, for calls answered by merging partitions: for a
/// search, the sort key of the last row taken from each partition; for a feed, each partition's
/// sequence.
///
/// The token is opaque to clients: `p1.` then base64url (no padding) of a small JSON object with
/// the format version, P and the cursors. It names P so that a token minted under another
/// partitioning is refused rather than misread.
public struct PartitionCursors: Sendable, Hashable {
    /// P of the partitioning the cursors belong to.
    public let partitionCount: Int
    /// Each partition's cursor; a partition absent has not been read yet.
    public private(set) var cursors: [Int: String]

    static let prefix = "p1."

    public init(partitioning: Partitioning, cursors: [Int: String] = [:]) {
        self.partitionCount = partitioning.count
        self.cursors = cursors.filter { (0..<partitioning.count).contains($0.key) }
    }

    public subscript(partition: Int) -> String? {
        get { cursors[partition] }
        set {
            guard (0..<partitionCount).contains(partition) else { return }
            cursors[partition] = newValue
        }
    }

    /// A feed's sequence in `partition` (0 before anything was read).
    public func sequence(of partition: Int) -> UInt64 {
        cursors[partition].flatMap(UInt64.init) ?? 0
    }

    private struct Body: Codable {
        var v: Int
        var p: Int
        var c: [String: String]
    }

    /// The token: the same cursors always give the same text (keys sorted).
    public var token: String {
        let body = Body(v: 1, p: partitionCount, c: Dictionary(uniqueKeysWithValues: cursors.map { (String($0.key), $0.value) }))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Encoding a struct of Ints and Strings cannot fail; an empty token would read as "from the start".
        let data = (try? encoder.encode(body)) ?? Data()
        return Self.prefix + data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Reads a token made by ``token`` under `partitioning`; refuses anything else, saying why
    /// (the caller names its field, `page.page_token`).
    public init(token: String, partitioning: Partitioning) throws(PartitioningError) {
        guard token.hasPrefix(Self.prefix) else { throw PartitioningError("not a partitioned page token") }
        var base64 = String(token.dropFirst(Self.prefix.count))
            .replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let body = try? JSONDecoder().decode(Body.self, from: data) else {
            throw PartitioningError("the page token does not decode")
        }
        guard body.v == 1 else { throw PartitioningError("page token version \(body.v) is not known") }
        guard body.p == partitioning.count else {
            throw PartitioningError("the page token was made for \(body.p) partitions, this firm has \(partitioning.count)")
        }
        var cursors: [Int: String] = [:]
        for (key, value) in body.c {
            guard let partition = Int(key), (0..<partitioning.count).contains(partition) else {
                throw PartitioningError("the page token names partition \(key), outside 0-\(partitioning.count - 1)")
            }
            cursors[partition] = value
        }
        self.partitionCount = partitioning.count
        self.cursors = cursors
    }
}
