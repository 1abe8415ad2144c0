#!/usr/bin/env python3
"""Writes a large Berth manifest repository for the git benchmark (issue 19): N resources
(default 10,000) in FILES files (default 500) under DIRECTORY: one Project per 100 resources,
the rest Services (with env, ports on host networking, labels, a healthcheck) and Volumes. With
--touch K it rewrites only file K with one changed image tag, as one commit would.
Deterministic for a given N and FILES.

Usage: manifests_generate.py DIRECTORY [--resources N] [--files F] [--touch K]
"""
import argparse
import os


def document(index, project, tag):
    if index % 100 == 0:
        return f"apiVersion: berth/v1\nkind: Project\nmetadata:\n  name: {project}\n"
    if index % 10 == 1:
        return (f"apiVersion: berth/v1\nkind: Volume\nmetadata:\n  name: data{index}\n  project: {project}\n"
                f"spec:\n  labels: {{index: \"{index}\"}}\n")
    return (
        "apiVersion: berth/v1\nkind: Service\nmetadata:\n"
        f"  name: svc{index}\n  project: {project}\n  labels: {{tier: web}}\n"
        "spec:\n"
        f"  image: registry.local/app{index % 17}:{tag}\n"
        "  network: host\n"
        f"  command: [serve, --port, \"{20000 + index % 40000}\"]\n"
        "  env:\n"
        f"    INDEX: \"{index}\"\n    LEVEL: info\n"
        f"  labels: {{index: \"{index}\"}}\n"
        "  healthcheck:\n    command: [/bin/true]\n    interval: 10s\n"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--touch", type=int, default=None)
    args = parser.parse_args()
    per_file = -(-args.resources // args.files)
    os.makedirs(args.directory, exist_ok=True)
    for number in range(args.files):
        if args.touch is not None and number != args.touch:
            continue
        indexes = range(number * per_file, min(args.resources, (number + 1) * per_file))
        tag = "2.0" if number == args.touch else "1.0"
        text = "---\n".join(document(i, f"p{i // 100}", tag) for i in indexes)
        with open(os.path.join(args.directory, f"part{number:04d}.yaml"), "w") as out:
            out.write(text)


if __name__ == "__main__":
    main()
