"""Scenarios of tools/chaos where Redis itself fails, fails over or forgets (SPEC §8); imported by
tools/chaos, not run on its own. Each runs the release daemon against its own private Redis (without
persistence, or a master, a replica and three sentinels) while files keep coming, and prints its figures:
files lost, `created` events delivered twice, events the daemon resent (from its log), and the
interruption (the daemon's `redis.down_for_s`: first failed try to first batch in again).
Verdict: nothing lost; duplicates only among the events the daemon says it resent; integrity_check ok.
"""

import os
import re
import sqlite3
import signal
import time

import harness
from harness import say


def private_redis(chaos, name, extra_args=()):
    server = harness.RedisServer(os.path.join(chaos.disk, name + "-redis"), extra_args=extra_args)
    return server.start(wait=15)


def setup(chaos, name, port, extra=None):
    watched = os.path.join(chaos.shm, name)
    os.makedirs(watched)
    outbox = os.path.join(chaos.disk, name + ".outbox.sqlite3")
    config = harness.write_config(
        os.path.join(chaos.disk, name + ".ini"), port=port, directory=watched, queue="chaos:%s" % name,
        outbox=outbox, extra=dict({"retry_initial": "0.05", "retry_max": "0.5"}, **(extra or {})))
    return watched, outbox, config, os.path.join(chaos.disk, name + ".log")


def figures(log_text):
    resent = sum(int(n) for n in re.findall(r"outbox\.resent=(\d+)", log_text))
    downs = [float(s) for s in re.findall(r"redis\.down_for_s=([0-9.]+)", log_text)]
    return resent, (max(downs) if downs else 0.0)


def verdict(chaos, name, server, expected, outbox, daemon, problems=(), timeout=40.0):
    problems = list(problems)
    queue = "chaos:%s" % name
    deadline = time.monotonic() + timeout
    while True:
        client = server.client()
        try:
            messages = harness.fetch_all(client, queue)
        finally:
            client.close()
        seen = {harness.decode_message(raw)[0] for raw in messages}
        if all(n in seen for n in expected) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    if daemon.alive():
        status = daemon.stop(wait=20)
        if status != 0:
            problems.append("the daemon exited %s on SIGTERM" % status)
    else:
        problems.append("the daemon died")
    missing, duplicates = harness.verdict_counts(messages, expected)
    resent, down = figures(daemon.log_text())
    if missing:
        problems.append("%d of %d files never announced (e.g. %r)" % (len(missing), len(expected), missing[0]))
    if len(duplicates) > resent:
        problems.append("%d created events twice but only %d resent" % (len(duplicates), resent))
    check = harness.integrity(outbox)
    if check != "ok":
        problems.append("integrity_check: %s" % check)
    detail = "%d files, %d messages; lost %d, duplicates %d, resent %d, interruption %.1f s" % (
        len(expected), len(messages), len(missing), len(duplicates), resent, down)
    if problems:
        chaos.failures.append(name)
        say("FAIL scenario %s because %s (%s)" % (name, "; ".join(problems), detail))
    else:
        say("PASS scenario %s (%s)" % (name, detail))


def stop_server(server, kill=False):
    if server.process is None:
        return
    if kill:
        harness.end(server.process, signal.SIGKILL, wait=10)
        server.process = None
    else:
        server.stop()


# MARK: - Scenarios


def while_producing(chaos, name, prefix, disturb, redis_args=(), extra=None, warmup=2.0, check=None):
    """The frame of the one-server scenarios: a private Redis, the daemon, and a producer of files named
    `prefix`...; `warmup` seconds in, `disturb(server)`; 2 s later the producer stops and the verdict is
    given, with the problems `check(outbox, log)` finds."""
    server = private_redis(chaos, name, redis_args)
    try:
        watched, outbox, config, log = setup(chaos, name, server.port, extra=extra)
        daemon = chaos.daemon(config, log)
        producer = chaos.producer(watched, prefix)
        producer.start()
        time.sleep(warmup)
        disturb(server)
        time.sleep(2)
        producer.stop()
        problems = check(outbox, log) if check else []
        verdict(chaos, name, server, producer.created, outbox, daemon, problems)
    finally:
        stop_server(server)


def redis_restart_without_persistence(chaos, name):
    """Redis restarts empty (no RDB, no AOF) while files keep coming: the outbox resends what it lost."""
    def restart(server):
        server.stop()
        time.sleep(1.5)
        server.start(wait=15)
    while_producing(chaos, name, "p-", restart)


def flushall(chaos, name):
    """FLUSHALL while the daemon stays connected: the next batch finds the watermark missing."""
    def flush(server):
        client = server.client()
        try:
            client("FLUSHALL")
        finally:
            client.close()
    while_producing(chaos, name, "x-", flush)


def misconf_for_a_while(chaos, name):
    """Redis cannot persist (MISCONF) for 10 s with max_attempts=3: nothing dead, everything after."""
    def misconf(server):
        os.makedirs(os.path.join(server.workdir, "isdir"), exist_ok=True)
        client = server.client()
        try:
            client("CONFIG", "SET", "save", "3600 1")
            client("CONFIG", "SET", "dbfilename", "isdir")
            client("BGSAVE")
            time.sleep(10)
            client("CONFIG", "SET", "dbfilename", "dump.rdb")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    client("BGSAVE")
                    break
                except harness.RedisError:
                    time.sleep(0.2)
        finally:
            client.close()

    def check(outbox, log):
        dead = dead_count(outbox)
        lines = [line for line in open(log, errors="replace") if " info Redis" in line or " warning Redis" in line
                 or " error Redis" in line]
        problems = ["%d events dead" % dead] if dead else []
        if len(lines) > 4:
            problems.append("%d Redis state lines in the log" % len(lines))
        return problems
    while_producing(chaos, name, "m-", misconf, redis_args=["--enable-protected-configs", "yes"],
                    extra={"max_attempts": "3"}, warmup=1.5, check=check)


def dead_count(outbox):
    connection = sqlite3.connect("file:%s?mode=ro" % outbox, uri=True, timeout=10)
    try:
        return connection.execute("SELECT count(*) FROM events WHERE state = 'dead'").fetchone()[0]
    finally:
        connection.close()


def sentinel_failover(chaos, name, lag=False):
    """A master, a replica, three sentinels; kill -9 of the master. With `lag`, the replica's link is cut
    and the replica stopped for 2 s before the kill, so the new master lacks the tail."""
    master = private_redis(chaos, name + "-master")
    replica = private_redis(chaos, name + "-replica", ["--replicaof", "127.0.0.1", str(master.port)])
    sentinels = []
    try:
        for index in range(3):
            workdir = os.path.join(chaos.disk, "%s-sentinel%d" % (name, index))
            os.makedirs(workdir, exist_ok=True)
            conf = os.path.join(workdir, "sentinel.conf")
            with open(conf, "w") as out:
                out.write("sentinel monitor main 127.0.0.1 %d 2\nsentinel down-after-milliseconds main 1000\n"
                          "sentinel failover-timeout main 4000\n" % master.port)
            sentinel = harness.RedisServer(workdir, extra_args=["--sentinel"], config_file=conf)
            sentinel.start(wait=15)
            sentinels.append(sentinel)
        wait_sentinels(sentinels, replica)
        extra = {"redis_sentinels": ",".join("127.0.0.1:%d" % s.port for s in sentinels),
                 "redis_sentinel_master": "main"}
        watched, outbox, config, log = setup(chaos, name, master.port, extra=extra)
        daemon = chaos.daemon(config, log)
        producer = chaos.producer(watched, "s-", rate=200)
        producer.start()
        time.sleep(2)
        if lag:
            replica.pause()
            client = master.client()
            try:
                client("CLIENT", "KILL", "TYPE", "replica")
            finally:
                client.close()
            time.sleep(2)
        stop_server(master, kill=True)
        if lag:
            replica.resume()
        time.sleep(6)
        producer.stop()
        verdict(chaos, name, replica, producer.created, outbox, daemon)
    finally:
        for server in sentinels + [replica, master]:
            stop_server(server)


def wait_sentinels(sentinels, replica, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = True
        for sentinel in sentinels:
            client = sentinel.client(timeout=2)
            try:
                ready = ready and len(client("SENTINEL", "replicas", "main")) == 1 \
                    and len(client("SENTINEL", "sentinels", "main")) == 2
            finally:
                client.close()
        client = replica.client(timeout=2)
        try:
            ready = ready and b"master_link_status:up" in client("INFO", "replication")
        finally:
            client.close()
        if ready:
            return
        time.sleep(0.2)
    raise RuntimeError("the sentinels did not find the replica within %.0f s" % timeout)


SCENARIOS = [
    ("redis-restart-without-persistence", redis_restart_without_persistence),
    ("flushall", flushall),
    ("misconf-for-a-while", misconf_for_a_while),
    ("sentinel-failover", sentinel_failover),
    ("sentinel-failover-with-lag", lambda chaos, name: sentinel_failover(chaos, name, lag=True)),
]
