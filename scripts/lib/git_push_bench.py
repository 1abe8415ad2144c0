#!/usr/bin/env python3
"""Push-to-running for the git source (issue 19; scripts/bench-git runs it): against a running
`berth serve --git-url file://BARE --git-interval 1h --git-webhook-secret-file F`, each round
edits one service's env in a clone, commits, runs `git push`, and from the moment the push
returns sends the signed webhook delivery and waits for the engine's `start` event of the
service's new container (`docker events`, the project's label). In the same run, the engine's own
`docker create` + `docker start` of the same image is timed. Prints medians and raw samples (ms).

Usage: git_push_bench.py --work CLONE --api URL --secret-file F --project P --image IMAGE --rounds N
"""
import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import threading
import time
import urllib.request

MANIFEST = """apiVersion: berth/v1
kind: Project
metadata: {{name: {project}}}
---
apiVersion: berth/v1
kind: Service
metadata: {{name: web, project: {project}}}
spec:
  image: {image}
  pullPolicy: Never
  network: none
  command: ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"]
  stopGracePeriod: 1s
  env: {{ROUND: "{round}"}}
"""


class StartEvents:
    """Follows `docker events` for container starts of one project; records each start's arrival time."""

    def __init__(self, project):
        self.starts = []
        self.condition = threading.Condition()
        self.process = subprocess.Popen(
            ["docker", "events", "--filter", "type=container", "--filter", "event=start", "--filter", f"label=berth.project={project}",
             "--format", "{{json .}}"], stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            now = time.monotonic()
            with self.condition:
                self.starts.append((now, json.loads(line)))
                self.condition.notify_all()

    def wait_after(self, count, timeout=60):
        """The arrival time of start number `count` (0-based), waiting at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while len(self.starts) <= count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"no container start within {timeout}s")
                self.condition.wait(left)
            return self.starts[count][0]

    def stop(self):
        self.process.kill()


def git(work, *arguments):
    subprocess.run(["git", "-C", work, "-c", "user.name=Bench", "-c", "user.email=bench@berth.invalid", *arguments], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def deliver(api, secret, body, delivery):
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(api + "/v1/hooks/git", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": signature})
    with urllib.request.urlopen(request, timeout=10) as answer:
        if answer.status != 202:
            raise SystemExit(f"webhook answered {answer.status}")


def engine_create_start(image, rounds):
    samples = []
    for index in range(rounds):
        name = f"berth-bench-raw-{os.getpid()}-{index}"
        start = time.monotonic()
        subprocess.run(["docker", "create", "--name", name, "--network", "none", image, "sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["docker", "start", name], check=True, stdout=subprocess.DEVNULL)
        samples.append((time.monotonic() - start) * 1000)
        subprocess.run(["docker", "rm", "-f", name], check=True, stdout=subprocess.DEVNULL)
    return samples


def main():
    parser = argparse.ArgumentParser()
    for name in ["--work", "--api", "--secret-file", "--project", "--image"]:
        parser.add_argument(name, required=True)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    secret = open(args.secret_file, "rb").read().rstrip(b"\n")
    events = StartEvents(args.project)
    time.sleep(0.5)  # the events stream is attached before the first push (checked below)
    pushes = []
    seen = 0
    for index in range(1, args.rounds + 1):
        with open(os.path.join(args.work, "web.yaml"), "w") as out:
            out.write(MANIFEST.format(project=args.project, image=args.image, round=index))
        git(args.work, "commit", "-q", "-am", f"round {index}")
        git(args.work, "push", "-q", "origin", "main")
        pushed = time.monotonic()
        deliver(args.api, secret, json.dumps({"ref": "refs/heads/main", "round": index}).encode(), f"bench-{index}")
        started = events.wait_after(seen)
        seen += 1
        pushes.append((started - pushed) * 1000)
        env = subprocess.run(["docker", "inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", f"berth-{args.project}-web-0"],
                             capture_output=True, text=True).stdout
        if f"ROUND={index}" not in env:
            raise SystemExit(f"round {index}: the running container does not have ROUND={index}")
        time.sleep(0.3)  # the old container's removal settles before the next push
    events.stop()
    raw = engine_create_start(args.image, args.rounds)
    push_p50, raw_p50 = statistics.median(pushes), statistics.median(raw)
    print(json.dumps({
        "push_to_running_ms_p50": round(push_p50, 1),
        "engine_create_start_ms_p50": round(raw_p50, 1),
        "difference_ms_p50": round(push_p50 - raw_p50, 1),
        "one_minute_poll_expected_ms": round(30000 + push_p50, 1),
        "push_to_running_ms": [round(x, 1) for x in pushes],
        "engine_create_start_ms": [round(x, 1) for x in raw],
    }, indent=2))


if __name__ == "__main__":
    main()
