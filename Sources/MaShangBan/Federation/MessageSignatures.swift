import Crypto
import Foundation

/// HTTP Message Signatures (RFC 9421) as regions sign their requests to each other, with the
/// body bound by `Content-Digest` (RFC 9530): the parts of a request a signature covers, its
/// signature base, and the `Signature-Input` and `Signature` fields, made and read. Only
/// what 跨域通办 uses is here: one signature per request; components `@method`,
/// `@authority`, `@path`, `@query` and header fields without parameters; parameters
/// `created`, `expires`, `nonce`, `keyid`, `alg` and `tag`; the signer's key named by
/// `keyid` (its algorithm is the key's).
public enum MessageSignatures {
    /// What a signature can cover of a request.
    public struct Request: Sendable {
        public let method: String
        /// Host and port as the request names them (`Host`).
        public let authority: String
        public let path: String
        /// Without the `?`; nil or empty when there is none.
        public let query: String?
        /// Header fields by lowercase name.
        public let fields: [String: String]

        public init(method: String, authority: String, path: String, query: String?, fields: [String: String]) {
            self.method = method
            self.authority = authority.lowercased()
            self.path = path
            self.query = query
            self.fields = Dictionary(fields.map { ($0.key.lowercased(), $0.value) }) { first, _ in first }
        }
    }

    /// A signature's covered components and parameters, in order (an integer or a string each).
    public struct Parameters: Sendable, Equatable {
        public var components: [String]
        public var parameters: [(name: String, value: Value)]

        public enum Value: Sendable, Equatable {
            case integer(Int64)
            case string(String)
        }

        public init(components: [String], parameters: [(name: String, value: Value)]) {
            (self.components, self.parameters) = (components, parameters)
        }

        public static func == (a: Parameters, b: Parameters) -> Bool {
            a.components == b.components && a.parameters.elementsEqual(b.parameters) { $0.name == $1.name && $0.value == $1.value }
        }

        public subscript(name: String) -> Value? { parameters.first { $0.name == name }?.value }

        /// The inner list as RFC 8941 serialises it: `("a" "b");created=1;keyid="k"`.
        public var serialized: String {
            "(" + components.map { "\"\($0)\"" }.joined(separator: " ") + ")" + parameters.map { name, value in
                switch value {
                case .integer(let number): return ";\(name)=\(number)"
                case .string(let text):
                    return ";\(name)=\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
                }
            }.joined()
        }
    }

    public struct SignatureError: Error, Equatable, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The signature base (§2.5): each component's line, then `@signature-params`.
    public static func base(_ parameters: Parameters, of request: Request) throws -> String {
        var lines: [String] = []
        for component in parameters.components {
            guard !lines.contains(where: { $0.hasPrefix("\"\(component)\":") }) else { throw SignatureError("component \(component) is covered twice") }
            lines.append("\"\(component)\": " + (try value(of: component, in: request)))
        }
        lines.append("\"@signature-params\": " + parameters.serialized)
        return lines.joined(separator: "\n")
    }

    static func value(of component: String, in request: Request) throws -> String {
        switch component {
        case "@method": return request.method.uppercased()
        case "@authority": return request.authority
        case "@path": return request.path.isEmpty ? "/" : request.path
        case "@query": return "?" + (request.query ?? "")
        default:
            guard !component.hasPrefix("@"), component == component.lowercased() else {
                throw SignatureError("component \(component) is not one this server signs or checks")
            }
            guard let field = request.fields[component] else { throw SignatureError("the request has no \(component) field") }
            return field.trimmingCharacters(in: .whitespaces)
        }
    }

    /// Signs: the `Signature-Input` and `Signature` field values under `label`.
    public static func sign(_ request: Request, _ parameters: Parameters, label: String, with signer: any SignatureSigner) throws
        -> (input: String, signature: String)
    {
        let signature = try signer.sign(Array(try base(parameters, of: request).utf8))
        return ("\(label)=" + parameters.serialized, "\(label)=:" + Data(signature).base64EncodedString() + ":")
    }

    /// A received signature: its parameters, and the signature bytes.
    public struct Received: Sendable {
        public let label: String
        public let parameters: Parameters
        public let signature: [UInt8]
    }

    /// Reads the one signature of a request's `Signature-Input` and `Signature` fields.
    public static func received(input: String, signature: String) throws -> Received {
        guard let (label, rest) = labelled(input), let (sigLabel, sigRest) = labelled(signature), label == sigLabel else {
            throw SignatureError("Signature-Input and Signature do not name one signature")
        }
        guard sigRest.hasPrefix(":"), sigRest.hasSuffix(":"), sigRest.count >= 2,
              let bytes = Data(base64Encoded: String(sigRest.dropFirst().dropLast())) else {
            throw SignatureError("Signature is not a byte sequence")
        }
        return Received(label: label, parameters: try parse(rest), signature: [UInt8](bytes))
    }

    /// Checks a received signature over `request` with `verifier`.
    public static func verify(_ received: Received, of request: Request, with verifier: any SignatureVerifier) throws -> Bool {
        verifier.isValidSignature(received.signature, for: Array(try base(received.parameters, of: request).utf8))
    }

    /// RFC 9530 `Content-Digest` of a body, with SHA-256 (or SHA-512).
    public static func contentDigest(_ body: [UInt8], sha512: Bool = false) -> String {
        sha512 ? "sha-512=:" + Data(SHA512.hash(data: body)).base64EncodedString() + ":"
            : "sha-256=:" + Data(SHA256.hash(data: body)).base64EncodedString() + ":"
    }

    // MARK: The structured-field subset read here (RFC 8941)

    /// `label=rest` of a one-member dictionary.
    private static func labelled(_ field: String) -> (String, Substring)? {
        let text = field.trimmingCharacters(in: .whitespaces)
        guard let equals = text.firstIndex(of: "=") else { return nil }
        let label = String(text[..<equals])
        guard !label.isEmpty, label.allSatisfy({ $0.isLowercase || $0.isNumber || "_-.*".contains($0) }), label.first?.isLetter == true else { return nil }
        return (label, text[text.index(after: equals)...])
    }

    /// `("a" "b");name=1;other="x"`.
    private static func parse(_ text: Substring) throws -> Parameters {
        var rest = text
        guard rest.first == "(" else { throw SignatureError("Signature-Input is not an inner list") }
        rest = rest.dropFirst()
        var components: [String] = []
        while true {
            rest = rest.drop { $0 == " " }
            if rest.first == ")" { rest = rest.dropFirst(); break }
            guard let (component, after) = string(rest) else { throw SignatureError("a covered component is not a string") }
            guard after.first == " " || after.first == ")" else { throw SignatureError("component parameters are not supported") }
            components.append(component)
            rest = after
        }
        var parameters: [(name: String, value: Parameters.Value)] = []
        while let first = rest.first {
            guard first == ";" else { throw SignatureError("Signature-Input has text after its parameters") }
            rest = rest.dropFirst()
            let name = String(rest.prefix { $0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_" })
            guard !name.isEmpty, !parameters.contains(where: { $0.name == name }) else { throw SignatureError("a parameter is unnamed or repeated") }
            rest = rest.dropFirst(name.count)
            guard rest.first == "=" else { throw SignatureError("parameter \(name) has no value") }
            rest = rest.dropFirst()
            if let (text, after) = string(rest) {
                parameters.append((name, .string(text)))
                rest = after
            } else {
                let digits = rest.prefix { $0.isNumber || $0 == "-" }
                guard let number = Int64(digits), digits.count <= 16 else { throw SignatureError("parameter \(name) is neither a string nor an integer") }
                parameters.append((name, .integer(number)))
                rest = rest.dropFirst(digits.count)
            }
        }
        return Parameters(components: components, parameters: parameters)
    }

    /// An sf-string at the start of `text`, and what follows it.
    private static func string(_ text: Substring) -> (String, Substring)? {
        guard text.first == "\"" else { return nil }
        var out = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            if character == "\\" {
                let next = text.index(after: index)
                guard next < text.endIndex, text[next] == "\"" || text[next] == "\\" else { return nil }
                out.append(text[next])
                index = text.index(after: next)
            } else if character == "\"" {
                return (out, text[text.index(after: index)...])
            } else {
                guard let ascii = character.asciiValue, ascii >= 0x20, ascii < 0x7F else { return nil }
                out.append(character)
                index = text.index(after: index)
            }
        }
        return nil
    }
}
