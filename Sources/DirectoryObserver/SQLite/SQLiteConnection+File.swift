import CDirObsSQLite

// MARK: - The database file, through SQLite's own descriptor

extension SQLiteConnection {
    /// The first `count` bytes of the main database file, read through the descriptor SQLite opened for
    /// this connection, before any query runs: nothing is written, no `-wal` or `-shm` is made, and no
    /// descriptor of the file is opened or closed beside SQLite's (closing one would drop every POSIX
    /// lock this process holds on the file). A file shorter than `count` reads as zeros past its end.
    public func readFileHeader(count: Int = 100) throws(SQLiteError) -> [UInt8] {
        let file = try mainFile()
        guard let read = file.pointee.pMethods?.pointee.xRead else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "the database file cannot be read through its VFS")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        let code = bytes.withUnsafeMutableBytes { read(file, $0.baseAddress, Int32(count), 0) }
        // SQLITE_IOERR_SHORT_READ, a macro Swift does not import: the file ended early, the rest is zeros.
        let shortRead = SQLITE_IOERR | (2 << 8)
        guard code == SQLITE_OK || code == shortRead else {
            throw SQLiteError(code: code, message: "reading the database header failed")
        }
        return bytes
    }

    /// The path of the main database's write-ahead log as SQLite names it: beside the file the path
    /// resolves to (through symbolic links), so not always `<path>-wal`.
    public var writeAheadLogPath: String {
        String(cString: sqlite3_filename_wal(sqlite3_db_filename(db, "main")))
    }

    /// True when the path this connection opened no longer names the file it has open: the file was
    /// unlinked, renamed, or replaced by another (SQLite compares the path's inode with its own).
    public func mainFileHasMoved() throws(SQLiteError) -> Bool {
        var moved: Int32 = 0
        let code = withUnsafeMutablePointer(to: &moved) { pointer in
            fileControl(SQLITE_FCNTL_HAS_MOVED, pointer)
        }
        guard code == SQLITE_OK else { throw SQLiteError(code: code, message: "SQLITE_FCNTL_HAS_MOVED failed") }
        return moved != 0
    }

    private func mainFile() throws(SQLiteError) -> UnsafeMutablePointer<sqlite3_file> {
        var file: UnsafeMutablePointer<sqlite3_file>?
        let code = withUnsafeMutablePointer(to: &file) { pointer in
            fileControl(SQLITE_FCNTL_FILE_POINTER, pointer)
        }
        guard code == SQLITE_OK, let file else {
            throw SQLiteError(code: code == SQLITE_OK ? SQLITE_MISUSE : code, message: "the database has no open file")
        }
        return file
    }
}

// MARK: - The write-ahead log

extension SQLiteConnection {
    /// Copies the write-ahead log back into the database and truncates it to zero bytes, without waiting:
    /// when another connection reads or writes at that moment it returns false and changes nothing that
    /// matters (a later call tries again).
    public func truncateWriteAheadLog() -> Bool {
        withoutWaitingForLocks { checkpoint(mode: SQLITE_CHECKPOINT_TRUNCATE) == SQLITE_OK }
    }

    /// Stops this connection from checkpointing on its own (SQLite's automatic checkpoint runs inside the
    /// `COMMIT` that crosses 1,000 frames, so the caller waits for it) and starts counting the frames of
    /// the write-ahead log after each of its commits: the owner checkpoints when it chooses, with
    /// `checkpointPassively()`, reading `writeAheadLogFrames`.
    public func takeOverCheckpoints() {
        guard logFrames == nil else { return }
        let frames = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        frames.initialize(to: 0)
        logFrames = frames
        // The hook replaces the automatic checkpoint (which is itself a write-ahead-log hook).
        sqlite3_wal_hook(
            db,
            { context, _, _, frames in
                context?.assumingMemoryBound(to: Int32.self).pointee = frames
                return SQLITE_OK
            }, frames)
    }

    /// Frames in the write-ahead log after this connection's last commit, 0 after a checkpoint that
    /// copied them all (counted only after `takeOverCheckpoints()`).
    public var writeAheadLogFrames: Int { Int(logFrames?.pointee ?? 0) }

    /// Copies what it can of the write-ahead log into the database without waiting for any other
    /// connection (`SQLITE_CHECKPOINT_PASSIVE`); returns true when the whole log was copied, so the next
    /// commit starts the log over from its beginning.
    @discardableResult
    public func checkpointPassively() -> Bool {
        var logged: Int32 = 0
        var copied: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &logged, &copied)
        let complete = code == SQLITE_OK && copied == logged
        if complete { logFrames?.pointee = 0 }
        return complete
    }

    /// After `checkpointPassively()` copied the whole log, starts the log over now by committing one
    /// write that changes nothing: the file's application id (which the caller knows) set to itself. SQLite
    /// starts the log over at the first commit after such a checkpoint, and that commit also syncs the
    /// log's new header, one fsync more than any other commit: paid here instead of by the next commit
    /// someone waits for. (An UPDATE that changes nothing would not do: SQLite skips it.) Does not wait
    /// for another connection's lock. True when the log now holds just that commit; false when a reader
    /// kept the old log or the write failed, and then the next commit starts the log over, as it would
    /// have anyway.
    @discardableResult
    public func startWriteAheadLogOver(applicationID: Int32) -> Bool {
        withoutWaitingForLocks { (try? execute("PRAGMA application_id = \(applicationID)")) != nil }
            && writeAheadLogFrames == 1
    }
}
