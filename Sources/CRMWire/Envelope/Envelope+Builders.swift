import Foundation

/// Small constructors so callers never assemble envelopes field by field.
extension Envelope {
    public static func request(_ request: WireRequest) -> Envelope {
        var envelope = Envelope()
        envelope.kind = .request(request)
        return envelope
    }

    /// A response frame. `status` nil means a streamed message that does not end the call.
    public static func response(callID: UInt64, payload: Data = Data(), status: WireStatus?) -> Envelope {
        var response = WireResponse()
        response.callID = callID
        response.payload = payload
        if let status {
            response.endOfStream = true
            response.status = status
        }
        var envelope = Envelope()
        envelope.kind = .response(response)
        return envelope
    }

    public static func cancel(callID: UInt64) -> Envelope {
        var envelope = Envelope()
        envelope.kind = .cancel(.with { $0.callID = callID })
        return envelope
    }

    public static func ping(_ opaque: UInt64) -> Envelope {
        var envelope = Envelope()
        envelope.kind = .ping(.with { $0.opaque = opaque })
        return envelope
    }

    public static func pong(_ opaque: UInt64) -> Envelope {
        var envelope = Envelope()
        envelope.kind = .pong(.with { $0.opaque = opaque })
        return envelope
    }

    public static func goAway(lastCallID: UInt64, reason: String) -> Envelope {
        var envelope = Envelope()
        envelope.kind = .goAway(.with {
            $0.lastCallID = lastCallID
            $0.reason = reason
        })
        return envelope
    }
}

extension WireRequest {
    /// The value of the first metadata entry with this key (keys are lower-case).
    public func metadataValue(_ key: String) -> String? {
        metadata.first { $0.key == key }?.value
    }
}

extension MetadataEntry {
    public init(_ key: String, _ value: String) {
        self.init()
        self.key = key
        self.value = value
    }
}
