#!/usr/bin/env python3
"""One round of the several-nodes job benchmark (issue 23; scripts/bench-nodes runs it).

`raw`: the ceiling. WORKERS threads spread over the engines (worker i on engine i mod K) run
create + start + wait + logs + remove (with its volumes) of a busybox `true` container on network
none through each engine's unix socket, until JOBS cycles are done. Seconds are from the first
create to the last removal's answer.

`berth`: JOBS trivial jobs (busybox `true`, network none) submitted back to back through the API
(one keep-alive connection); seconds are from the first submit to the moment the last job's
scratch volume is destroyed (the last thing a runner does for a job), as each engine's event
stream tells (watched from before the first submit; nothing is polled meanwhile, so the
measurement adds no load the raw loop does not have). Then every job must be `finished` in the
store and no container or volume of the round left on any engine.

Both print one JSON line: {"jobs": N, "seconds": S, ...}. A watchdog fails the round when no
cycle or job finishes for --stall seconds.

Usage: nodes_bench.py raw --engines SOCK[,SOCK…] --image IMAGE --jobs N --workers W
       nodes_bench.py berth --engines SOCK[,…] --image IMAGE --jobs N --api URL --token-file F
                            --project P --database URL
"""
import argparse
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.parse


class UnixConnection(http.client.HTTPConnection):
    """An HTTP connection to a Docker engine's unix socket."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def call(connection, method, path, body=None, expect=(200, 201, 204)):
    """One request; returns the decoded JSON (or None); fails naming the call and the answer."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    data = response.read()
    if response.status not in expect:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    if data and response.getheader("Content-Type", "").startswith("application/json"):
        return json.loads(data)
    return None


class Watchdog:
    """Records progress; `stalled()` is true when nothing finished for `limit` seconds."""

    def __init__(self, limit):
        self.limit = limit
        self.last = time.monotonic()

    def progress(self):
        self.last = time.monotonic()

    def stalled(self):
        return time.monotonic() - self.last > self.limit


def raw(args):
    engines = args.engines.split(",")
    lock = threading.Lock()
    remaining = [args.jobs]
    failures = []
    watchdog = Watchdog(args.stall)

    def take():
        with lock:
            if remaining[0] == 0 or failures:
                return False
            remaining[0] -= 1
            return True

    def worker(index):
        connection = UnixConnection(engines[index % len(engines)], args.stall)
        spec = {"Image": args.image, "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}}
        try:
            while take():
                created = call(connection, "POST", "/containers/create", spec)
                cid = created["Id"]
                call(connection, "POST", f"/containers/{cid}/start")
                call(connection, "POST", f"/containers/{cid}/wait")
                call(connection, "GET", f"/containers/{cid}/logs?stdout=1&stderr=1")
                call(connection, "DELETE", f"/containers/{cid}?v=1")
                watchdog.progress()
        except Exception as error:  # noqa: BLE001 - reported and fails the round
            with lock:
                failures.append(f"worker {index}: {error}")

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - start
    if failures:
        sys.exit("raw loop failed: " + "; ".join(failures))
    print(json.dumps({"jobs": args.jobs, "seconds": round(seconds, 3)}))


def psql(database, query):
    result = subprocess.run(["psql", database, "-Atc", query], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"psql: {result.stderr.strip()}")
    return result.stdout.strip()


def engines_empty(connections):
    for connection in connections:
        if call(connection, "GET", "/containers/json?all=1"):
            return False
        if (call(connection, "GET", "/volumes") or {}).get("Volumes"):
            return False
    return True


class ScratchWatch:
    """Counts destroyed scratch volumes of one project's jobs, on every engine, from their event
    streams; `last` is the monotonic time of the latest."""

    def __init__(self, engines, project, stall):
        self.marker = f"berth-{project}-job-"
        self.lock = threading.Lock()
        self.destroyed = 0
        self.last = None
        self.failures = []
        self.ready = threading.Barrier(len(engines) + 1, timeout=stall)
        self.threads = [threading.Thread(target=self.watch, args=(path, stall), daemon=True) for path in engines]
        for thread in self.threads:
            thread.start()
        self.ready.wait()

    def watch(self, path, stall):
        filters = json.dumps({"type": ["volume"], "event": ["destroy"]})
        connection = UnixConnection(path, None)
        try:
            connection.request("GET", "/events?filters=" + urllib.parse.quote(filters))
            response = connection.getresponse()
            if response.status != 200:
                raise RuntimeError(f"GET /events: {response.status}")
            self.ready.wait()
            while True:
                line = response.readline()
                if not line:
                    return
                name = json.loads(line).get("Actor", {}).get("ID", "")
                if name.startswith(self.marker) and name.endswith("-scratch"):
                    with self.lock:
                        self.destroyed += 1
                        self.last = time.monotonic()
        except Exception as error:  # noqa: BLE001 - reported and fails the round
            with self.lock:
                self.failures.append(f"{path}: {error}")

    def state(self):
        with self.lock:
            return self.destroyed, self.last, list(self.failures)


def berth(args):
    host, _, port = args.api.removeprefix("http://").partition(":")
    api = http.client.HTTPConnection(host, int(port), timeout=args.stall)
    with open(args.token_file) as file:
        token = file.read().strip()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    engines = args.engines.split(",")
    watch = ScratchWatch(engines, args.project, args.stall)
    start = time.monotonic()
    for index in range(args.jobs):
        document = {
            "apiVersion": "berth/v1",
            "kind": "Job",
            "metadata": {"name": f"bench-{index}", "project": args.project},
            "spec": {"image": args.image, "command": ["true"], "network": "none"},
        }
        api.request("POST", "/v1/jobs", body=json.dumps(document), headers=headers)
        response = api.getresponse()
        body = response.read()
        if response.status != 201:
            sys.exit(f"POST /v1/jobs (job {index}): {response.status} {body[:300]!r}")
    submitted = time.monotonic() - start
    watchdog = Watchdog(args.stall)
    seen = 0
    while True:
        destroyed, last, failures = watch.state()
        if failures:
            sys.exit("watching the engines' events failed: " + "; ".join(failures))
        if destroyed >= args.jobs:
            break
        if destroyed > seen:
            seen = destroyed
            watchdog.progress()
        if watchdog.stalled():
            sys.exit(f"no job's objects were removed for {args.stall} s ({destroyed} of {args.jobs})")
        time.sleep(0.05)
    seconds = last - start
    query = (f"SELECT count(*) FILTER (WHERE state = 'finished'), count(*) FROM jobs WHERE project = '{args.project}'")
    done, total = (int(value) for value in psql(args.database, query).split("|"))
    if done != args.jobs or total != args.jobs:
        sys.exit(f"{done} of {total} jobs of project {args.project} finished, {args.jobs} submitted")
    connections = [UnixConnection(path, args.stall) for path in engines]
    if not engines_empty(connections):
        sys.exit(f"containers or volumes are left on the engines after the round of project {args.project}")
    by_node = psql(args.database, f"SELECT claimed_by, count(*) FROM jobs WHERE project = '{args.project}' "
                                  "GROUP BY claimed_by ORDER BY claimed_by")
    print(json.dumps({"jobs": args.jobs, "seconds": round(seconds, 3), "submit_seconds": round(submitted, 3),
                      "by_node": ",".join(line.replace("|", ":") for line in by_node.splitlines())}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["raw", "berth"])
    parser.add_argument("--engines", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--api")
    parser.add_argument("--token-file")
    parser.add_argument("--project")
    parser.add_argument("--database")
    parser.add_argument("--stall", type=float, default=60)
    args = parser.parse_args()
    raw(args) if args.mode == "raw" else berth(args)


if __name__ == "__main__":
    main()
