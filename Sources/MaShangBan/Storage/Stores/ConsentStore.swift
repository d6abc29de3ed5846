import Foundation
import GRDB

/// `consents` and `consent_licences`: what a holder agreed to, and which licences.
enum ConsentStore {
    static func insert(_ consent: Consent, agentBox: [UInt8]?, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO consents (id, client_id, holder_kind, holder_ref, agent_ref, agent_box, item, hall, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute { values in  // once a consent given, on the writer
            values.bind(consent.id)
            values.bind(consent.clientID)
            values.bind(consent.holderKind.rawValue)
            values.bind(consent.holderRef)
            values.bind(consent.agentRef)
            if let agentBox { values.bind(agentBox) } else { values.bindNull() }
            values.bind(consent.item)
            values.bind(consent.hall)
            values.bind(consent.createdAt.text)
            values.bind(consent.expiresAt.text)
        }
        for (position, id) in consent.licenceIDs.enumerated() {
            try db.cachedStatement(sql: "INSERT INTO consent_licences (consent_id, licence_id, position) VALUES (?, ?, ?)").execute { values in
                values.bind(consent.id)
                values.bind(id)
                values.bind(Int64(position))
            }
        }
    }

    /// A consent without its licence list (`licenceIDs` empty); nil when there is none.
    static func consent(_ id: String, _ db: Database) throws -> Consent? {
        try db.cachedStatement(sql: """
            SELECT id, client_id, holder_kind, holder_ref, agent_ref, item, hall, created_at, expires_at, withdrawn_at
            FROM consents WHERE id = ?
            """).firstRow(binding: { $0.bind(id) }) { row in
            Consent(id: try row.value(0), clientID: try row.value(1), holderKind: HolderKind(rawValue: try row.value(2)) ?? .person,
                    holderRef: try row.value(3), agentRef: try row.value(4), item: try row.value(5), hall: try row.value(6),
                    licenceIDs: [], createdAt: Timestamp(stored: try row.value(7)), expiresAt: Timestamp(stored: try row.value(8)),
                    withdrawn: (try row.value(9) as String?) != nil)
        }
    }

    /// The holder a consent of `clientID` is for; nil when it is not that client's.
    static func holderRef(of id: String, clientID: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT holder_ref FROM consents WHERE id = ? AND client_id = ?"), arguments: [id, clientID])
    }

    /// The sealed agent id of an enterprise's consent.
    static func agentBox(_ id: String, _ db: Database) throws -> [UInt8]? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT agent_box FROM consents WHERE id = ?"), arguments: [id]).map { [UInt8]($0) }
    }

    /// Marks a consent withdrawn at `instant`; false when it was withdrawn already.
    static func withdraw(_ id: String, at instant: Date, _ db: Database) throws -> Bool {
        try db.cachedStatement(sql: "UPDATE consents SET withdrawn_at = ? WHERE id = ? AND withdrawn_at IS NULL")
            .execute(arguments: [Timestamp.string(instant), id])
        return db.changesCount == 1
    }

    /// The live consents an agent holds for an enterprise at `instant`.
    static func live(holderRef: String, agentRef: String, at instant: Date, _ db: Database) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: """
            SELECT id FROM consents WHERE holder_ref = ? AND agent_ref = ? AND withdrawn_at IS NULL AND expires_at > ?
            """), arguments: [holderRef, agentRef, Timestamp.string(instant)])
    }

    /// The live consents an app client holds at `instant`.
    static func live(clientID: String, at instant: Date, _ db: Database) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: """
            SELECT id FROM consents WHERE client_id = ? AND withdrawn_at IS NULL AND expires_at > ?
            """), arguments: [clientID, Timestamp.string(instant)])
    }
}
