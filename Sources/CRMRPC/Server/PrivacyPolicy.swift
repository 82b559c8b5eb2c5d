import SwiftProtobuf

/// Which kinds of personal data each role sees unmasked; every other caller gets them masked
/// (``PersonalDataMasker``). Applied by the router to every answer as it is built, the one place
/// masking happens: handlers return what they have, and a method added later is masked too.
///
/// A principal sees the union of its roles' kinds. Reads that let something through unmasked are
/// flagged in the audit trail (``CallAudit/markUnmasked()``).
public struct PrivacyPolicy: Sendable, Hashable {
    public var visibleByRole: [String: Set<PersonalDataKind>]

    public init(visibleByRole: [String: Set<PersonalDataKind>]) {
        self.visibleByRole = visibleByRole
    }

    /// The shipped policy: compliance, the services copying each other's data, the feeds that write
    /// it and operators (`admin`) see everything; a client manager's workbench sees what calling and
    /// writing to their customers needs, not ID numbers; every other role (head office, managers
    /// outside the workbench, marketing, the website) sees it masked.
    public static let standard = PrivacyPolicy(visibleByRole: [
        "compliance": Set(PersonalDataKind.allCases),
        "service": Set(PersonalDataKind.allCases),
        "ingest": Set(PersonalDataKind.allCases),
        Principal.adminRole: Set(PersonalDataKind.allCases),
        "workbench": [.name, .phone, .email, .birthDate, .address],
    ])

    public func visible(for principal: Principal?) -> Set<PersonalDataKind> {
        guard let principal else { return [] }
        var kinds: Set<PersonalDataKind> = []
        for role in principal.roles {
            if let visible = visibleByRole[role] { kinds.formUnion(visible) }
        }
        return kinds
    }

    /// Masks what `principal` may not see in `message`, if it holds personal data; notes an
    /// unmasked read on the current call's audit.
    public func mask<Message: SwiftProtobuf.Message>(_ message: inout Message, for principal: Principal?) {
        mask(&message, visible: visible(for: principal))
    }

    /// Masks what is not in `visible` (the caller's kinds, worked out once per call). A caller who
    /// sees every kind, with no audit listening for unmasked reads, costs nothing: the message is
    /// neither walked nor copied (the services' feeds and copies).
    public func mask<Message: SwiftProtobuf.Message>(_ message: inout Message, visible: Set<PersonalDataKind>) {
        if visible.count == PersonalDataKind.allCases.count, CallAudit.current == nil { return }
        guard var maskable = message as? any PersonalDataMaskable else { return }
        var masker = PersonalDataMasker(visible: visible)
        maskable.maskPersonalData(&masker)
        if let masked = maskable as? Message { message = masked }
        if masker.revealed { CallAudit.current?.markUnmasked() }
    }
}
