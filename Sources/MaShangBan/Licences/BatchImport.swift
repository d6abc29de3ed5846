import Foundation
import GRDB

/// Imports NDJSON (one licence per line) as it streams in. Every `batchSize` lines form a
/// batch that is decoded, validated and sealed in parallel (no database needed), then
/// stored in one transaction. Batches are pipelined — the body is read while the previous
/// batch is sealed and the one before it written — with at most two batches in flight, so
/// memory stays flat whatever the body size. Writes keep the order of the lines, so the
/// audit chain records them in the order they came. A bad line is reported with its number
/// and never stops the good ones; no line is ever half-applied. Batches commit one by one:
/// what a failed request stored stays stored, and sending the whole body again is safe
/// (an upsert by type + number).
public final class BatchImport {
    /// What a batch import did: how many lines were stored, the first `maximumReported`
    /// refused lines with why, and how many were refused in all.
    public struct Result: Sendable {
        public var accepted = 0
        public var rejected: [Rejection] = []
        public var rejectedCount = 0

        /// Adds refusals, keeping the first `maximumReported` by line number: memory stays
        /// flat however many lines are bad.
        mutating func reject(_ more: [Rejection]) {
            rejectedCount += more.count
            rejected.append(contentsOf: more)
            if rejected.count > BatchImport.maximumReported {
                rejected.sort { $0.line < $1.line }
                rejected.removeLast(rejected.count - BatchImport.maximumReported)
            }
        }
    }

    /// The most refused lines an answer lists (`rejected_count` counts them all).
    public static let maximumReported = 1000

    public struct Rejection: Sendable, Equatable {
        public let line: Int
        public let code: String
        public let detail: String
    }

    public static let maximumLineBytes = 1 << 20
    static let batchesInFlight = 2

    let library: LicenceLibrary
    let issuer: LicenceIssuer
    /// The largest batch: batches start at `firstBatchSize` lines (so writing starts soon)
    /// and grow by half up to this (so a long import commits rarely: with random-key indexes a
    /// commit rewrites most of their pages, whatever the batch size). By half, not double: sealing a
    /// batch takes about two thirds of the time writing the one before takes, so a batch
    /// twice the size of the one being written kept the writer waiting at every step.
    let batchSize: Int
    private var nextBatchSize: Int
    static let firstBatchSize = 1000
    private var pending: [PendingLine] = []
    private var partial: [UInt8] = []
    private var partialTooLong = false
    private var lineNumber = 0
    private var result = Result()
    private var types: [String: LicenceType]?
    private var stages: [Task<Result, any Error>] = []

    public init(library: LicenceLibrary, issuer: LicenceIssuer, batchSize: Int = 16000) {
        self.library = library
        self.issuer = issuer
        self.batchSize = max(1, batchSize)
        self.nextBatchSize = min(Self.firstBatchSize, self.batchSize)
    }

    /// Feeds the next chunk of the body.
    public func feed(_ chunk: some Sequence<UInt8>) async throws {
        let bytes = chunk.withContiguousStorageIfAvailable { Array($0) } ?? Array(chunk)
        var start = 0
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            append(bytes[start..<newline])
            try await endLine()
            start = newline + 1
        }
        append(bytes[start...])
    }

    /// Ends the body: the last line (without a newline) and the last batches.
    public func finish() async throws -> Result {
        if !partial.isEmpty || partialTooLong { try await endLine() }
        try await flush()
        while !stages.isEmpty { try await collectOldest() }
        result.rejected.sort { $0.line < $1.line }
        return result
    }

    private func append(_ bytes: ArraySlice<UInt8>) {
        guard !partialTooLong else { return }
        if partial.count + bytes.count > Self.maximumLineBytes {
            partialTooLong = true
            partial = []
        } else {
            partial.append(contentsOf: bytes)
        }
    }

    private func endLine() async throws {
        lineNumber += 1
        defer {
            partial.removeAll(keepingCapacity: true)
            partialTooLong = false
        }
        if partialTooLong {
            result.reject([Rejection(line: lineNumber, error: .payloadTooLarge(limit: Self.maximumLineBytes))])
            return
        }
        if partial.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }  // blank lines are skipped
        pending.append(PendingLine(line: lineNumber, bytes: partial))
        if pending.count >= nextBatchSize {
            nextBatchSize = min(nextBatchSize + nextBatchSize / 2, batchSize)
            try await flush()
        }
    }

    /// Starts a stage for the pending lines: seal in parallel, then (after the previous
    /// stage has written) write. Waits for the oldest stage when too many are in flight.
    private func flush() async throws {
        guard !pending.isEmpty else { return }
        let lines = pending
        pending.removeAll(keepingCapacity: true)
        if types == nil { types = try await library.typesByCode() }
        while stages.count >= Self.batchesInFlight { try await collectOldest() }
        let stage = Self.start(lines, library: library, issuer: issuer, types: types ?? [:], after: stages.last)
        stages.append(stage)
    }

    static func start(_ lines: [PendingLine], library: LicenceLibrary, issuer: LicenceIssuer, types: [String: LicenceType],
                      after previous: Task<Result, any Error>?) -> Task<Result, any Error> {
        Task { try await stage(lines, library: library, issuer: issuer, types: types, after: previous) }
    }

    /// One batch: seal in parallel, then — once the batch before has been written — write.
    static func stage(_ lines: [PendingLine], library: LicenceLibrary, issuer: LicenceIssuer,
                      types: [String: LicenceType], after previous: Task<Result, any Error>?) async throws -> Result {
        // The first batch is sealed on every core: nothing is being written yet.
        let sealed = try await seal(lines, library: library, issuer: issuer, types: types, allCores: previous == nil)
        _ = try await previous?.value  // keeps writes, and so the audit chain, in line order
        // What is left to refuse needs the stored licence (its owner, its holder): `store`
        // refuses before it changes anything, so a refused line is skipped and the rest go on.
        // Anything else fails in storage, and then the whole transaction rolls back and the request fails.
        let ready = sealed.ready
        let refusedInStore = try await library.store(ready, by: issuer).map { Rejection(line: $0.line, error: $0.error) }
        var result = Result(accepted: ready.count - refusedInStore.count)
        result.reject(sealed.rejected + refusedInStore)
        return result
    }

    private func collectOldest() async throws {
        let outcome = try await stages.removeFirst().value
        result.accepted += outcome.accepted
        result.rejectedCount += outcome.rejectedCount - outcome.rejected.count
        result.reject(outcome.rejected)
    }

    /// Decodes, validates and seals lines on all cores but one (the writer has its own), or
    /// on all of them; returns the sealed licences in line order and the refused lines.
    static func seal(_ lines: [PendingLine], library: LicenceLibrary, issuer: LicenceIssuer, types: [String: LicenceType],
                     allCores: Bool) async throws
        -> (ready: [(line: Int, licence: LicenceLibrary.SealedLicence)], rejected: [Rejection])
    {
        let today = library.now()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let parts = max(1, allCores ? cores : cores - 1)
        let size = (lines.count + parts - 1) / parts
        let outcomes = try await withThrowingTaskGroup(of: (Int, [Sealing]).self) { group in
            for (index, start) in stride(from: 0, to: lines.count, by: size).enumerated() {
                let chunk = lines[start..<min(start + size, lines.count)]
                group.addTask {
                    let decoder = JSONDecoder()
                    return (index, try chunk.map { pending -> Sealing in
                        let line = pending.line
                        do {
                            let submission = try LicenceSubmission.decode(line: pending.bytes, fallback: decoder)
                            let valid = try ValidatedLicence(submission, type: types[submission.type], today: today)
                            return .sealed(line, try library.seal(valid, by: issuer))
                        } catch let error as MSBError {
                            return .rejected(Rejection(line: line, error: error))
                        } catch let error as DecodingError {
                            return .rejected(Rejection(line: line, error: .badRequest(DecodingFailure.describe(error))))
                        }
                    })
                }
            }
            var parts: [(Int, [Sealing])] = []
            for try await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
        var ready: [(line: Int, licence: LicenceLibrary.SealedLicence)] = []
        var rejected: [Rejection] = []
        for outcome in outcomes {
            switch outcome {
            case .sealed(let line, let licence): ready.append((line, licence))
            case .rejected(let rejection): rejected.append(rejection)
            }
        }
        return (ready, rejected)
    }

    struct PendingLine: Sendable {
        let line: Int
        let bytes: [UInt8]
    }

    enum Sealing: Sendable {
        case sealed(Int, LicenceLibrary.SealedLicence)
        case rejected(Rejection)
    }
}

extension BatchImport.Rejection {
    init(line: Int, error: MSBError) {
        self.init(line: line, code: error.code, detail: error.detail)
    }
}

extension BatchImport {
    /// A small NDJSON body read whole (protected enterprises, policies): each non-blank line
    /// decoded as `Line` and checked by `validate`, with its 1-based number; a line that is not
    /// such JSON is refused as `bad_request` (`what` says what it should be), one that breaks a
    /// rule with its problem code. A bad line never stops the good ones.
    static func lines<Line: Decodable, Value>(_ body: [UInt8], what: String, validate: (Line) throws -> Value)
        -> (valid: [(line: Int, value: Value)], result: Result)
    {
        var (valid, result) = ([(line: Int, value: Value)](), Result())
        for (index, line) in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
            do {
                valid.append((index + 1, try validate(try JSONDecoder().decode(Line.self, from: Data(line)))))
            } catch let error as MSBError {
                result.reject([.init(line: index + 1, code: error.code, detail: error.detail)])
            } catch {
                result.reject([.init(line: index + 1, code: ProblemCode.badRequest.rawValue, detail: "the line is not \(what)")])
            }
        }
        return (valid, result)
    }
}
