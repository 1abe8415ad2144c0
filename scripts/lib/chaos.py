#!/usr/bin/env python3
"""The chaos run behind scripts/chaos (read that script first: it starts the services and sets
the variables read here). Each scenario starts real `berth serve` processes, submits short jobs,
injects faults at random moments, lets the system drain, and checks invariants from the outside:
the engines' container event streams (followed from before the first job) and the store.

Invariants, counted over the whole run:
- jobs lost: submitted and not ended (finished, failed or cancelled) once the faults stop and the
  drain bound passed;
- two containers of one job running at the same moment on one engine (from engine events);
- an overlap of two engines' containers of one job longer than the documented bound: the job lease
  plus the time the older container's controller was frozen (SIGSTOP), plus an allowance for one
  renew interval, the stop and the engine (docs/operations.md); leases are read on the database's
  clock, so the clocks' skew (the `skew` scenario) adds nothing;
- job containers left behind after the drain (the janitor's period included in the bound);
- services not running again within their bound after each fault (the largest crash-loop backoff
  plus the engine's start and a pass);
- for the full disk: the controller process died, the SQLite file fails its integrity check, or
  the store's writes did not resume after space came back.
"""

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ENV = os.environ
BERTH = ENV["BERTH_CHAOS_BINARY"]
ROOT = Path(ENV["BERTH_TEST_ROOT"]) / "chaos"
IMAGE = ENV["BERTH_TEST_IMAGE"]
HOST_ENGINE = ENV["BERTH_TEST_DOCKER_HOST"]
NETNS_ENGINE = ENV["BERTH_TEST_NETNS_DOCKER_HOST"]

# The job lease every controller of the run gets (`--job-lease`), renewed at a third of it.
LEASE = 3.0
# Services restart after at most this backoff (`--restart-backoff-max`)…
BACKOFF_MAX = 4.0
# …so a killed service container runs again within this bound: the backoff, the engine's create
# and start, and a pass on a loaded two-core machine.
READY_BOUND = BACKOFF_MAX + 26.0
# Beyond the lease: one renew interval, the container's stop (grace 1 s) and the engine's answer.
OVERLAP_ALLOWANCE = LEASE / 3 + 1.0 + 3.0
# The janitor looks every 30 s; a superseded attempt's container is gone within this after the drain.
LEFTOVER_BOUND = 75.0
SCENARIOS = ["kills", "engines", "outage", "dockerd", "skew", "step", "disk"]


def log(message):
    print(f"chaos: {message}", file=sys.stderr, flush=True)


def run(arguments, timeout=60, check=True, env=None):
    """Runs a command to its end (bounded) and returns its output."""
    result = subprocess.run(arguments, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments[:4])} … failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result


def docker(engine, *arguments, timeout=60, check=True):
    return run(["docker", "-H", engine, *arguments], timeout=timeout, check=check)


def eventually(seconds, what, condition, interval=0.2):
    """Polls `condition` until it holds; False after `seconds` (the caller counts the violation)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if condition():
                return True
        except (RuntimeError, subprocess.TimeoutExpired, ValueError):
            pass
        time.sleep(interval)
    log(f"not within {seconds:.0f} s: {what}")
    return False


class Tally:
    """What the run injected and what it found."""

    def __init__(self):
        self.faults = {}
        self.violations = {}
        self.notes = []
        self.longest_overlap = 0.0

    def fault(self, name, count=1):
        self.faults[name] = self.faults.get(name, 0) + count

    def check(self, invariant, violations=0, detail=None):
        self.violations[invariant] = self.violations.get(invariant, 0) + violations
        if violations and detail:
            self.notes.append(f"{invariant}: {detail}")

    def print(self):
        width = max([len("fault injected")] + [len(name) for name in self.faults]) + 2
        print("\n| " + " | ".join(("fault injected".ljust(width), "count")) + " |")
        print(f"| {'-' * width} | ----- |")
        for name, count in sorted(self.faults.items()):
            print(f"| {name.ljust(width)} | {count:5d} |")
        width = max(len(name) for name in self.violations) + 2
        print("\n| " + "invariant".ljust(width) + " | violations |")
        print(f"| {'-' * width} | ---------- |")
        for name, count in self.violations.items():
            print(f"| {name.ljust(width)} | {count:10d} |")
        print(f"\nlongest cross-engine overlap of one job's containers: {self.longest_overlap:.1f} s")
        for note in self.notes:
            print(f"- {note}")
        return sum(self.violations.values())


class EngineWatch(threading.Thread):
    """Follows one engine's container events for a project from before its first job on
    (`--since` replays what happened while the stream started), reconnecting after an engine
    restart from the last event seen."""

    def __init__(self, engine, project):
        super().__init__(daemon=True)
        self.engine, self.project = engine, project
        self.since = time.time() - 1
        self.events = []
        self.resets = []
        self.lock = threading.Lock()
        self.stopping = False
        self.process = None

    def run(self):
        seen = set()
        while not self.stopping:
            since = self.since
            with self.lock:
                if self.events:
                    since = self.events[-1]["time"] - 1
            self.process = subprocess.Popen(
                ["docker", "-H", self.engine, "events", "--since", f"{since:.3f}", "--format", "{{json .}}",
                 "--filter", "type=container", "--filter", f"label=berth.project={self.project}"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for line in self.process.stdout:
                event = json.loads(line)
                key = (event.get("id"), event.get("Action"), event.get("timeNano"))
                if key in seen:
                    continue
                seen.add(key)
                attributes = event.get("Actor", {}).get("Attributes", {})
                with self.lock:
                    self.events.append({
                        "time": event["timeNano"] / 1e9, "action": event.get("Action", ""), "id": event.get("id"),
                        "job": attributes.get("berth.job"), "attempt": attributes.get("berth.attempt"),
                        "name": attributes.get("berth.name"),
                    })
            self.process.wait()
            if not self.stopping:
                time.sleep(0.5)

    def engine_restarted(self):
        """The engine went away: every container it ran ended then."""
        with self.lock:
            self.resets.append(time.time())

    def stop(self):
        self.stopping = True
        if self.process and self.process.poll() is None:
            self.process.terminate()
        self.join(timeout=10)

    def service_gaps(self, name):
        """(when it died, seconds to the next start) for each death of the service's container, in order."""
        with self.lock:
            events = sorted((event for event in self.events if event["name"] == name and not event["job"]), key=lambda event: event["time"])
        gaps, died = [], None
        for event in events:
            if event["action"] == "die":
                died = event["time"]
            elif event["action"] == "start" and died is not None:
                gaps.append((died, event["time"] - died))
                died = None
        return gaps

    def job_intervals(self, until):
        """Each job container's running intervals: [(job, container, start, end)]."""
        with self.lock:
            events = sorted(self.events, key=lambda event: event["time"])
            resets = sorted(self.resets)
        running, intervals = {}, []
        marks = [(event["time"], event) for event in events if event["job"]] + [(moment, None) for moment in resets]
        for moment, event in sorted(marks, key=lambda mark: mark[0]):
            if event is None:
                for (job, container), start in running.items():
                    intervals.append((job, container, start, moment))
                running = {}
            elif event["action"] == "start":
                running[(event["job"], event["id"])] = moment
            elif event["action"] in ("die", "destroy"):
                start = running.pop((event["job"], event["id"]), None)
                if start is not None:
                    intervals.append((event["job"], event["id"], start, moment))
        for (job, container), start in running.items():
            intervals.append((job, container, start, until))
        return intervals


class Controller:
    """One `berth serve --role controller` process the run starts, kills, pauses and resumes."""

    def __init__(self, scenario, name, engine, store, wrapper=(), environment=None):
        self.scenario, self.name, self.engine, self.store = scenario, name, engine, store
        self.wrapper, self.environment = list(wrapper), environment or {}
        self.process = None
        self.paused_since = None
        self.frozen = []
        self.log = scenario.folder / f"{name}.log"

    def start(self):
        arguments = self.wrapper + [
            BERTH, "serve", "-f", str(self.scenario.manifests), "--role", "controller", "--controller-id", self.name,
            "--docker-host", self.engine, "--resync", "2s", "--restart-backoff", "1s", "--restart-backoff-max", f"{BACKOFF_MAX:.0f}s",
            "--job-lease", f"{LEASE:.0f}s", "--job-poll-interval", "200ms", "--job-retry-backoff", "1s",
            "--job-retry-backoff-max", "2s", "--max-concurrent-jobs", "4", "--log-level", "info",
        ] + self.store
        with open(self.log, "a") as output:
            self.process = subprocess.Popen(
                arguments, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                env={**ENV, **self.environment})

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, number):
        """Signals the controller and its wrapper (faketime runs berth as its child): the group."""
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass

    def kill(self):
        self.resume()
        self.signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def pause(self):
        self.signal(signal.SIGSTOP)
        self.paused_since = time.time()

    def resume(self):
        if self.paused_since is not None and self.alive:
            self.signal(signal.SIGCONT)
            self.frozen.append((self.paused_since, time.time()))
        self.paused_since = None

    def frozen_during(self, start, end):
        """Seconds this controller was frozen between `start` and `end`."""
        spans = self.frozen + ([(self.paused_since, time.time())] if self.paused_since else [])
        return sum(max(0.0, min(end, stop) - max(start, begin)) for begin, stop in spans)

    def stop(self):
        if not self.alive:
            return
        self.resume()
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=30)


class Scenario:
    """One scenario's project, folder, manifests, store and engines' watches."""

    def __init__(self, name, tally, engines, database_url=None, project_limit=None):
        self.name, self.tally = name, tally
        self.project = f"chaos{name}{random.randrange(16 ** 6):06x}"
        self.folder = ROOT / name
        self.manifests = self.folder / "manifests"
        self.manifests.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.store = ["--database", database_url] if database_url else []
        self.watches = {engine: EngineWatch(engine, self.project) for engine in engines}
        self.controllers = []
        self.jobs = []
        self.write_manifest("project.yaml", f"apiVersion: berth/v1\nkind: Project\nmetadata: {{name: {self.project}}}\nspec: {{}}\n")
        for watch in self.watches.values():
            watch.start()

    def write_manifest(self, file, text):
        (self.manifests / file).write_text(text)

    def service(self, name="web", command='["sleep", "3600"]'):
        self.write_manifest(f"{name}.yaml", f"""apiVersion: berth/v1
kind: Service
metadata: {{name: {name}, project: {self.project}}}
spec:
  image: {IMAGE}
  pullPolicy: Never
  network: none
  stopGracePeriod: 1s
  command: {command}
""")

    def controller(self, name, engine, store=None, **options):
        controller = Controller(self, name, engine, store if store is not None else self.store, **options)
        controller.start()
        self.controllers.append(controller)
        return controller

    def berth(self, *arguments, timeout=60, check=True, store=None):
        return run([BERTH, *arguments, *(store if store is not None else self.store)], timeout=timeout, check=check)

    def submit(self, count, durations=(0.5, 6.0), extra=""):
        """Submits `count` jobs of a random length each (`extra`: more lines of their spec); returns their ids."""
        documents = []
        for index in range(count):
            seconds = random.uniform(*durations)
            documents.append(f"""apiVersion: berth/v1
kind: Job
metadata: {{name: work-{len(self.jobs) + index}, project: {self.project}}}
spec:
  image: {IMAGE}
  pullPolicy: Never
  network: none
  stopGracePeriod: 1s
  backoffLimit: 20
  command: ["sleep", "{seconds:.2f}"]
{extra}""")
        file = self.folder / f"submit-{len(self.jobs)}.yaml"
        file.write_text("---\n".join(documents))
        answer = self.berth("jobs", "submit", "-f", str(file), "--json", timeout=120)
        ids = [job["id"] for job in json.loads(answer.stdout)]
        self.jobs += ids
        return ids

    def job_states(self, store=None):
        answer = self.berth("jobs", "list", "--project", self.project, "--limit", "1000", "--json", timeout=60, store=store)
        return {job["id"]: job for job in json.loads(answer.stdout)}

    def running_containers(self, engine, name="web"):
        output = docker(engine, "ps", "-q", "--no-trunc", "--filter", f"label=berth.project={self.project}",
                        "--filter", f"label=berth.name={name}", "--filter", "label=berth.kind=service",
                        "--filter", "status=running", timeout=30).stdout
        return output.split()

    def kill_service(self, engine, name="web"):
        """Kills the service's container on `engine`; True when a new one runs within the bound."""
        old = self.running_containers(engine, name)
        if not old:
            self.tally.check("services not running again within their bound", 1, f"{self.name}: no {name} container ran before the kill")
            return False
        started = docker(engine, "inspect", "-f", "{{.State.StartedAt}}", old[0], timeout=30).stdout.strip()
        docker(engine, "kill", old[0], timeout=30)
        self.tally.fault("service container killed (docker kill)")

        def restarted():
            # Berth starts the killed container again (or replaces it): a new start time, or a new one.
            for container in self.running_containers(engine, name):
                if container != old[0] or docker(engine, "inspect", "-f", "{{.State.StartedAt}}", container, timeout=30).stdout.strip() != started:
                    return True
            return False

        ready = eventually(READY_BOUND, f"{self.name}: {name} running again on {engine}", restarted)
        self.tally.check("services not running again within their bound", 0 if ready else 1, f"{self.name}: {name} on {engine}")
        return ready

    def drain(self, bound, store=None):
        """Waits until every submitted job ended; counts the ones that did not as lost."""
        terminal = {"finished", "failed", "cancelled"}
        states = {}

        def done():
            nonlocal states
            states = self.job_states(store)
            return all(states.get(job, {}).get("state") in terminal for job in self.jobs)

        eventually(bound, f"{self.name}: every job ended", done, interval=1.0)
        lost = [job for job in self.jobs if states.get(job, {}).get("state") not in terminal]
        failed = [job for job in self.jobs if states.get(job, {}).get("state") == "failed"]
        self.tally.check("jobs lost (submitted, never ended)", len(lost), f"{self.name}: {', '.join(lost[:5])}")
        if failed:
            self.tally.notes.append(f"{self.name}: {len(failed)} jobs failed (retries used up), e.g. {failed[0]}")
        log(f"{self.name}: {len(self.jobs)} jobs, {len(self.jobs) - len(lost) - len(failed)} finished, {len(failed)} failed, {len(lost)} not ended")

    def check_containers(self):
        """Counts double runs on one engine and overlaps across engines beyond their bound."""
        until = time.time()
        per_engine = {engine: watch.job_intervals(until) for engine, watch in self.watches.items()}
        doubles = 0
        for engine, intervals in per_engine.items():
            by_job = {}
            for job, container, start, end in intervals:
                by_job.setdefault(job, []).append((start, end, container))
            for job, spans in by_job.items():
                spans.sort()
                for (start_a, end_a, a), (start_b, end_b, b) in zip(spans, spans[1:]):
                    if a != b and start_b < end_a - 0.001:
                        doubles += 1
                        self.tally.notes.append(f"{self.name}: job {job} had two containers at once on {engine}")
        self.tally.check("two containers of one job at once on one engine", doubles)
        engines = list(per_engine)
        beyond = 0
        for index, first in enumerate(engines):
            for second in engines[index + 1:]:
                for job_a, _, start_a, end_a in per_engine[first]:
                    for job_b, _, start_b, end_b in per_engine[second]:
                        if job_a != job_b:
                            continue
                        overlap = min(end_a, end_b) - max(start_a, start_b)
                        if overlap <= 0:
                            continue
                        older_engine = first if start_a <= start_b else second
                        frozen = max((controller.frozen_during(max(start_a, start_b), min(end_a, end_b))
                                      for controller in self.controllers if controller.engine == older_engine), default=0.0)
                        allowed = LEASE + frozen + OVERLAP_ALLOWANCE
                        self.tally.longest_overlap = max(self.tally.longest_overlap, overlap)
                        if overlap > allowed:
                            beyond += 1
                            self.tally.notes.append(f"{self.name}: job {job_a} ran on two engines for {overlap:.1f} s (bound {allowed:.1f} s)")
        self.tally.check("cross-engine overlap beyond the documented bound", beyond)

    def check_jobs(self):
        """After the faults: every job ended, never two containers at once, nothing left behind."""
        self.drain(180)
        self.check_containers()
        self.check_leftovers()

    def check_alive(self):
        """Counts the controllers that exited on their own (the run restarts the ones it kills at once)."""
        dead = [controller.name for controller in self.controllers if not controller.alive]
        self.tally.check("controllers that died from a fault", len(dead), f"{self.name}: {', '.join(dead)}")

    def check_leftovers(self):
        def leftovers():
            found = []
            for engine in self.watches:
                found += docker(engine, "ps", "-aq", "--filter", f"label=berth.project={self.project}", "--filter", "label=berth.kind=job", timeout=30).stdout.split()
            return found

        eventually(LEFTOVER_BOUND, f"{self.name}: job containers removed", lambda: not leftovers(), interval=1.0)
        left = leftovers()
        self.tally.check("job containers left behind", len(left), f"{self.name}: {len(left)} left")

    def finish(self):
        for controller in self.controllers:
            controller.stop()
        for watch in self.watches.values():
            watch.stop()
        for engine in self.watches:
            ids = docker(engine, "ps", "-aq", "--filter", f"label=berth.project={self.project}", check=False, timeout=30).stdout.split()
            if ids:
                docker(engine, "rm", "-f", *ids, check=False, timeout=60)
            volumes = docker(engine, "volume", "ls", "-q", "--filter", f"label=berth.project={self.project}", check=False, timeout=30).stdout.split()
            if volumes:
                docker(engine, "volume", "rm", "-f", *volumes, check=False, timeout=60)


def database(url, name):
    """A fresh database `name` on the cluster of `url`; its URL."""
    run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], timeout=60)
    run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {name}"], timeout=60)
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def fault_loop(scenario, tally, seconds, actions):
    """Injects one random fault from `actions` every 1 to 3 s for `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(random.uniform(1.0, 3.0))
        random.choice(actions)(scenario, tally)


def kill_and_restart(scenario, tally):
    controller = random.choice(scenario.controllers)
    controller.kill()
    tally.fault("controller SIGKILL, restarted")
    time.sleep(random.uniform(0.2, 2.0))
    controller.start()


def pause_and_resume(scenario, tally, longest=3.0):
    controller = random.choice([c for c in scenario.controllers if c.alive])
    controller.pause()
    seconds = random.uniform(0.3, longest) * LEASE
    tally.fault("controller SIGSTOP past the lease, SIGCONT" if seconds > LEASE else "controller SIGSTOP within the lease, SIGCONT")
    time.sleep(seconds)
    controller.resume()


def submit_during(scenario, total, seconds):
    """Submits `total` jobs in batches over `seconds`, in the background."""
    def submit():
        batches = max(1, total // 10)
        for batch in range(batches):
            count = total // batches + (1 if batch < total % batches else 0)
            scenario.submit(count)
            time.sleep(seconds / batches)
    thread = threading.Thread(target=submit, daemon=True)
    thread.start()
    return thread


def jobs_under_faults(tally, name, engines, size, seconds, actions, wrappers=None):
    """Two controllers on one PostgreSQL database (on `engines`) run `size` jobs while `actions`
    hit them for `seconds`; then the drain and the job invariants."""
    scenario = Scenario(name, tally, set(engines), database_url=database(ENV["BERTH_TEST_POSTGRES_URL"], f"chaos_{name}"))
    try:
        for index, engine in enumerate(engines):
            wrapper, environment = (wrappers or {}).get(index, ((), None))
            scenario.controller(f"{name}-{index + 1}", engine, wrapper=wrapper, environment=environment)
        submitter = submit_during(scenario, size, seconds * 0.7)
        fault_loop(scenario, tally, seconds, actions)
        submitter.join(timeout=120)
        scenario.check_alive()
        for controller in scenario.controllers:
            controller.resume()
        scenario.check_jobs()
    finally:
        scenario.finish()


def scenario_kills(tally, short):
    jobs_under_faults(tally, "kills", [HOST_ENGINE, HOST_ENGINE], 30 if short else 300, 30 if short else 240,
                      [kill_and_restart, pause_and_resume])


def scenario_engines(tally, short):
    jobs_under_faults(tally, "engines", [HOST_ENGINE, NETNS_ENGINE], 16 if short else 120, 30 if short else 150,
                      [pause_and_resume, pause_and_resume, kill_and_restart])


def wall_clock(offset, after=0):
    """The environment that puts a controller's wall clock `offset` seconds off, `after` seconds
    into its run (scripts/lib/wallclock.c, built by scripts/chaos); its monotonic clock and timers
    keep the true time, as under a real step of the system clock."""
    return {"LD_PRELOAD": ENV["BERTH_CHAOS_WALLCLOCK"], "BERTH_WALL_OFFSET": str(offset), "BERTH_WALL_STEP_AFTER": str(after)}


def check_wall_clock():
    """Refuses to run the step scenario when the preloaded clock does not take."""
    shifted = run(["date", "+%s"], timeout=30, env={**ENV, **wall_clock(120)}).stdout
    if abs(int(shifted) - time.time() - 120) > 10:
        raise RuntimeError(f"the preloaded wall clock does not shift the clock here (date said {shifted.strip()})")


def faketime(offset):
    """Debian's `faketime` wrapper and environment that run a controller with its wall clock
    `offset` off (FAKETIME_DONT_FAKE_MONOTONIC). libfaketime also moves absolute timer deadlines
    on the monotonic clock by the offset, so the controller behind also sleeps 2 minutes too long
    at each timer: harsher than a skewed clock alone, as if it were frozen as well."""
    return ("faketime", "-f", offset), {"FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def scenario_skew(tally, short):
    wrapper, environment = faketime("+2m")
    shifted = run([*wrapper, "date", "+%s"], timeout=30, env={**ENV, **environment}).stdout
    if abs(int(shifted) - time.time() - 120) > 10:
        raise RuntimeError(f"faketime does not shift the clock here (date said {shifted.strip()})")
    tally.fault("controller clocks 2 min ahead and 2 min behind (faketime)")
    # On two engines, where a lease read on a skewed clock would run a job twice; leases are read
    # on the database's clock, so the overlap bound holds no skew.
    jobs_under_faults(tally, "skew", [HOST_ENGINE, NETNS_ENGINE], 16 if short else 100, 25 if short else 120,
                      [pause_and_resume], wrappers={0: faketime("+2m"), 1: faketime("-2m")})


def scenario_step(tally, short):
    """The wall clock of a running controller stepped an hour ahead, and in a second process two
    hours back, 25 s into its run: a crash-looping service is restarted after its backoff each
    time, neither held nor early, and jobs running across the step are not ended by their
    activeDeadline."""
    check_wall_clock()
    scenario = Scenario("step", tally, {HOST_ENGINE}, database_url=database(ENV["BERTH_TEST_POSTGRES_URL"], "chaos_step"))
    scenario.service("crasher", command='["sh", "-c", "sleep 2; exit 1"]')
    watch = scenario.watches[HOST_ENGINE]
    started = []
    try:
        for index, (offset, name) in enumerate((("+1h", "wall clock stepped an hour ahead"), ("-2h", "wall clock stepped two hours back"))):
            seconds = int(offset[:-1]) * 3600
            controller = scenario.controller(f"step-{index + 1}", HOST_ENGINE, environment=wall_clock(seconds, after=25))
            started.append(time.time())
            stepped = time.time() + 25
            before = len(watch.service_gaps("crasher"))
            time.sleep(18)
            scenario.submit(2 if short else 4, durations=(8.0, 12.0), extra="  activeDeadline: 40s\n")
            tally.fault(name)
            # Three restarts after the step, each due 4 s (the backoff's most) after its crash.
            def restarted_after_step():
                with watch.lock:
                    return sum(1 for event in watch.events if event["name"] == "crasher" and event["action"] == "start" and event["time"] > stepped) >= 3
            if not eventually(90, f"step: crasher restarted three times after the {offset} step", restarted_after_step):
                tally.check("crash-loop restarts held or early after a wall-clock step", 1, f"step: no three restarts after the {offset} step")
            dead = 0 if controller.alive else 1
            tally.check("controllers that died from a fault", dead, f"step: {controller.name}")
            controller.stop()
            log(f"step: {len(watch.service_gaps('crasher')) - before} restarts around the {offset} step")
        gaps = watch.service_gaps("crasher")
        # A restart is due 1 s after the one before, doubling to BACKOFF_MAX (the container runs
        # 2 s, never long enough to reset the count): a new controller process restarts at once,
        # and its first three restarts (1 s and 2 s after the one before) follow the crash at
        # once, within about 15 s of its start on a loaded machine. After that, a restart that
        # follows a crash at once is one whose backoff was forgotten.
        held = [gap for _, gap in gaps if gap > BACKOFF_MAX + 6.0]
        early = [gap for died, gap in gaps if gap < 0.8 and not any(begin - 1 <= died <= begin + 15 for begin in started)]
        tally.check("crash-loop restarts held or early after a wall-clock step", len(held) + len(early),
                    f"step: gaps {', '.join(f'{gap:.1f}' for _, gap in gaps)} s")
        scenario.controller("step-3", HOST_ENGINE)
        scenario.drain(120)
        states = scenario.job_states()
        ended = [job for job in scenario.jobs if states.get(job, {}).get("state") != "finished"]
        tally.check("jobs ended early by a wall-clock step", len(ended), f"step: {', '.join(ended)}")
    finally:
        scenario.finish()


def as_postgres(*arguments, timeout=120):
    return run(["runuser", "-u", "postgres", "--", *arguments], timeout=timeout)


def scenario_outage(tally, short):
    """PostgreSQL stopped for longer than the job lease while jobs run; a service container killed
    on each engine meanwhile (a leader and a non-leader) runs again; every job ends afterwards."""
    ctl, data = ENV["BERTH_TEST_POSTGRES_CTL"], ENV["BERTH_TEST_POSTGRES_RESTART_DATA"]
    url = database(ENV["BERTH_TEST_POSTGRES_RESTART_URL"], "chaos_outage")
    scenario = Scenario("outage", tally, {HOST_ENGINE, NETNS_ENGINE}, database_url=url)
    scenario.service()
    try:
        scenario.controller("outage-1", HOST_ENGINE)
        scenario.controller("outage-2", NETNS_ENGINE)
        for engine in (HOST_ENGINE, NETNS_ENGINE):
            if not eventually(READY_BOUND * 2, f"web on {engine}", lambda: scenario.running_containers(engine)):
                raise RuntimeError(f"outage: web never ran on {engine}")
        rounds = 1 if short else 3
        for _ in range(rounds):
            scenario.submit(6 if short else 12, durations=(1.0, 4.0))
            time.sleep(random.uniform(1.0, 3.0))
            as_postgres(ctl, "-D", data, "-m", "immediate", "-w", "stop")
            tally.fault("PostgreSQL stopped past the job lease")
            stopped = time.monotonic()
            for engine in (HOST_ENGINE, NETNS_ENGINE):
                scenario.kill_service(engine)
            time.sleep(max(0.0, LEASE * 2.5 - (time.monotonic() - stopped)))
            as_postgres(ctl, "-D", data, "-l", str(Path(data).parent / "server.log"), "-w", "-t", "60", "start")
            scenario.check_alive()
        scenario.check_jobs()
    finally:
        scenario.finish()


def restart_dockerd(scenario):
    """Stops the first engine (SIGTERM, as systemd does) and starts it again as scripts/chaos did."""
    pidfile = Path(ENV["BERTH_CHAOS_DOCKERD_PIDFILE"])
    pid = int(pidfile.read_text().strip())
    os.kill(pid, signal.SIGTERM)
    eventually(60, "dockerd stopped", lambda: not Path(f"/proc/{pid}").exists())
    scenario.watches[HOST_ENGINE].engine_restarted()
    with open(ENV["BERTH_CHAOS_DOCKERD_LOG"], "a") as output:
        subprocess.Popen(ENV["BERTH_CHAOS_DOCKERD_COMMAND"].split(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    if not eventually(60, "dockerd back", lambda: docker(HOST_ENGINE, "version", timeout=10, check=False).returncode == 0):
        raise RuntimeError("dockerd did not come back after its restart")


def scenario_dockerd(tally, short):
    """The engine restarted under a pass: its containers die with it; the service runs again and
    every job ends (its attempt lost with the engine, retried)."""
    scenario = Scenario("dockerd", tally, {HOST_ENGINE}, database_url=database(ENV["BERTH_TEST_POSTGRES_URL"], "chaos_dockerd"))
    scenario.service()
    try:
        scenario.controller("dockerd-1", HOST_ENGINE)
        if not eventually(READY_BOUND * 2, "web running", lambda: scenario.running_containers(HOST_ENGINE)):
            raise RuntimeError("dockerd: web never ran")
        for _ in range(1 if short else 3):
            scenario.submit(6 if short else 15, durations=(1.0, 4.0))
            time.sleep(random.uniform(0.5, 2.5))
            restart_dockerd(scenario)
            tally.fault("dockerd restarted")
            ready = eventually(READY_BOUND, "web running after the engine restart", lambda: scenario.running_containers(HOST_ENGINE))
            tally.check("services not running again within their bound", 0 if ready else 1, "dockerd: web after the engine restart")
        scenario.check_alive()
        scenario.check_jobs()
    finally:
        scenario.finish()


def scenario_disk(tally, short):
    """The SQLite state directory on a small tmpfs that fills up: self-healing goes on, the process
    lives, the file stays whole, and writes resume once space is back."""
    state = ROOT / "disk-state"
    state.mkdir(parents=True, exist_ok=True)
    run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "berth-chaos-disk", str(state)], timeout=30)
    store = ["--state-dir", str(state)]
    scenario = Scenario("disk", tally, {HOST_ENGINE})
    scenario.store = store
    scenario.service()
    try:
        controller = scenario.controller("disk-1", HOST_ENGINE)
        if not eventually(READY_BOUND * 2, "web running", lambda: scenario.running_containers(HOST_ENGINE)):
            raise RuntimeError("disk: web never ran")
        filler = state / "filler"
        run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], timeout=120, check=False)
        tally.fault("SQLite state directory full")
        kills = 1 if short else 3
        for _ in range(kills):
            scenario.kill_service(HOST_ENGINE)
        scenario.check_alive()
        filler.unlink()

        def restarts_recorded():
            report = json.loads(scenario.berth("status", "--project", scenario.project, "--json", timeout=30).stdout)
            return any(status.get("restartCount", 0) >= kills for status in report["items"])

        resumed = eventually(90, "the restarts recorded in the store after space came back", restarts_recorded, interval=1.0)
        tally.check("store writes not resumed after space came back", 0 if resumed else 1, "disk: status never showed the restarts")
        controller.stop()
        broken = 0
        for file in state.glob("*.db"):
            with sqlite3.connect(f"file:{file}?mode=ro", uri=True) as connection:
                if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    broken += 1
        tally.check("SQLite files failing their integrity check", broken)
    finally:
        scenario.finish()
        run(["umount", str(state)], timeout=30, check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the bounded form scripts/test runs")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios: " + ", ".join(SCENARIOS))
    options = parser.parse_args()
    chosen = [name for name in options.only.split(",") if name]
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; expected some of {', '.join(SCENARIOS)}")
    seed = int(ENV.get("BERTH_CHAOS_SEED", str(random.randrange(1 << 30))))
    random.seed(seed)
    log(f"seed {seed} (BERTH_CHAOS_SEED={seed} replays the random choices); {'short' if options.short else 'full'} run of {', '.join(chosen)}")
    ROOT.mkdir(parents=True, exist_ok=True)
    tally = Tally()
    started = time.monotonic()
    for name in chosen:
        log(f"scenario {name}")
        begin = time.monotonic()
        try:
            globals()[f"scenario_{name}"](tally, options.short)
        except Exception as error:  # a scenario that cannot run is a failure of the run, never a skip
            tally.check("scenarios that could not run", 1, f"{name}: {error}")
        log(f"scenario {name} done in {time.monotonic() - begin:.0f} s")
    violations = tally.print()
    print(f"\n{len(chosen)} scenarios in {time.monotonic() - started:.0f} s, seed {seed}: {violations} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
