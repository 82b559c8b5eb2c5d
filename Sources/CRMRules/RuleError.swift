/// Why a rule text is refused, and where: the 1-based position of the offending character.
///
/// Positions count Unicode scalar values (code points) from 1, not bytes or UTF-16 units, so
/// `province = "上海" and x` has `and` at position 17. The position is that of the token where the
/// problem was found; when the text ended too early, it is one past the last character.
/// `description` reads `position 17: expected a value after '<'`.
public struct RuleError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based position in Unicode scalars of the text that was parsed.
    public var position: Int
    /// What is wrong, for people; it quotes the text it talks about.
    public var reason: String

    public init(position: Int, reason: String) {
        self.position = position
        self.reason = reason
    }

    public var description: String { "position \(position): \(reason)" }
}
