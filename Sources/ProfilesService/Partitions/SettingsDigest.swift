import CRMPartitions
import CRMRPC
import CRMServiceHost
import CustomerDimensions
import Foundation

/// What decides a profiles process's answers beyond its data, as one short value that every owner
/// of a firm must share (docs/partitioning.md §2, §5).
///
/// Classification schemes and `assessment.validity_years` come from each process's configuration,
/// not from a store, so two owners started with different settings would classify the same kind
/// of customer differently — and a merged count or search would add the two without anyone
/// noticing. The digest covers P, every classification threshold (defaults included, so writing a
/// default out explicitly changes nothing) and the assessment validity; a process answers it in
/// GetPartitionMap, sends it with every call it forwards, and refuses a forwarded call whose
/// digest is not its own. Operational settings (page sizes, intervals, the owner's name) are
/// deliberately outside it: they do not change an answer.
struct SettingsDigest: Sendable, Equatable, CustomStringConvertible {
    /// 16 lowercase hex digits.
    let value: String

    /// The metadata entry a forwarded call carries: the forwarding process's digest.
    static let metadataKey = "crm-settings-digest"

    /// The fields, in a fixed order of keys (JSON with sorted keys of the synthesized coding keys),
    /// hashed with the partition function's FNV-1a 64.
    init(partitioning: Partitioning, assessmentValidityYears: Int32, classification: ClassificationConfiguration) throws {
        struct Canonical: Encodable {
            let partitions: Int
            let assessmentValidityYears: Int32
            let classification: ClassificationConfiguration
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text: Data
        do {
            text = try encoder.encode(Canonical(partitions: partitioning.count, assessmentValidityYears: assessmentValidityYears,
                                                classification: classification))
        } catch {
            throw ConfigurationError("cannot write the profiles settings' digest: \(error)")
        }
        let hash = Partitioning.fnv1a64(String(decoding: text, as: UTF8.self))
        let hex = String(hash, radix: 16)
        value = String(repeating: "0", count: 16 - hex.count) + hex
    }

    var description: String { value }

    /// Refuses a call another profiles process forwarded with a digest other than `self`: its
    /// answer would be classified by other rules than the forwarder's own customers' (and a
    /// fanned-out part would be merged with them). Calls that were not forwarded, and forwarders
    /// older than the digest (no entry), pass.
    func admit(_ context: CallContext, ownName: String) throws {
        guard let forwarder = context.forwardedBy, let theirs = context.metadataValue(Self.metadataKey), theirs != value else { return }
        throw RPCError(.failedPrecondition, "\(ownName) refuses a call forwarded by \(forwarder.name): their profiles settings differ "
            + "(settings digest \(theirs) there, \(value) here); partitions.count, the classification thresholds and "
            + "assessment.validity_years must be the same on every profiles process")
    }
}
