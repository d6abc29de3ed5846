import Foundation
import GRDB

/// A window session (一码获取): the window shows a code for an item; the holder's app scans
/// it and claims the session with a consent; the window long-polls for the result.
public struct WindowSession: Sendable, Equatable {
    public let id: String
    public let token: String
    public let expiresAt: Timestamp
}

/// What `GET /v1/window-sessions/{id}` answers: `waiting`, `claimed` (with the same view a
/// scan gives the window) or `expired`.
public enum WindowSessionState: Sendable, Equatable {
    case waiting
    case claimed(WindowView)
    case expired
}

public struct WindowSessions: Sendable {
    /// Does a claim's hand-over, as a scan's.
    let scans: Scans
    /// Region, token lifetime and signing key, as codes have them.
    let presentations: Presentations
    /// Woken when a session is claimed, so long polls answer at once.
    let claimed = Broadcast()

    let transactions: Transactions
    let vault: DataVault
    let audit: AuditLog
    let random: any RandomSource
    let now: Now

    /// The longest long poll.
    public static let maximumWait = 30

    /// Opens a session for an item at this terminal: 404 `item_unknown`. The token (`typ`
    /// window, `aud` the terminal's hall) lives as long as presentation codes do.
    public func open(item code: String, terminal: Client) async throws -> WindowSession {
        // A terminal registered before hall codes had one length limit may name a hall too
        // long for a token: it must be registered again with a shorter one.
        try Hall.validate(terminal.hall ?? "", field: "this terminal's hall")
        let instant = now()
        let claims = QRToken.make(kind: .window, region: presentations.region, hall: terminal.hall, issuedAt: instant,
                                  expiresAt: instant.addingTimeInterval(TimeInterval(presentations.tokenLifetime)), random: random)
        let session = WindowSession(id: random.sortableIdentifier(prefix: "win", at: instant),
                                    token: try claims.signed(with: presentations.keyring.active),
                                    expiresAt: Timestamp(Date(timeIntervalSince1970: TimeInterval(claims.exp))))
        let audit = audit
        try await transactions.unit { db in
            guard try ItemStore.exists(code, db) else { throw MSBError.itemUnknown }
            try WindowSessionStore.insert(id: session.id, terminalID: terminal.id, item: code, jti: claims.jti, token: session.token,
                                          at: instant, expiresAt: session.expiresAt, db)
            try audit.append(db, actor: .client(terminal.id), action: "window_session.opened", object: "window_session:\(session.id)",
                             detail: ["item": .string(code)])
        }
        return session
    }

    /// The holder's app claims a session with a consent of its own. The checks of a scan:
    /// 422 `token_invalid` (also for a `present` token), 410 `token_expired`, 409
    /// `token_used`, 404 `not_found` (not this app's consent), 403 `wrong_hall`,
    /// `consent_expired`, `consent_scope`, `agent_not_authorized`, 409 `licence_revoked` /
    /// `licence_expired`. Refusals are audited as `scan.rejected`.
    public func claim(token: String, consent consentID: String, client: Client) async throws -> (session: String, submission: String) {
        let instant = now()
        var jti: String?
        do {
            // As a scan's: a session's own token, as signed, is compared with it instead of verified.
            let (region, keyring) = (presentations.region, presentations.keyring)
            let unverified = QRToken.unverified(token, kind: .window, region: region, keyring: keyring, now: instant)
            jti = unverified?.jti
            let outcome: (session: String, submission: String)
            if let unverified, let recognised = try await TokenNotRecognised.orNil({
                try await claim(unverified, sessionToken: token, consent: consentID, client: client, at: instant)
            }) {
                outcome = recognised
            } else {
                jti = nil
                let claims = try QRToken.verify(token, kind: .window, region: region, keyring: keyring, now: instant)
                jti = claims.jti
                outcome = try await claim(claims, sessionToken: nil, consent: consentID, client: client, at: instant)
            }
            claimed.fire(outcome.session)
            scans.delivery.fire()
            return outcome
        } catch let error as MSBError {
            try await scans.recordRejection(error.code, jti: jti, item: nil, by: client, at: instant)
            throw error
        }
    }

    /// A claim's hand-over and the session's end, in one unit. `token`, for a token read without
    /// its signature, must be the session's (else `TokenNotRecognised`).
    private func claim(_ claims: QRToken, sessionToken token: String?, consent consentID: String, client: Client,
                       at instant: Date) async throws -> (session: String, submission: String) {
        let (scans, masks) = (self.scans, scans.masks)
        let submissionID = random.sortableIdentifier(prefix: "sub", at: instant)
        let vault = self.vault
        // As a scan's: worked out ahead (`Scans.preparedUnit`), stored if the session still waits.
        let prepare = { @Sendable (db: Database) throws -> (session: String, window: Client, prepared: Scans.Prepared, box: [UInt8]) in
            guard let session = try WindowSessionStore.session(jti: claims.jti, db), token == nil || token == session.token else {
                if token != nil { throw TokenNotRecognised() }
                throw MSBError(.tokenInvalid, "the token was not issued here")
            }
            let sessionID = session.id
            guard let window = try? ClientRegistry.fetch(db, id: session.terminalID) else {
                throw MSBError(.tokenRevoked, "the window that showed the code is no longer registered")
            }
            guard session.state == .waiting else { throw MSBError.tokenUsed }
            guard let consent = try ConsentStore.consent(consentID, db), consent.clientID == client.id else {
                throw MSBError.notFound("no such consent")
            }
            if let hall = consent.hall, hall != claims.aud {
                throw MSBError(.wrongHall, "the consent is for another service hall")
            }
            let item = try ItemRegistry.find(db, session.item)
            let prepared = try scans.prepareHandOver(consent, item: item, terminal: window, source: .windowSession(sessionID),
                                                     submissionID: submissionID, at: instant, db)
            let view = prepared.handedOver.windowView(masks: masks)
            return (sessionID, window, prepared, try vault.seal(view.storedText, context: "window_session:\(sessionID):result"))
        }
        let audit = self.audit
        return try await scans.preparedUnit(prepare, generation: { $0.prepared.generation }) { read, db -> (String, String) in
            let (sessionID, window, prepared, box) = read
            var chain = try audit.chain(db)  // one chain for both records: the head is read once
            _ = try scans.record(prepared, terminal: window, chain: &chain, db)  // first: the session names the submission
            guard try WindowSessionStore.markClaimed(sessionID, submission: submissionID, resultBox: box, at: instant, db) else {
                throw MSBError.tokenUsed  // claimed since it was read (the unit's savepoint drops the submission)
            }
            try chain.append(actor: .client(client.id), action: "window_session.claimed", object: "window_session:\(sessionID)",
                             detail: ["submission": .string(submissionID)])
            return (sessionID, submissionID)
        }
    }

    /// The session as its terminal sees it (404 `not_found` for anyone else), after waiting up
    /// to `wait` seconds (at most 30) for a claim; `expired` once its token cannot be claimed.
    public func state(of id: String, terminal: Client, wait: Int) async throws -> WindowSessionState {
        let seconds = max(0, min(wait, Self.maximumWait))
        var current = try await read(id, terminal: terminal)
        if current == .waiting, seconds > 0 {
            let expires = try await transactions.read { db in
                try WindowSessionStore.expiry(id, db)
            }
            let untilExpiry = (expires ?? now()).timeIntervalSince(now()) + Double(QRToken.leeway)
            let timeout = max(0, min(Double(seconds), untilExpiry))
            await claimed.wait(for: id, upTo: .milliseconds(Int64(timeout * 1000)))
            current = try await read(id, terminal: terminal)
        }
        return current
    }

    /// The token of a session of this terminal, to draw as a QR code (404 `not_found` otherwise).
    public func token(of id: String, terminal: Client) async throws -> String {
        try await transactions.read { db in
            guard let token = try WindowSessionStore.token(id, terminalID: terminal.id, db) else {
                throw MSBError.notFound("no such window session")
            }
            return token
        }
    }

    private func read(_ id: String, terminal: Client) async throws -> WindowSessionState {
        let (vault, now) = (self.vault, self.now())
        return try await transactions.read { db in
            guard let session = try WindowSessionStore.session(id, terminalID: terminal.id, db) else {
                throw MSBError.notFound("no such window session")
            }
            if session.state == .claimed, let box = session.resultBox {
                let text = try vault.open(box, context: "window_session:\(id):result")
                guard let view = JSONValue.parse(Array(text.utf8)).flatMap(WindowView.init(stored:)) else {
                    throw InternalError("window session \(id) keeps a result that cannot be read")
                }
                return .claimed(view)
            }
            let expires = session.expiresAt ?? now
            let expired = now.timeIntervalSince(expires) > Double(QRToken.leeway)
            return expired ? .expired : .waiting
        }
    }
}

/// Wakes every task waiting on a key (a window session's long polls) the moment it fires.
final class Broadcast: Sendable {
    private let waiters = Locked<[String: [UUID: CheckedContinuation<Void, Never>]]>([:])

    func fire(_ key: String) {
        let woken = waiters.withLock { $0.removeValue(forKey: key) } ?? [:]
        for continuation in woken.values { continuation.resume() }
    }

    /// Returns when `key` fires, after `duration`, or when the task is cancelled.
    func wait(for key: String, upTo duration: Duration) async {
        let ticket = UUID()
        let timer = Task { [self] in
            do {
                try await Task.sleep(for: duration)
                release(key, ticket)
            } catch {}
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                waiters.withLock { $0[key, default: [:]][ticket] = continuation }
            }
        } onCancel: {
            release(key, ticket)
        }
    }

    private func release(_ key: String, _ ticket: UUID) {
        let continuation = waiters.withLock { waiters -> CheckedContinuation<Void, Never>? in
            let found = waiters[key]?.removeValue(forKey: ticket)
            if waiters[key]?.isEmpty == true { waiters.removeValue(forKey: key) }
            return found
        }
        continuation?.resume()
    }
}
