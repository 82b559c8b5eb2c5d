import Foundation
import Logging
import Synchronization

/// Writes one JSON object a line to standard error (`--log-format json`): `time` (UTC, ms),
/// `level`, `service`, `message`, then the metadata with `-` in keys made `_` (`request_id`,
/// `trace_id`, `duration_ms`), so log shippers index every finished call's method, principal,
/// request id, trace id, status and duration without parsing text.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let service: String

    /// One writer for the process, so lines from several threads never interleave.
    private static let output = Mutex<Void>(())

    public init(label: String, service: String) {
        self.label = label
        self.service = service
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let given = event.metadata { merged.merge(given) { $1 } }
        var line = "{\"time\":\(Self.quoted(Self.timestamp())),\"level\":\(Self.quoted(event.level.rawValue))"
        line += ",\"service\":\(Self.quoted(merged.removeValue(forKey: "service").map { "\($0)" } ?? service))"
        line += ",\"logger\":\(Self.quoted(label)),\"message\":\(Self.quoted("\(event.message)"))"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            // A metadata `message` (a call's status message) must not repeat the line's own key.
            let name = key == "message" ? "status_message" : key.replacingOccurrences(of: "-", with: "_")
            let text = "\(value)"
            // Durations are numbers, so a query can compare them.
            if name.hasSuffix("_ms"), Double(text) != nil {
                line += ",\(Self.quoted(name)):\(text)"
            } else {
                line += ",\(Self.quoted(name)):\(Self.quoted(text))"
            }
        }
        line += "}\n"
        Self.output.withLock { _ in
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    private static func timestamp() -> String {
        let now = Date()
        let seconds = Int64(now.timeIntervalSince1970)
        let millis = Int((now.timeIntervalSince1970 - Double(seconds)) * 1000)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
