import Foundation

/// The layout of a data directory (`--data DIR`):
/// `mashangban.sqlite` (+ WAL), `keys/` (mode 0700, files 0600), `admin-token` (0600)
/// and `audit-checkpoints.jsonl`.
public struct DataDirectory: Sendable {
    public let url: URL

    public init(_ url: URL) { self.url = url.standardizedFileURL }
    public init(path: String) { self.init(URL(fileURLWithPath: path, isDirectory: true)) }

    public var database: URL { url.appendingPathComponent("mashangban.sqlite") }
    public var keys: URL { url.appendingPathComponent("keys", isDirectory: true) }
    public var adminToken: URL { url.appendingPathComponent("admin-token") }
    public var checkpointFile: URL { url.appendingPathComponent("audit-checkpoints.jsonl") }
    public func signingKey(kid: String) -> URL { keys.appendingPathComponent("signing-\(kid).pem") }
    public var dataKey: URL { keys.appendingPathComponent("data.key") }
    public var holderKey: URL { keys.appendingPathComponent("holder-ref.key") }

    /// Whether a database exists here already.
    public var exists: Bool { FileManager.default.fileExists(atPath: database.path) }

    /// Creates the directory and `keys/` with owner-only permissions.
    public func create() throws {
        let fm = FileManager.default
        try fm.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try fm.createDirectory(at: keys, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: keys.path)
    }

    /// Sets the directory and everything in it to owner-only: folders 0700, files 0600 (the
    /// database and its WAL hold sealed data, but also who did what and when). Returns the
    /// paths that were wider, relative to the directory, for a warning.
    @discardableResult
    public func restrictPermissions() throws -> [String] {
        let fm = FileManager.default
        var widened: [String] = []
        func restrict(_ path: String, _ relative: String) throws {
            var info = stat()
            guard lstat(path, &info) == 0 else { return }
            let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
            guard isDirectory || (info.st_mode & S_IFMT) == S_IFREG else { return }  // links and the like are left alone
            let wanted: mode_t = isDirectory ? 0o700 : 0o600
            if info.st_mode & 0o777 != wanted {
                guard chmod(path, wanted) == 0 else { throw StartupError("cannot set the permissions of \(path)") }
                if info.st_mode & 0o077 != 0 { widened.append(relative) }
            }
            if isDirectory {
                for entry in try fm.contentsOfDirectory(atPath: path).sorted() {
                    try restrict(path + "/" + entry, relative.isEmpty ? entry : relative + "/" + entry)
                }
            }
        }
        try restrict(url.path, "")
        return widened
    }

    /// Writes a secret file readable by the owner only (mode 0600), replacing nothing:
    /// an existing file is an error, so a key is never overwritten.
    public func writeSecret(_ bytes: [UInt8], to file: URL) throws { try Self.writeSecret(bytes, to: file) }

    public static func writeSecret(_ bytes: [UInt8], to file: URL) throws {
        guard FileManager.default.createFile(atPath: file.path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            throw StartupError("cannot write \(file.path)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
    }

    /// Appends text and syncs it to disk; the file is created with mode 0600. (The audit
    /// checkpoint file and the stand-in approval system's store are append-only logs.)
    public static func appendSynced(_ text: String, to file: URL) throws {
        let fd = Foundation.open(file.path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else { throw StartupError("cannot open \(file.path)") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let before = lseek(fd, 0, SEEK_END)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            // A full disk can take part of the text: cut it off, so no half line stays behind.
            if before >= 0 { _ = ftruncate(fd, before) }
            throw StartupError("cannot write \(file.path)")
        }
    }

    public func readSecret(_ file: URL) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file.path) else { throw StartupError("cannot read \(file.path)") }
        return [UInt8](data)
    }
}

/// A problem with the data directory or configuration that stops the server from starting.
public struct StartupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
