import CRMProtos
import CRMRPC
import SwiftProtobuf

/// Every message type crmctl can read and print as JSON: the services' contract and health.
enum MessageTypes {
    static let all: [String: any SwiftProtobuf.Message.Type] = {
        var types = CRMMessageRegistry.types
        let runtime: [any SwiftProtobuf.Message.Type] = [
            HealthCheckRequest.self, HealthCheckResponse.self, ListMethodsRequest.self, ListMethodsResponse.self,
            Crm_Rpc_V1_MethodDescriptor.self,
        ]
        for type in runtime { types[type.protoMessageName] = type }
        return types
    }()

    static func type(named name: String) throws -> any SwiftProtobuf.Message.Type {
        guard let type = all[name] else {
            throw CRMCtlError("crmctl does not know the message type \(name); rebuild crmctl from the same proto/ as the service")
        }
        return type
    }

    /// Protobuf JSON → binary, for a request of `type`.
    static func encode(json: String, as type: any SwiftProtobuf.Message.Type) throws -> [UInt8] {
        func open<M: SwiftProtobuf.Message>(_: M.Type) throws -> [UInt8] {
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = false
            return try M(jsonString: json, options: options).serializedBytes()
        }
        return try open(type)
    }

    /// Binary → pretty protobuf JSON, for a response of `type`.
    static func json(bytes: [UInt8], as type: any SwiftProtobuf.Message.Type) throws -> String {
        func open<M: SwiftProtobuf.Message>(_: M.Type) throws -> String {
            var options = JSONEncodingOptions()
            options.preserveProtoFieldNames = true
            let compact = try M(serializedBytes: bytes).jsonString(options: options)
            return JSONPretty.format(compact)
        }
        return try open(type)
    }
}

struct CRMCtlError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
