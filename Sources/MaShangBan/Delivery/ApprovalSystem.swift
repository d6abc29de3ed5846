import Foundation
import GRDB

/// An approval system (审批系统) that receives submissions by webhook. Its signing secret
/// is generated here, shown once, and kept sealed so the server can sign deliveries.
public struct ApprovalSystem: Sendable, Equatable {
    public let code: String
    public let name: String
    public let webhookURL: String
    public let createdAt: Timestamp
}

public struct ApprovalSystemRegistry: Sendable {
    let transactions: Transactions
    let vault: DataVault
    let audit: AuditLog
    let random: any RandomSource
    let now: Now

    public struct Registration: Sendable, Decodable {
        public var code: String
        public var name: String
        public var webhookURL: String

        enum CodingKeys: String, CodingKey {
            case code, name
            case webhookURL = "webhook_url"
        }
    }

    static let codeShape = CodeShape(first: "a-z0-9", "a-z0-9_-", lengths: 2...64)

    /// A webhook address: an http or https URL with a host and no credentials, at most 2048
    /// bytes; else 422 `validation_failed` naming `field`.
    static func validateWebhook(_ text: String, field: String) throws -> String {
        guard text.utf8.count <= 2048, let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased()),
              let host = url.host, !host.isEmpty, url.user == nil, url.password == nil
        else { throw MSBError.validationFailed("\(field) must be an http or https URL with a host and no credentials") }
        return text
    }

    /// Registers an approval system; returns it with its webhook secret (the only time it is shown).
    public func create(_ r: Registration, by actor: AuditActor) async throws -> (system: ApprovalSystem, secret: String) {
        guard Self.codeShape.matches(r.code) else {
            throw MSBError.validationFailed("code must be 2 to 64 lower-case letters, digits, '_' or '-'")
        }
        let name = try MSBError.requireText(r.name, field: "name", maximum: 100)
        _ = try Self.validateWebhook(r.webhookURL, field: "webhook_url")
        let secret = "whsec_" + Encoding.base64URL(random.bytes(32))
        let system = ApprovalSystem(code: r.code, name: name, webhookURL: r.webhookURL, createdAt: Timestamp(now()))
        let box = try vault.seal(secret, context: "approval_system:\(r.code):secret")
        let audit = self.audit
        try await transactions.write { db in
            if try ApprovalSystemStore.exists(system.code, db) {
                throw MSBError(.approvalSystemExists, "approval system \(system.code) exists already")
            }
            try ApprovalSystemStore.insert(system, secretBox: box, db)
            try audit.append(db, actor: actor, action: "approval_system.created", object: "approval_system:\(system.code)")
        }
        return (system, secret)
    }

    public func list() async throws -> [ApprovalSystem] {
        try await transactions.read { db in
            try ApprovalSystemStore.all(db)
        }
    }

    /// Points a system's webhook at `url` (`serve --demo` keeps its stand-in on the server's
    /// current address); audited as `approval_system.updated` when it changed.
    public func repoint(_ code: String, to url: String, by actor: AuditActor) async throws {
        let audit = self.audit
        try await transactions.write { db in
            if try ApprovalSystemStore.setWebhook(code, to: url, db) {
                try audit.append(db, actor: actor, action: "approval_system.updated", object: "approval_system:\(code)")
            }
        }
    }

    /// The webhook signing secret of a system (for the delivery worker).
    public func secret(of code: String) async throws -> String? {
        let vault = self.vault
        return try await transactions.read { db in try Self.secret(of: code, vault: vault, db) }
    }

    static func secret(of code: String, vault: DataVault, _ db: Database) throws -> String? {
        guard let box = try ApprovalSystemStore.secretBox(code, db) else { return nil }
        return try vault.open(box, context: "approval_system:\(code):secret")
    }
}
