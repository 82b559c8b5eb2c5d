// swift-tools-version: 6.1
// The brokerage CRM: four services (profiles, products, matching, compensation) that talk
// protobuf-framed TCP through one shared codec. See README.md for the architecture.
import PackageDescription

/// Swift 6 language mode (the tools version's default) with strict concurrency checking; warnings are
/// kept at zero by the CI script rather than by `-warnings-as-errors`, which would also fail on
/// dependencies' deprecations.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "brokerage-crm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "crm-profiles", targets: ["crm-profiles"]),
        .executable(name: "crm-products", targets: ["crm-products"]),
        .executable(name: "crm-matching", targets: ["crm-matching"]),
        .executable(name: "crm-compensation", targets: ["crm-compensation"]),
        .executable(name: "crmctl", targets: ["crmctl"]),
        .executable(name: "crm-bench", targets: ["crm-bench"]),
        .executable(name: "protoc-gen-crm", targets: ["protoc-gen-crm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // Only the OTLP/HTTP exporter: the default traits add OTLP/gRPC, which builds grpc-swift too.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // MARK: Wire and runtime — know nothing of customers or products.
        .target(
            name: "CRMWire",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CRMRPC",
            dependencies: [
                "CRMWire", "CRMContract", "CRMPrimitives",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CRMStore",
            dependencies: [
                "CRMPrimitives",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(name: "CRMRules", swiftSettings: strictSettings),
        /// Days, months, the firm's business calendar (Beijing) and exact fen arithmetic: the one home
        /// of these primitives, pure and with no dependency.
        .target(name: "CRMPrimitives", swiftSettings: strictSettings),
        // MARK: Pure domain modules — no I/O, exhaustively tested.
        /// The investor suitability measures as one pure function of a customer's and a product's facts.
        .target(name: "CRMSuitability", dependencies: ["CRMPrimitives"], swiftSettings: strictSettings),
        /// The propensity model: gradient-boosted trees on a feature matrix, and ranking metrics.
        .target(name: "CRMPropensity", swiftSettings: strictSettings),
        /// Which logical partition a customer belongs to, and merging per-partition answers (docs/partitioning.md).
        .target(name: "CRMPartitions", swiftSettings: strictSettings),
        // MARK: The contract — messages and methods generated from proto/ by scripts/generate-proto.sh.
        /// The types generated method descriptors are made of (the router and the client take them).
        .target(
            name: "CRMContract",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CRMProtos",
            dependencies: ["CRMContract", "CRMPrimitives", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: strictSettings
        ),
        /// The project's protoc plugin: what the contract says beyond the wire types (field checks),
        /// generated beside protoc-gen-swift's messages by scripts/generate-proto.sh.
        .executableTarget(
            name: "protoc-gen-crm",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "SwiftProtobufPluginLibrary", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
        /// The audit trail: who read or acted on which customer, hash-chained in each service's own
        /// store, committed before the answer leaves; its compliance methods, export and retention.
        .target(
            name: "CRMAudit",
            dependencies: [
                "CRMRPC", "CRMStore", "CRMProtos",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // MARK: Shared executable plumbing: configuration, logging, the service group.
        .target(
            name: "CRMServiceHost",
            dependencies: [
                "CRMRPC", "CRMStore", "CRMProtos", "CRMAudit",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            swiftSettings: strictSettings
        ),
        /// A seeded synthetic brokerage (customers, products, a year of events, purchases with their true
        /// probabilities) for tests, benchmarks, matching's evaluation and the demo.
        .target(
            name: "CRMWorld",
            dependencies: ["CRMProtos", "CRMPrimitives", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: strictSettings
        ),
        /// Loads a generated world into the running services through their RPCs, as the trading
        /// system, the website and a migration would: the demo, the benchmarks and the tests use it.
        .target(
            name: "CRMWorldLoader",
            dependencies: ["CRMWorld", "CRMRPC", "CRMProtos", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: strictSettings
        ),
        /// What crmctl shows people: the head-office report (one HTML page with inline SVG charts) and
        /// the walkthrough's terminal tables, as pure functions of plain figures.
        .target(name: "CRMReport", swiftSettings: strictSettings),
        // MARK: Services — each its own library (domain, store, handlers) and thin executable.
        /// Profiles' domain as pure values and functions: the customer events, the dimensions derived
        /// from them (ledgers, the catalogue of 61 dimensions) and the classification schemes over
        /// them. No store, no RPC; the service, crm-bench and the tests use it.
        .target(name: "CustomerDimensions", dependencies: ["CRMPrimitives", "CRMRules"], swiftSettings: strictSettings),
        // A profiles client that routes each customer's calls to the process owning its partition.
        .target(name: "CRMProfilesClient", dependencies: ["CRMRPC", "CRMProtos", "CRMPartitions", "CRMServiceHost",
                                                          .product(name: "SwiftProtobuf", package: "swift-protobuf")], swiftSettings: strictSettings),
        .target(name: "ProfilesService", dependencies: serviceDependencies + [
            "CRMAudit", "CRMRules", "CustomerDimensions", "CRMPartitions", "CRMProfilesClient", .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strictSettings),
        .target(name: "ProductsService", dependencies: serviceDependencies + [
            "CRMRules", .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: strictSettings),
        // glibc's malloc_trim for services that free a large load (a C target: Swift's Glibc module does not export it).
        .target(name: "CRMHeap"),
        .target(name: "MatchingService", dependencies: serviceDependencies + ["CRMRules", "CRMSuitability", "CRMPropensity", "CRMHeap", "CRMProfilesClient", "CRMPartitions"], swiftSettings: strictSettings),
        /// Compensation's settlement rules as pure values and functions: what a month pays each
        /// manager, from plain inputs. No store, no RPC; the service and crm-bench both use it.
        .target(name: "CompensationSettlement", dependencies: ["CRMPrimitives"], swiftSettings: strictSettings),
        .target(name: "CompensationService", dependencies: serviceDependencies + ["CompensationSettlement", "CRMProfilesClient"], swiftSettings: strictSettings),
        .executableTarget(name: "crm-profiles", dependencies: ["ProfilesService", "CRMServiceHost", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: strictSettings),
        .executableTarget(name: "crm-products", dependencies: ["ProductsService", "CRMServiceHost", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: strictSettings),
        .executableTarget(name: "crm-matching", dependencies: ["MatchingService", "CRMServiceHost", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: strictSettings),
        .executableTarget(name: "crm-compensation", dependencies: ["CompensationService", "CRMServiceHost", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: strictSettings),
        // MARK: Tools — clients like any other.
        .executableTarget(
            name: "crmctl",
            dependencies: [
                "CRMRPC", "CRMProtos", "CRMWorld", "CRMWorldLoader", "CRMReport", "CRMPartitions", "CRMProfilesClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "crm-bench",
            dependencies: [
                "CRMRPC", "CRMWire", "CRMProtos", "CRMStore", "CRMServiceHost", "CRMAudit", "ProfilesService", "CustomerDimensions", "CRMWorld", "CRMWorldLoader",
                "CRMPropensity", "CompensationService", "MatchingService", "ProductsService", "CRMHeap", "CRMTestSupport", "CRMProfilesClient",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
        /// What tests share: fixtures that several test targets use, and services run inside the
        /// calling process (which crm-bench uses too); never linked by a service's executable.
        .target(
            name: "CRMTestSupport",
            dependencies: [
                "CRMAudit", "CRMPropensity", "CRMProtos", "CRMRPC", "CRMServiceHost", "CRMStore",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strictSettings
        ),
        // MARK: Tests
        .testTarget(
            name: "CRMWireTests",
            dependencies: [
                "CRMWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CRMRPCTests",
            dependencies: [
                "CRMRPC", "CRMWire", "CRMProtos", "CRMTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(name: "CRMRulesTests", dependencies: ["CRMRules"]),
        .testTarget(name: "CRMSuitabilityTests", dependencies: ["CRMSuitability"]),
        .testTarget(name: "CRMPropensityTests", dependencies: ["CRMPropensity"]),
        .testTarget(name: "CRMPartitionsTests", dependencies: ["CRMPartitions"]),
        .testTarget(name: "CRMHeapTests", dependencies: ["CRMHeap"]),
        .testTarget(name: "CRMProtosTests", dependencies: ["CRMProtos"]),
        .testTarget(
            name: "CRMWorldTests",
            dependencies: ["CRMWorld", "CRMProtos", "CRMPrimitives", "CRMRPC", "ProfilesService", "ProductsService", "CompensationService"]
        ),
        .testTarget(name: "CRMReportTests", dependencies: ["CRMReport", "CRMTestSupport"]),
        .testTarget(name: "CRMWorldLoaderTests", dependencies: ["CRMWorldLoader", "CRMWorld", "CRMProtos"]),
        .testTarget(
            name: "ProfilesServiceTests",
            dependencies: [
                "CRMContract", "CRMTestSupport",
                "ProfilesService", "CustomerDimensions", "CRMRules", "CRMProtos", "CRMStore", "CRMRPC", "CRMServiceHost", "CRMWorld", "CRMWorldLoader", "CRMPartitions",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ProductsServiceTests",
            dependencies: [
                "CRMAudit", "CRMPrimitives",
                "CRMTestSupport",
                "ProductsService", "ProfilesService", "CRMProtos", "CRMRPC", "CRMServiceHost", "CRMStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CompensationServiceTests",
            dependencies: [
                "CompensationService", "CompensationSettlement", "CRMAudit", "CRMPrimitives", "ProfilesService", "ProductsService", "CRMProtos",
                "CRMRPC", "CRMServiceHost", "CRMStore", "CRMTestSupport", "CRMWorld", "CRMWorldLoader",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "MatchingServiceTests",
            dependencies: [
                "MatchingService", "ProfilesService", "ProductsService", "CRMSuitability", "CRMPropensity", "CRMWorld", "CRMWorldLoader",
                "CRMAudit", "CRMPrimitives", "CRMProtos", "CRMRPC", "CRMServiceHost", "CRMStore", "CRMTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "CRMAuditTests",
            dependencies: [
                "CRMAudit", "CRMTestSupport", "CRMRPC", "CRMProtos", "CRMServiceHost", "CRMStore",
                "ProfilesService", "ProductsService", "CompensationService",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "CRMRPC", "CRMProtos", "CRMSuitability", "CRMTestSupport", "CRMWorld", "CRMWorldLoader", "CRMReport",
                "CRMProfilesClient", "CRMPartitions", "CRMPropensity",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)

var serviceDependencies: [Target.Dependency] {
    [
        "CRMRPC", "CRMStore", "CRMProtos", "CRMServiceHost", "CRMPrimitives",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
    ]
}
