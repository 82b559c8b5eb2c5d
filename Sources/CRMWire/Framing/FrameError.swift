/// Why a byte stream could not be read as frames. Each of these ends the connection: after a bad
/// prefix the stream has no trustworthy frame boundary left.
public enum FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The prefix announced more bytes than ``WireLimits/maxFrameLength``.
    case frameTooLarge(announced: UInt32, limit: Int)
    /// The connection ended in the middle of a frame.
    case truncatedFrame(bufferedBytes: Int)

    public var description: String {
        switch self {
        case let .frameTooLarge(announced, limit):
            return "frame of \(announced) bytes exceeds the limit of \(limit) bytes"
        case let .truncatedFrame(buffered):
            return "connection ended inside a frame (\(buffered) bytes buffered)"
        }
    }
}
