import SwiftProtobuf
import SwiftProtobufPluginLibrary

/// `protoc-gen-crm`: the project's own protoc plugin. Beside protoc-gen-swift's messages it writes,
/// for each .proto file, what the contract says beyond the wire types — the field checks every
/// request passes (no U+0000, the length limits the comments give, real dates) — so that the rules
/// live in one place, the .proto files, and no handler spells them again.
///
/// Run by scripts/generate-proto.sh; output names follow protoc-gen-swift's `PathToUnderscores`
/// (`crm/profiles/v1/profiles.proto` → `crm_profiles_v1_profiles.checks.swift`).
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
        for file in files {
            let base = String(file.name.dropLast(".proto".count)).replacingOccurrences(of: "/", with: "_")
            let namer = SwiftProtobufNamer(currentFile: file, protoFileToModuleMappings: ProtoFileToModuleMappings())
            try generatorOutputs.add(fileName: "\(base).checks.swift", contents: FieldChecksFile(file: file, namer: namer).render())
        }
    }
}
