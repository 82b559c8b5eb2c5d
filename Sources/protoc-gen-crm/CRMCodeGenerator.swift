import SwiftProtobuf
import SwiftProtobufPluginLibrary

/// `protoc-gen-crm`: the project's own protoc plugin. Beside protoc-gen-swift's messages it writes,
/// for each .proto file, what the contract says beyond the wire types, so that it lives in one
/// place, the .proto files, and no handler or client spells it again:
/// - `checks` (parameter `checks`): the field checks every request passes (no U+0000, the length
///   limits the comments give, real dates);
/// - `methods` (parameter `methods`): a typed descriptor per `rpc` line, which the router and the
///   client take instead of method-name strings;
/// - `pii` (parameter `pii`): how each message holding personal data (fields marked `pii: <kind>`)
///   masks it, which the router applies to every answer for callers who may not see it.
///
/// Run by scripts/generate-proto.sh; output names follow protoc-gen-swift's `PathToUnderscores`
/// (`crm/profiles/v1/profiles.proto` → `crm_profiles_v1_profiles.checks.swift`,
/// `crm_profiles_v1_profiles.methods.swift`). Without a parameter both are written.
@main
struct CRMCodeGenerator: CodeGenerator {
    static func main() {
        CRMCodeGenerator().main(nil)
    }

    var supportedFeatures: [Google_Protobuf_Compiler_CodeGeneratorResponse.Feature] { [.proto3Optional] }

    var version: String? { "1" }

    func generate(
        files: [FileDescriptor],
        parameter: any CodeGeneratorParameter,
        protoCompilerContext: any ProtoCompilerContext,
        generatorOutputs: any GeneratorOutputs
    ) throws {
        let wanted = Set(parameter.parsedPairs.map(\.key))
        let checks = wanted.isEmpty || wanted.contains("checks")
        let methods = wanted.isEmpty || wanted.contains("methods")
        let personalData = wanted.isEmpty || wanted.contains("pii")
        for file in files {
            let base = String(file.name.dropLast(".proto".count)).replacingOccurrences(of: "/", with: "_")
            let namer = SwiftProtobufNamer(currentFile: file, protoFileToModuleMappings: ProtoFileToModuleMappings())
            if checks {
                try generatorOutputs.add(fileName: "\(base).checks.swift", contents: FieldChecksFile(file: file, namer: namer).render())
            }
            let piiFile = PersonalDataFile(file: file, namer: namer)
            if personalData, !piiFile.isEmpty {
                try generatorOutputs.add(fileName: "\(base).pii.swift", contents: piiFile.render())
            }
            let methodsFile = MethodsFile(file: file, namer: namer)
            if methods, !methodsFile.isEmpty {
                try generatorOutputs.add(fileName: "\(base).methods.swift", contents: methodsFile.render())
            }
        }
    }
}
