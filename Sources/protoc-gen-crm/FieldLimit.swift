import Foundation
import SwiftProtobufPluginLibrary

/// The length limit a string field's comment documents: "At most N bytes" (N may have thousands
/// separators), in the comment above the field or after it on its line; 256 bytes when it says none.
enum FieldLimit {
    static let defaultMaxBytes = 256

    static func maxBytes(_ field: FieldDescriptor) -> Int {
        let location = field.sourceCodeInfoLocation
        let comments = [location?.leadingComments ?? "", location?.trailingComments ?? ""].joined(separator: " ")
        return parse(comments) ?? defaultMaxBytes
    }

    static func parse(_ comment: String) -> Int? {
        guard let range = comment.range(of: #"[Aa]t most ([0-9][0-9,]*) bytes"#, options: .regularExpression) else { return nil }
        let digits = comment[range].filter(\.isNumber)
        return Int(digits)
    }

    static func isType(_ message: Descriptor?, _ fullName: String) -> Bool {
        guard let message else { return false }
        return message.fullName == fullName || message.fullName == "." + fullName
    }
}
