import CFuzzDriver
import Foundation
@testable import MaShangBan

/// libFuzzer targets (issue 8) for the parsers that read what strangers send: the JWS
/// parser (QR and window tokens, face-auth attestations), the NDJSON line decoder of batch
/// import, and the identity validators. Built by `make fuzz` with `-sanitize=fuzzer,address`
/// and `-DFUZZING` (and `MSB_FUZZING` for the C driver); `MSB_FUZZ_TARGET` (jws, ndjson or identity) picks the target. Without
/// FUZZING this is a replayer: `mashangban-fuzz TARGET FILE…` runs a target on saved inputs.
enum FuzzTarget: String, CaseIterable {
    case jws, ndjson, identity

    static let today = Date(timeIntervalSince1970: 1_795_000_000)

    func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        switch self {
        case .jws:
            if let parsed = try? JWS.parse(text) {
                _ = parsed.payload
                _ = try? parsed.claims(QRToken.self)
                _ = try? parsed.claims(FaceAuth.Claims.self)
            }
        case .ndjson:
            // What the compact reader accepts, the general parsers must read alike.
            if let compact = LicenceSubmission.compact(bytes) {
                precondition((try? LicenceSubmission.general(bytes, fallback: JSONDecoder())) == compact)
            }
            guard let submission = try? LicenceSubmission.decode(line: bytes, fallback: JSONDecoder()) else { return }
            for type in LicenceType.builtIns {
                _ = try? ValidatedLicence(submission, type: type, today: Self.today)
            }
            _ = try? ValidatedLicence(submission, type: nil, today: Self.today)
        case .identity:
            if let id = try? CitizenID(text, field: "id", today: Self.today) {
                // What is accepted must survive a second look unchanged.
                precondition((try? CitizenID(id.value, field: "id", today: Self.today))?.value == id.value)
            }
            if let code = try? CreditCode(text) { precondition((try? CreditCode(code.value))?.value == code.value) }
            _ = try? HolderID(either: text, field: "holder", today: Self.today)
            if let date = CalendarDate(text) { precondition(CalendarDate(date.text) == date) }
        }
    }
}

#if FUZZING
private let target = FuzzTarget(rawValue: ProcessInfo.processInfo.environment["MSB_FUZZ_TARGET"] ?? "") ?? {
    fatalError("set MSB_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue))")
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    target.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@main
struct Fuzz {
    static func main() {
        _ = target  // fail at once on a missing MSB_FUZZ_TARGET
        exit(msb_fuzz_driver(CommandLine.argc, CommandLine.unsafeArgv))
    }
}
#else
@main
struct Replay {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: mashangban-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE…")
            return
        }
        for path in arguments.dropFirst() {
            target.run([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        }
        print("replayed \(arguments.count - 1) inputs through \(name)")
    }
}
#endif
