import Foundation
import GRDB

/// `agent_authorisations`: which persons act for which enterprise, until when, granted by whom.
enum AgentStore {
    /// Grants (or renews) an authorisation.
    static func grant(enterpriseRef: String, agentRef: String, until: CalendarDate, grantedBy: String, at instant: Date,
                      _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO agent_authorisations (enterprise_ref, agent_ref, valid_until, created_at, granted_by_ref) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (enterprise_ref, agent_ref) DO UPDATE SET valid_until = excluded.valid_until,
                created_at = excluded.created_at, withdrawn_at = NULL, granted_by_ref = excluded.granted_by_ref
            """).execute(arguments: [enterpriseRef, agentRef, until.text, Timestamp.string(instant), grantedBy])
    }

    /// The agents whose live grant `representativeRef` made (or that predate recorded grantors).
    static func grantedBy(_ representativeRef: String, enterpriseRef: String, _ db: Database) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: """
            SELECT agent_ref FROM agent_authorisations
            WHERE enterprise_ref = ? AND withdrawn_at IS NULL AND (granted_by_ref = ? OR granted_by_ref IS NULL)
            """), arguments: [enterpriseRef, representativeRef])
    }

    /// Ends a live authorisation; false when there was none.
    static func withdraw(enterpriseRef: String, agentRef: String, at instant: Date, _ db: Database) throws -> Bool {
        try db.cachedStatement(sql: """
            UPDATE agent_authorisations SET withdrawn_at = ?
            WHERE enterprise_ref = ? AND agent_ref = ? AND withdrawn_at IS NULL
            """).execute(arguments: [Timestamp.string(instant), enterpriseRef, agentRef])
        return db.changesCount == 1
    }

    /// Whether the agent holds a live authorisation on `today`.
    static func isAuthorised(enterpriseRef: String, agentRef: String, today: CalendarDate, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT 1 FROM agent_authorisations
            WHERE enterprise_ref = ? AND agent_ref = ? AND withdrawn_at IS NULL AND valid_until >= ?
            """), arguments: [enterpriseRef, agentRef, today.text]) ?? false
    }
}
