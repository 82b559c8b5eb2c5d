/// Metadata keys the runtime itself reads.
public enum MetadataKeys {
    /// `Bearer <token>`.
    public static let authorization = "authorization"
    /// A caller-chosen id that follows a request through logs of every service it touches.
    public static let requestID = "request-id"
    /// W3C trace context (`00-<trace id>-<parent span id>-<flags>`): the server logs its trace id
    /// with the call (proto/README.md).
    public static let traceparent = "traceparent"
}
