// MARK: - Monitors

extension ConfigLoader {
    /// The monitor a section describes, or nil when it is not one (not `active`, or no `directory`).
    /// An active section with a directory but no `queue`, a bad number or an invalid pattern is an error.
    static func monitor(in section: SectionValues) throws(ConfigError) -> MonitorConfig? {
        guard try section.bool("active", default: false), let directory = section.string("directory") else {
            return nil
        }
        guard let queue = section.string("queue") else {
            throw ConfigError(
                file: section.file, section: section.name, key: "queue",
                reason: "an active monitor needs a queue (the Redis list its events go to)")
        }
        let pollQueueLimit = try section.int("poll_queue_limit", default: 10_000)
        let monitor = MonitorConfig(
            section: section.name,
            directory: directory,
            queue: queue,
            counter: section.string("counter"),
            forcedPoll: try section.nonNegativeSeconds("forced_poll", default: 0),
            pollQueueLimit: pollQueueLimit > 0 ? pollQueueLimit : nil,
            timeout: try section.positiveSeconds("timeout", default: 10),
            only: section.patterns("only") ?? ["^.*$"],
            ignore: (section.patterns("ignore") ?? []).filter { $0 != NameFilter.workingPattern }
                + [NameFilter.workingPattern],
            announce: try section.choice("announce", default: AnnounceMode.create))
        // Compiles every pattern now, so an invalid one stops the load rather than the first file.
        _ = try NameFilter(monitor: monitor, file: section.file)
        return monitor
    }
}
