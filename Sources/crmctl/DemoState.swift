import Foundation

/// What `crmctl demo` has done against the running services, kept in a small JSON file (by default
/// `data/demo-state.json`, beside the stores) so that a run cut short — Ctrl-C, a crash, a reboot —
/// resumes where it stopped: finished chunks are not loaded again (loading them again would be
/// harmless, every call being idempotent, only slow). Campaigns the demo created are recorded too,
/// for `crmctl report`, which has no call that lists campaigns.
struct DemoState: Codable, Equatable {
    /// Figures of one finished chunk.
    struct Chunk: Codable, Equatable {
        var customers: Int
        var events: Int
        var orders: Int
    }

    struct CampaignRecord: Codable, Equatable {
        var campaignID: String
        var productCode: String
        /// The matching replica holding it (campaigns live in one replica's store).
        var matchingEndpoint: String
    }

    var formatVersion = 1
    var customers: Int
    var seed: UInt64
    var chunkSize: Int
    var catalogueLoaded = false
    /// Finished chunks by index (chunk i holds customers i·chunkSize ..< (i+1)·chunkSize).
    var chunks: [Int: Chunk] = [:]
    var campaigns: [CampaignRecord] = []
    /// The matching replica the demo trained and asked (others copy the model when configured to).
    var matchingEndpoint: String?
    /// Whether the organisation, every customer's assignments and the schemes are in compensation
    /// (optional so that state files written before compensation was loaded still read).
    var compensationLoaded: Bool?

    init(customers: Int, seed: UInt64, chunkSize: Int) {
        self.customers = customers
        self.seed = seed
        self.chunkSize = chunkSize
    }

    var chunkCount: Int { chunkSize > 0 ? (customers + chunkSize - 1) / chunkSize : 0 }
    func range(ofChunk index: Int) -> Range<Int> { (index * chunkSize)..<min(customers, (index + 1) * chunkSize) }
    var customersLoaded: Int { chunks.values.reduce(0) { $0 + $1.customers } }
    var ordersLoaded: Int { chunks.values.reduce(0) { $0 + $1.orders } }
    var isLoaded: Bool { catalogueLoaded && chunks.count == chunkCount }
    var pendingChunks: [Int] { (0..<chunkCount).filter { chunks[$0] == nil } }

    mutating func record(campaign: CampaignRecord) {
        campaigns.removeAll { $0.campaignID == campaign.campaignID }
        campaigns.append(campaign)
    }

    /// The state in `path`, or nil when there is no file.
    static func load(path: String) throws -> DemoState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(DemoState.self, from: data)
        } catch {
            throw CRMCtlError("\(path) is not a demo state file (\(error)); remove it to start over")
        }
    }

    /// Writes the file whole or not at all (a temporary file renamed over the old one).
    func save(path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}
