import ArgumentParser
import CRMRPC
import Foundation
import NIOCore

/// `crmctl call SERVICE METHOD JSON`: any method, request in protobuf JSON, response printed as
/// JSON — like grpcurl. The method's types come from the service's own ListMethods.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a method with a JSON request and print the JSON response.",
        discussion: """
        METHOD is the full name (/crm.profiles.v1.Profiles/GetCustomer), Service/Method, or just the
        method's name when it is unique. JSON is the request in protobuf JSON ('{}' for an empty one;
        '-' reads it from standard input). Streaming methods print one JSON document per message.
        """
    )

    @Argument(help: "profiles, products, matching or compensation.")
    var service: String

    @Argument(help: "The method to call.")
    var method: String

    @Argument(help: "The request as protobuf JSON.")
    var json: String = "{}"

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Int = 30

    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let topology = try cluster.loadTopology()
        let client = RPCClient(configuration: ClientConfiguration(
            endpoints: try topology.endpoints(of: service),
            security: try cluster.clientSecurity(),
            token: cluster.effectiveToken,
            defaultDeadline: .seconds(Int64(timeout))
        ))
        defer { Task { await client.close() } }
        let descriptor = try await resolve(method: method, on: client)
        let requestType = try MessageTypes.type(named: descriptor.requestType)
        let responseType = try MessageTypes.type(named: descriptor.responseType)
        let text = json == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : json
        let payload: [UInt8]
        do {
            payload = try MessageTypes.encode(json: text, as: requestType)
        } catch {
            throw CRMCtlError("the JSON is not a valid \(descriptor.requestType): \(error)")
        }
        do {
            if descriptor.serverStreaming {
                let stream = try await client.serverStreamingRaw(descriptor.name, payload: Data(payload))
                for try await message in stream {
                    print(try MessageTypes.json(bytes: [UInt8](message), as: responseType))
                }
            } else {
                let response = try await client.unaryRaw(descriptor.name, payload: Data(payload))
                print(try MessageTypes.json(bytes: [UInt8](response), as: responseType))
            }
        } catch let error as RPCError {
            throw CRMCtlError(error.description)
        }
    }

    /// Finds the method on the service by full name, Service/Method, or a unique method name.
    private func resolve(method: String, on client: RPCClient) async throws -> Crm_Rpc_V1_MethodDescriptor {
        let listing: ListMethodsResponse
        do {
            listing = try await client.unary(Crm_Rpc_V1_Health.listMethods, ListMethodsRequest(), options: .timeout(.seconds(5)))
        } catch {
            throw CRMCtlError("cannot list the methods of \(service): \(error)")
        }
        let wanted = method.hasPrefix("/") ? method : "/" + method
        let matches = listing.methods.filter { candidate in
            candidate.name == wanted || candidate.name.hasSuffix("." + wanted.dropFirst()) || candidate.name.hasSuffix(wanted)
        }
        guard matches.count == 1, let found = matches.first else {
            let names = listing.methods.map(\.name).joined(separator: "\n  ")
            let problem = matches.isEmpty ? "unknown method \(method)" : "method \(method) is ambiguous"
            throw CRMCtlError("\(problem) on \(service); it has:\n  \(names)")
        }
        return found
    }
}

/// `crmctl methods SERVICE`: what a service answers and who may call it.
struct MethodsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "methods", abstract: "List a service's methods.")

    @Argument var service: String
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let client = RPCClient(configuration: ClientConfiguration(endpoints: try cluster.loadTopology().endpoints(of: service),
                                                                  security: try cluster.clientSecurity(), defaultDeadline: .seconds(5)))
        let listing = try await client.unary(Crm_Rpc_V1_Health.listMethods, ListMethodsRequest())
        for method in listing.methods {
            let access = method.requiresAuthentication ? "roles: " + method.allowedRoles.joined(separator: ",") : "open"
            print("\(method.name)\(method.serverStreaming ? " (stream)" : "")  \(method.requestType) -> \(method.responseType)  [\(access)]")
        }
        await client.close()
    }
}
