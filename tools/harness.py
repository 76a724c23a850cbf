"""Shared pieces of tools/bench and tools/chaos (not a command): a tiny RESP client, a private
redis-server on a free loopback port, the daemon under test, and the checks both tools apply to what
arrives in Redis and to the outbox. Python 3 standard library only; every process it starts is
registered and ended by `cleanup()` (the tools call it from a `finally`)."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_children = []
_mounts = []


# MARK: - Build


BENCHMARKS = os.path.join(ROOT, "tools", "Benchmarks")


def build_release(package=ROOT, products=None):
    """Builds the release configuration of `package` (the root, or BENCHMARKS: the benchmarks' own
    package, which also builds its dependency's products `directory_observer` and `dirobs-burst`), all of
    it or only `products`, and returns the directory holding the binaries."""
    quiet = None if os.environ.get("VERBOSE") else subprocess.DEVNULL
    # SwiftPM keeps the root package's file list in this plan: without it, a file added to the root since
    # the last build of the benchmarks' package is not seen ("cannot find ... in scope").
    plan = os.path.join(package, ".build", "release.yaml")
    if package != ROOT and os.path.exists(plan):
        os.remove(plan)
    swift_build = ["swift", "build", "-c", "release", "--package-path", package]
    for product in products or [None]:
        subprocess.run(swift_build + (["--product", product] if product else []), check=True, stdout=quiet)
    out = subprocess.run(swift_build + ["--show-bin-path"], check=True, capture_output=True, text=True)
    return out.stdout.strip()


# MARK: - Processes


def spawn(argv, **kwargs):
    """Starts a process in its own process group and remembers it for `cleanup()`."""
    process = subprocess.Popen(argv, start_new_session=True, **kwargs)
    _children.append(process)
    return process


def end(process, sig=signal.SIGTERM, wait=10.0):
    """Sends `sig` to the process (by its pid), waits up to `wait` s, then SIGKILLs it. Returns its status."""
    if process.poll() is None:
        try:
            os.kill(process.pid, signal.SIGCONT)
            os.kill(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    if process in _children:
        _children.remove(process)
    return process.returncode


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path], check=True)
    _mounts.append(path)


def unmount(path):
    subprocess.run(["umount", path], check=False)
    if path in _mounts:
        _mounts.remove(path)


def cleanup():
    """Ends every process this run started (by pid) and unmounts what it mounted."""
    for process in list(_children):
        end(process, signal.SIGKILL, wait=5)
    for path in list(_mounts):
        unmount(path)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    if port == 6379:
        return free_port()
    return port


def machine_lines():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return [
        "date: %s" % time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine: nproc=%d, cpu=%s, kernel=%s" % (os.cpu_count() or 0, model, os.uname().release),
    ]


def vm_field(pid, field):
    """A field of /proc/PID/status in kB (VmHWM, VmRSS), or None."""
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def thread_cpu(pid):
    """CPU seconds used so far by each thread of the daemon, by the name it gave itself in the kernel
    (outbox-writer, forwarder, watcher, outbox-changes; the main and libdispatch threads keep the
    process's name), plus 'total'."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as comm:
                name = comm.read().strip()
            used[name] = used.get(name, 0) + (int(fields[11]) + int(fields[12])) / ticks
    except OSError:
        return {}
    result = {THREAD_LABELS.get(name, "other"): 0.0 for name in used}
    for name, seconds in used.items():
        result[THREAD_LABELS.get(name, "other")] += seconds
    result["total"] = sum(used.values())
    return result


# The daemon's threads by their kernel names; the rest (main, libdispatch, an HTTP server's) is "other".
THREAD_LABELS = {"outbox-writer": "writer", "forwarder": "forwarder", "watcher": "watcher",
                 "outbox-changes": "changes"}


def context_switches(pid):
    """Voluntary and involuntary context switches of every thread of pid so far."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as status:
                for line in status:
                    if "ctxt_switches" in line:
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def process_cpu(pid):
    """CPU seconds used so far by a whole process."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_delta(before, after):
    return ", ".join("%s %.2f" % (key, after[key] - before.get(key, 0)) for key in after)


def reset_peak_rss(pid):
    """Resets VmHWM (Linux: write 5 to clear_refs), so the peak covers what follows."""
    with open("/proc/%d/clear_refs" % pid, "w") as refs:
        refs.write("5")


# MARK: - RESP


class RedisError(Exception):
    pass


class Resp:
    """A minimal RESP2 client over TCP to 127.0.0.1."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def settimeout(self, timeout):
        self.sock.settimeout(timeout)

    @staticmethod
    def encode(args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            if isinstance(arg, int):
                arg = str(arg).encode()
            elif isinstance(arg, str):
                arg = arg.encode("utf-8", "surrogateescape")
            parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
        return b"".join(parts)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buffer += chunk

    def _line(self):
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
                return line
            self._fill()

    def _exact(self, count):
        while len(self.buffer) < count + 2:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self._exact(size)
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self._reply() for _ in range(size)]
        raise ConnectionError("bad RESP line %r" % line[:40])

    def __call__(self, *args):
        self.sock.sendall(self.encode(args))
        reply = self._reply()
        if isinstance(reply, RedisError):
            raise reply
        return reply

    def pipeline(self, commands):
        self.sock.sendall(b"".join(self.encode(c) for c in commands))
        return [self._reply() for _ in commands]


# MARK: - redis-server


class RedisServer:
    """A private redis-server on 127.0.0.1 (never 6379). `persistent` keeps the list across restarts
    (appendonly, appendfsync always). `config_file` (a sentinel's) goes first on the command line and
    `extra_args` (`--replicaof …`, `--sentinel`) last."""

    def __init__(self, workdir, persistent=False, port=None, extra_args=(), config_file=None):
        self.port = port or free_port()
        self.workdir = workdir
        self.persistent = persistent
        self.extra_args = list(extra_args)
        self.config_file = config_file
        self.process = None
        os.makedirs(workdir, exist_ok=True)

    def start(self, wait=10.0):
        argv = ["redis-server"] + ([self.config_file] if self.config_file else []) + [
            "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--dir", self.workdir, "--logfile", os.path.join(self.workdir, "redis.log")]
        if self.persistent:
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        argv += self.extra_args
        self.process = spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                client = Resp(self.port, timeout=1)
                try:
                    if client("PING") == "PONG":
                        return self
                except RedisError:  # LOADING
                    pass
                finally:
                    client.close()
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError("redis-server on port %d did not answer" % self.port)

    def stop(self):
        """Stops the server (SHUTDOWN, saving the append-only file when persistent)."""
        if self.process is None:
            return
        try:
            os.kill(self.process.pid, signal.SIGCONT)
            client = Resp(self.port, timeout=5)
            try:
                client.sock.sendall(Resp.encode(["SHUTDOWN"] if self.persistent else ["SHUTDOWN", "NOSAVE"]))
                client.sock.recv(100)
            except OSError:
                pass
            client.close()
        except OSError:
            pass
        end(self.process, signal.SIGKILL, wait=10)
        self.process = None

    def pause(self):
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.process.pid, signal.SIGCONT)

    def client(self, timeout=10.0):
        return Resp(self.port, timeout)


# MARK: - The daemon


def write_config(path, *, port, directory, queue, outbox, sync="full", counter=None, extra=None, monitor_extra=None):
    """Writes an INI in the original's layout, readable by both the original and this daemon."""
    lines = [
        "[common]", "active=false", "redis_server=127.0.0.1", "redis_port=%d" % port,
        "redis_unix_socket=null", "outbox_path=%s" % outbox, "outbox_sync=%s" % sync, "forced_poll=0",
        "monitor_inactivitytimeout=0",
    ]
    for key, value in (extra or {}).items():
        lines.append("%s=%s" % (key, value))
    if os.environ.get("BENCH_METRICS"):
        # The metrics endpoint on a port the system chooses: its cost on the hot path shows in the figures.
        lines.append("metrics_listen=127.0.0.1:0")
    lines += ["", "[watched:common]", "active=true", "directory=%s" % directory, "queue=%s" % queue]
    if counter:
        lines.append("counter=%s" % counter)
    for key, value in (monitor_extra or {}).items():
        lines.append("%s=%s" % (key, value))
    with open(path, "w") as config:
        config.write("\n".join(lines) + "\n")
    return path


class Daemon:
    """One run of a daemon (ours or a peer command) on a config, logging to a file."""

    def __init__(self, argv, log):
        self.argv = argv
        self.log = log
        self.process = None

    def start(self):
        log = open(self.log, "ab")
        self.process = spawn(self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        return self

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, wait=15.0):
        return end(self.process, signal.SIGTERM, wait=wait)

    def kill(self):
        return end(self.process, signal.SIGKILL, wait=5)

    def wait_log(self, text, timeout=10.0, since=0):
        """Waits until the log contains `text` after byte offset `since`; returns True if it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_text(since):
                return True
            time.sleep(0.02)
        return False

    def log_text(self, since=0):
        try:
            with open(self.log, "rb") as log:
                log.seek(since)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.log)
        except OSError:
            return 0


# MARK: - Checks


def decode_message(raw):
    """(filename bytes, event) of one message, decoded the way a Python consumer does."""
    message = json.loads(raw)
    return os.fsencode(message["filename"]), message["event"]


def fetch_all(client, queue, chunk=50000):
    """Every message of the list, oldest first (LPUSH puts the newest at the head)."""
    length = client("LLEN", queue)
    items = []
    for start in range(0, length, chunk):
        items += client("LRANGE", queue, start, min(start + chunk, length) - 1)
    items.reverse()
    return items


def verdict_counts(messages, expected):
    """Counts for a verdict: names of `expected` (bytes) never announced, and `created` duplicates."""
    seen = set()
    created = set()
    duplicates = []
    for raw in messages:
        name, event = decode_message(raw)
        seen.add(name)
        if event == "created":
            if name in created:
                duplicates.append(name)
            created.add(name)
    missing = [name for name in expected if name not in seen]
    return missing, duplicates


def integrity(outbox):
    """PRAGMA integrity_check of the outbox, read-only: 'ok' or the first problem."""
    try:
        connection = sqlite3.connect("file:%s?mode=ro" % outbox, uri=True, timeout=10)
        try:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        return "sqlite error: %s" % error
    return "ok" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:3])


# Pending events are those stored as 'pending' above the last delivery of their queue
# (migrations/0002_record_deliveries_per_batch.sql; EventStateSQL in the Swift sources): an index range.
PENDING_COUNT_SQL = """
    SELECT count(*) FROM events INDEXED BY events_by_queue_state
    WHERE queue = ?1 AND state = 'pending'
      AND id > coalesce((SELECT max(through_id) FROM deliveries WHERE queue = ?1), 0)
"""


def outbox_pending(outbox, queue):
    """Pending events of `queue` in the outbox (read-only), or None when it cannot be read now."""
    try:
        connection = sqlite3.connect("file:%s?mode=ro" % outbox, uri=True, timeout=5)
        try:
            return connection.execute(PENDING_COUNT_SQL, (queue,)).fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return None


def tempdir(base, prefix):
    return tempfile.mkdtemp(prefix=prefix, dir=base)


def say(text):
    print(text, flush=True)


def note(text):
    print(text, file=sys.stderr, flush=True)
