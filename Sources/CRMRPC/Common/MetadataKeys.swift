/// Metadata keys the runtime itself reads.
public enum MetadataKeys {
    /// `Bearer <token>`.
    public static let authorization = "authorization"
    /// A caller-chosen id that follows a request through logs of every service it touches.
    public static let requestID = "request-id"
}
