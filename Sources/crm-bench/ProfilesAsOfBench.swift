import ArgumentParser
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMTestSupport
import CRMWorld
import Foundation
import ProductsService
import ProfilesService
import SwiftProtobuf

/// Profiles' side of a new matching replica's first training: the twelve month-end snapshots
/// (`StreamDimensionsAsOf`, paged as matching pages it) of a generated world, timed per month-end
/// and per run, without the replica, so the figure is profiles' alone. The world is loaded through
/// the RPCs once per folder (the same folder and marker as `matching-training`). Each run prints a
/// digest of every answer's bytes: two builds that answer the same world with the same digest gave
/// byte-identical snapshots.
struct ProfilesAsOfBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles-as-of",
        abstract: "StreamDimensionsAsOf at scale: the month-end snapshots a training fetches, timed per month-end, with a digest of the answers."
    )

    @Option(help: "Customers in the generated world.")
    var customers: Int = 20_000

    @Option(help: "World seed.")
    var seed: UInt64 = 20_261_129

    @Option(help: "The world's buying law: observed-state or behaviour.")
    var law: String = "behaviour"

    @Option(help: "Products in the library (default 300, as matching-training's).")
    var products: Int = 300

    @Option(help: "A folder for the stores, kept afterwards; a world already loaded there is reused.")
    var folder: String?

    @Option(help: "Customers per StreamDimensionsAsOf call (matching's model.snapshot_page; default 20,000 as matching's).")
    var page: Int = 20_000

    @Option(help: "Month-ends per run, the latest first dropped: the world's months' previous month-ends (12 = all a training needs).")
    var months: Int = 12

    @Option(help: "Runs; the median total is reported.")
    var runs: Int = 3

    @Flag(help: "Ask for all the month-ends in one call per page (as_of_days), as matching's training now does, instead of one call per month-end and page.")
    var onePass = false

    @Flag(help: "Ask for the compact answer (positional: values by position, no names), as matching's training now does.")
    var positional = false

    @Flag(help: "Digest the answers' values rather than their bytes: each message decoded, put in the name-keyed form and encoded with map entries in key order, so the positional and the named answers of the same values give the same digest (costs the bench's client CPU: use it for checking, not timing).")
    var valueDigest = false

    func run() async throws {
        guard let law = WorldLaw(rawValue: law) else { throw ValidationError("--law must be observed-state or behaviour") }
        guard page > 0, runs > 0, months > 0 else { throw ValidationError("--page, --runs and --months must be positive") }
        let base = folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("crm-as-of-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { if folder == nil { try? FileManager.default.removeItem(at: base) } }
        let marker = base.appendingPathComponent("loaded-\(law.rawValue)-\(customers)-\(seed)-\(products)")
        let token = "bench"
        let tokens: [TokenAuthenticator.Entry] = [
            .init(sha256: TokenAuthenticator.hash(token: token), principal: Principal(name: "bench", roles: ["admin"])),
        ]
        let configuration = WorldConfiguration(customers: customers, seed: seed, products: products, law: law)
        let world = World(configuration)
        print("== world \(law.rawValue): \(customers) customers, seed \(seed), folder \(base.path); page \(page)")

        let clock = ContinuousClock()
        var started = clock.now
        let profiles = try await InProcessService<ProfilesService>.start(databasePath: base.appendingPathComponent("profiles.sqlite").path, tokens: tokens, runBackground: true)
        print(String(format: "profiles started (migrations included) in %.1f s", (clock.now - started).seconds))
        let productsService = try await InProcessService<ProductsService>.start(databasePath: base.appendingPathComponent("products.sqlite").path, tokens: tokens)
        try await MatchingTrainingBench.loadWorld(world, customers: customers, marker: marker, profiles: profiles, products: productsService, token: token)

        // As matching's training asks: each of the world's months' previous month-end, oldest first.
        let count = min(months, configuration.months)
        let asOfDays = (0..<count).map { configuration.firstMonth.advanced(by: configuration.months - count + $0 - 1).lastDay }
        let client = profiles.client(token: token)
        let canonical = valueDigest ? try await Canonical(client) : nil
        var totals: [Double] = []
        for run in 1...runs {
            MatchingTrainingBench.resetPeak("self")
            let cpuBefore = ProcessFigures.cpuSeconds()
            // One digest per month-end over its answers in customer order, combined in day order:
            // the same value whichever way the days were asked for.
            var digests = [Digest](repeating: Digest(), count: asOfDays.count)
            started = clock.now
            var line: [String] = []
            if onePass {
                var after = ""
                var answered = 0
                while true {
                    let request = Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
                        $0.asOfDays = asOfDays.map(WorldDays.date)
                        $0.afterCustomerID = after
                        $0.limit = UInt32(page)
                        $0.positional = positional
                    }
                    let stream = try await client.serverStreamingRaw(Crm_Profiles_V1_Profiles.streamDimensionsAsOf.path, payload: try request.serializedBytes(),
                                                                     options: .timeout(.seconds(3_600)))
                    // Per customer, one message per day in ascending order (asOfDays ascends).
                    var inPage = 0
                    var last: Data?
                    for try await message in stream {
                        digests[inPage % asOfDays.count].add(try canonical?.bytes(message) ?? message)
                        inPage += 1
                        last = message
                    }
                    answered += inPage / asOfDays.count
                    guard let last else { break }
                    after = try Crm_Profiles_V1_CustomerDimensions(serializedBytes: last).customerID
                    line.append(String(format: "%.1f", (clock.now - started).seconds))
                    if inPage / asOfDays.count < page { break }
                }
                if answered != customers { print("  \(answered) customers answered") }
            }
            for (index, day) in asOfDays.enumerated() where !onePass {
                let monthStarted = clock.now
                var after = ""
                var answered = 0
                while true {
                    let request = Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
                        $0.asOf = WorldDays.date(day)
                        $0.afterCustomerID = after
                        $0.limit = UInt32(page)
                        $0.positional = positional
                    }
                    let stream = try await client.serverStreamingRaw(Crm_Profiles_V1_Profiles.streamDimensionsAsOf.path, payload: try request.serializedBytes(),
                                                                     options: .timeout(.seconds(3_600)))
                    var inPage = 0
                    var last: Data?
                    for try await message in stream {
                        digests[index].add(try canonical?.bytes(message) ?? message)
                        inPage += 1
                        last = message
                    }
                    answered += inPage
                    guard let last else { break }
                    after = try Crm_Profiles_V1_CustomerDimensions(serializedBytes: last).customerID
                    if inPage < page { break }
                }
                line.append(String(format: "%.1f", (clock.now - monthStarted).seconds))
                if answered != customers { print("  as of \(WorldDays.date(day).textual): \(answered) customers answered") }
            }
            var digest = Digest()
            for each in digests { digest.add(withUnsafeBytes(of: each.value.littleEndian) { Data($0) }) }
            let total = (clock.now - started).seconds
            totals.append(total)
            print(String(format: "run %d: %d month-ends in %.1f s (%@: %@ s); %@digest %016llx; peak RSS %.0f MiB; CPU %.0f s",
                         run, asOfDays.count, total, onePass ? "one pass, at each page's end" : "each", line.joined(separator: " "),
                         valueDigest ? "value " : (positional ? "positional " : ""), digest.value, ProcessFigures.memoryMiB("VmHWM"),
                         ProcessFigures.cpuSeconds() - cpuBefore))
        }
        let sorted = totals.sorted()
        print(String(format: "median of %d runs: %.1f s for %d month-ends of %d customers, page %d%@%@", runs, sorted[sorted.count / 2], asOfDays.count, customers, page,
                     onePass ? ", one pass" : "", positional ? ", positional" : ""))
        await client.close()
        try await productsService.stop()
        try await profiles.stop()
    }

    /// One answer in a form that depends only on its values: positional entries moved into the
    /// name-keyed maps (by ListDimensions' and ListClassificationSchemes' order), encoded with map
    /// entries in key order.
    struct Canonical {
        let dimensions: [String]
        let schemes: [String]

        init(_ client: RPCClient) async throws {
            dimensions = try await client.unary(Crm_Profiles_V1_Profiles.listDimensions, Crm_Profiles_V1_ListDimensionsRequest()).dimensions.map(\.name)
            schemes = try await client.unary(Crm_Profiles_V1_Profiles.listClassificationSchemes, Crm_Profiles_V1_ListClassificationSchemesRequest()).schemes.map(\.name)
        }

        func bytes(_ answer: Data) throws -> Data {
            var message = try Crm_Profiles_V1_CustomerDimensions(serializedBytes: answer)
            for (position, value) in zip(message.numberPositions, message.numberValues) { message.numbers[dimensions[Int(position)]] = value }
            for (position, value) in zip(message.categoryPositions, message.categoryValues) { message.categories[dimensions[Int(position)]] = value }
            for (position, value) in zip(message.classPositions, message.classValues) { message.classes[schemes[Int(position)]] = value }
            message.numberPositions = []
            message.numberValues = []
            message.categoryPositions = []
            message.categoryValues = []
            message.classPositions = []
            message.classValues = []
            var options = BinaryEncodingOptions()
            options.useDeterministicOrdering = true
            return try message.serializedBytes(options: options)
        }
    }

    /// FNV-1a over every answer's bytes and their boundaries, in order.
    struct Digest {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325

        mutating func add(_ message: Data) {
            for byte in message { mix(byte) }
            for shift in stride(from: 0, to: 64, by: 8) { mix(UInt8(truncatingIfNeeded: message.count >> shift)) }
        }

        private mutating func mix(_ byte: UInt8) {
            value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
    }
}

private extension Crm_Common_V1_Date {
    var textual: String { String(format: "%04d-%02d-%02d", year, month, day) }
}
