/// The kinds of personal data the contract marks in its comments (`// pii: id_number`), which
/// protoc-gen-crm turns into each message's ``PersonalDataMaskable`` conformance: the one place that
/// knows which fields hold what, so masking is never restated by a handler.
public enum PersonalDataKind: String, Sendable, Hashable, CaseIterable, Codable {
    case name
    case phone
    case email
    case birthDate = "birth_date"
    case address
    case idNumber = "id_number"
}

/// A message that carries personal data, directly or in the messages it holds.
public protocol PersonalDataMaskable {
    /// Masks, in place, every field of a kind the masker does not let through.
    mutating func maskPersonalData(_ masker: inout PersonalDataMasker)
}

/// Masks personal data for a caller who may see only `visible` kinds unmasked, and notes whether
/// anything was let through unmasked (the audit trail flags such reads).
///
/// The forms: an ID number keeps its first 4 and last 4 characters (`3101**********2247`); a phone
/// its first 3 and last 4 (`154****2651`); a birth date its year (month and day 0); an address its
/// first part (up to the first 省/市/区/县 or comma); a name its surname (the
/// first word of a name with spaces, else its first character) then `*`; an e-mail address its
/// first character and domain (`w***@example.com`). Empty values stay empty.
public struct PersonalDataMasker: Sendable {
    public let visible: Set<PersonalDataKind>
    /// A non-empty field was left unmasked.
    public private(set) var revealed = false

    public init(visible: Set<PersonalDataKind>) {
        self.visible = visible
    }

    public mutating func text(_ value: inout String, _ kind: PersonalDataKind) {
        guard !value.isEmpty else { return }
        if visible.contains(kind) {
            revealed = true
            return
        }
        value = Self.masked(value, kind)
    }

    /// A date of `kind`: only its year is kept when masked.
    public mutating func date(month: inout Int32, day: inout Int32, _ kind: PersonalDataKind) {
        guard month != 0 || day != 0 else { return }
        if visible.contains(kind) {
            revealed = true
            return
        }
        month = 0
        day = 0
    }

    public static func masked(_ value: String, _ kind: PersonalDataKind) -> String {
        let characters = Array(value)
        switch kind {
        case .idNumber:
            return keep(characters, first: 4, last: 4)
        case .phone:
            return keep(characters, first: 3, last: 4)
        case .name:
            if let space = characters.firstIndex(of: " ") {
                return String(characters[..<space]) + " *"
            }
            return String(characters.prefix(1)) + "*"
        case .email:
            guard let at = characters.firstIndex(of: "@"), at > 0 else { return keep(characters, first: 1, last: 0) }
            return String(characters[0]) + "***" + String(characters[at...])
        case .address:
            // Up to the first administrative level (省, 市, 区, 县) or comma: the province or city
            // stays, the street goes. A value with neither is already only a first part.
            if let cut = characters.firstIndex(where: { $0 == "," || $0 == "，" }) {
                return String(characters[..<cut]) + ", *"
            }
            if let cut = characters.firstIndex(where: { "省市区县".contains($0) }), cut + 1 < characters.count {
                return String(characters[...cut]) + "*"
            }
            return value
        case .birthDate:
            return String(characters.prefix(4))
        }
    }

    /// The first and last characters kept, every one between them a `*`; a value too short to
    /// keep both ends is all stars.
    private static func keep(_ characters: [Character], first: Int, last: Int) -> String {
        guard characters.count > first + last else { return String(repeating: "*", count: characters.count) }
        return String(characters.prefix(first)) + String(repeating: "*", count: characters.count - first - last) + String(characters.suffix(last))
    }
}
