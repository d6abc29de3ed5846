import ArgumentParser
import Foundation
import MaShangBan

/// `mashangban face-auth-stub`: a stand-in face-auth provider for demos and tests. It makes
/// a key pair and signs attestations exactly as docs/API.md says a real provider must.
public struct FaceAuthStubCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "face-auth-stub", abstract: "A stand-in face-auth provider: make a key, sign attestations.",
        subcommands: [Keygen.self, Sign.self])

    public init() {}

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a provider key pair; print the body that registers it (POST /v1/face-auth/providers).")

        @Option(help: "EdDSA (Ed25519) or SM2.") var alg: String = "EdDSA"
        @Option(help: "Where to write the private key (PEM, mode 0600).") var out: String = "face-auth-stub.pem"
        @Option(help: "The provider's name in the registration body.") var name: String = "人脸识别 stub"

        func run() throws {
            guard let algorithm = SignatureAlgorithm(rawValue: alg) else { throw ValidationError("--alg must be EdDSA or SM2") }
            let signer = try CryptoSuite(profile: algorithm == .sm2 ? .gm : .intl).signatures.generate()
            let url = URL(fileURLWithPath: out)
            guard !FileManager.default.fileExists(atPath: url.path) else { throw ValidationError("\(out) exists; not overwriting it") }
            try DataDirectory.writeSecret(Array(try signer.privateKeyPEM().utf8), to: url)
            let body: [String: String] = ["name": name, "public_key_pem": try signer.verifier.publicKeyPEM()]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(body), as: UTF8.self))
            FileHandle.standardError.write(Data("private key in \(out); provider id (kid) \(CryptoSuite.keyID(of: signer.verifier))\n".utf8))
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an attestation (JWS) that the person `--sub` was seen.")

        @Option(help: "The provider's private key (PEM) from keygen.") var key: String
        @Option(help: "Citizen ID of the person seen.") var sub: String
        @Option(help: "The challenge nonce (POST /v1/face-auth/challenges); write --nonce=N, as a nonce may begin with \"-\".") var nonce: String
        @Option(help: "pass or fail.") var result: String = "pass"
        @Option(help: "Match score, 0 to 1.") var score: Double = 0.97
        @Option(help: "Issued-at, Unix seconds (default: now).") var iat: Int64?
        @Option(help: "kid to put in the header (default: the key's provider id).") var kid: String?

        func run() throws {
            let pem = String(decoding: try Data(contentsOf: URL(fileURLWithPath: key)), as: UTF8.self)
            let signer = try SignatureKeys.loadSigner(privateKeyPEM: pem)
            let claims = FaceAuth.Claims(sub: sub, nonce: nonce, result: result, score: score,
                                         iat: iat ?? Int64(Date().timeIntervalSince1970))
            print(try FaceAuth.attestation(claims, signer: signer, kid: kid))
        }
    }
}
