// dirobs-bench: benchmarks of the outbox and the child processes the crash and lock tests drive.
// Plain argument parsing on purpose: the tool is for developers and tests, not operators.
import Glibc

let usage = """
    usage: dirobs-bench outbox [--events N] [--runs N] [--prune-rows N] [--dir DIR]
           dirobs-bench append-forever OUTBOX
           dirobs-bench hold-lock OUTBOX
    """

let arguments = Array(CommandLine.arguments.dropFirst())
switch (arguments.first, arguments.count) {
case ("outbox", _):
    exit(OutboxBenchmark.main(arguments: Array(arguments.dropFirst()), usage: usage))
case ("append-forever", 2):
    AppendForever.run(outbox: arguments[1])
case ("hold-lock", 2):
    HoldLock.run(outbox: arguments[1])
default:
    BenchOutput.fail(usage, status: 64)
}
