/// The sizes a peer may not exceed. Checked on the announced length, before any body is buffered,
/// so a hostile length prefix never allocates.
public struct WireLimits: Sendable, Hashable {
    /// The largest envelope (the frame body, without its 4-byte prefix) accepted or sent.
    public var maxFrameLength: Int

    /// 4 MiB: room for a batch of a few thousand ingestion events, small enough that one peer
    /// cannot pin much memory.
    public static let defaultMaxFrameLength = 4 * 1024 * 1024

    public init(maxFrameLength: Int = WireLimits.defaultMaxFrameLength) {
        self.maxFrameLength = maxFrameLength
    }

    /// The number of bytes in a frame's length prefix.
    public static let prefixLength = 4
}
