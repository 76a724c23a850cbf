import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// `DirectoryChanges` spares a lookup per file only when the directory's ctime proves nothing was removed
/// since the sighting; any doubt sends the caller to the file itself.
@Suite("Directory changes since a sighting")
struct DirectoryChangesTests {
    /// The directory's ctime, in Unix seconds.
    private func statusChangeTime(_ path: String) throws -> Double {
        var info = stat()
        try #require(stat(path, &info) == 0)
        return Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1_000_000_000
    }

    @Test("a directory last changed before the sighting, by more than the clock's coarseness, counts as unchanged")
    func olderChangeIsUnchanged() throws {
        let directory = TemporaryDirectory()
        #expect(FileManager.default.createFile(atPath: directory.file("a"), contents: Data()))
        let changed = try statusChangeTime(directory.path)

        var changes = DirectoryChanges()
        let wellAfter = changes.unchanged(directory.path, since: changed + DirectoryChanges.clockCoarseness + 0.01)
        #expect(wellAfter)
        var closeCall = DirectoryChanges()
        let justAfter = closeCall.unchanged(directory.path, since: changed + DirectoryChanges.clockCoarseness / 2)
        #expect(!justAfter)
    }

    @Test("a removal after the sighting counts as a change")
    func removalAfterSighting() throws {
        let directory = TemporaryDirectory()
        #expect(FileManager.default.createFile(atPath: directory.file("a"), contents: Data()))
        let seen = Clock.now()
        #expect(unlink(directory.file("a")) == 0)

        var changes = DirectoryChanges()
        let unchanged = changes.unchanged(directory.path, since: seen)
        #expect(!unchanged)
    }

    @Test("a directory on a filesystem not known to keep this machine's times exactly (/proc) counts as changed")
    func otherFileSystemCountsAsChanged() throws {
        var changes = DirectoryChanges()
        let proc = changes.unchanged("/proc/self", since: Clock.now() + 3_600)
        #expect(!proc)
    }

    @Test("a missing directory, or a file where the directory should be, counts as changed")
    func unknownCountsAsChanged() throws {
        let directory = TemporaryDirectory()
        #expect(FileManager.default.createFile(atPath: directory.file("plain"), contents: Data()))
        let later = Clock.now() + 3_600

        var changes = DirectoryChanges()
        let missing = changes.unchanged(directory.file("missing"), since: later)
        let plainFile = changes.unchanged(directory.file("plain"), since: later)
        #expect(!missing)
        #expect(!plainFile)
    }
}
