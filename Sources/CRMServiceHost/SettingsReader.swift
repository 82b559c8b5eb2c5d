/// Reads a service's `settings` (the configuration file's free-form map) into validated values,
/// so a typo is an error at start-up, never a silent default: a value that is not a whole number
/// in its range is refused, and so is a key the service does not know.
public struct SettingsReader: Sendable {
    public let settings: [String: String]

    public init(_ settings: [String: String]) {
        self.settings = settings
    }

    /// The whole number under `key` (`defaultValue` when absent), in `range`.
    public func integer(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = settings[key] else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError("setting \(key)=\(text) is not a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A duration given in milliseconds under `key`.
    public func milliseconds(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Duration {
        .milliseconds(try integer(key, default: defaultValue, in: range))
    }

    /// A duration given in seconds under `key`.
    public func seconds(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Duration {
        .seconds(try integer(key, default: defaultValue, in: range))
    }

    /// Refuses a key that is neither in `known` nor under one of `prefixes` (read by another part of
    /// the service that checks its own keys), naming what is known.
    public func refuseUnknown(known: Set<String>, prefixes: Set<String> = []) throws {
        for key in settings.keys.sorted() where !known.contains(key) {
            if let dot = key.firstIndex(of: "."), prefixes.contains(String(key[..<dot])) { continue }
            throw ConfigurationError("setting \(key) is not one this service reads; it reads \(known.union(prefixes.map { "\($0).*" }).sorted().joined(separator: ", "))")
        }
    }
}
