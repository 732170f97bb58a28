"""Per process and thread, what a bridge run costs per training step, as a user runs it (Linux only).

Runs bench/bridge_train.py as the bench's `bridge-process` part does (no single-thread variables, no
OPTISCOPE_* settings, Optiscope's defaults): `plain` (python3 script), `cli` (node dist/cli.js run) and
`ext` (the same with --format ndjson, every stdout line read by a second Node process, thread-dump/reader.cjs),
each at two lengths, interleaved, several rounds. Every process of the tree writes its threads' CPU time
(/proc schedstat) and voluntary and involuntary context switches at its exit (thread-dump/: a
sitecustomize on PYTHONPATH, a --require in NODE_OPTIONS); per round the slope between the two lengths is
the per-step figure, so start-up, the detailed warm-up and the probes' fixed part drop out.

    /usr/bin/python3 bench/thread_accounting.py [--w W2] [--steps 1500,4500] [--rounds 3] [--cli dist/cli.js]
        [--paths plain,cli,ext] [--python /usr/bin/python3] [--env KEY=VALUE ...]

--env sets a variable for every path (repeatable), e.g. the bench's single-thread variables and
OPTISCOPE_EVERY=1 to account for the `bridge` part's every-step runs instead of a user's defaults.

Threads are grouped as train.main / train.blas (the training process's other threads: OpenBLAS's pool),
helper.* (the forked helper, when the machine has a core to spare), cli.main / cli.other (V8's threads),
reader.*. Prints a table: median (min..max) over the rounds of µs of CPU and voluntary switches per step.
"""
import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DUMP = os.path.join(HERE, "thread-dump")
SINGLE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def run_once(path: str, w: str, steps: int, cli: str, python: str, extra: dict) -> dict:
    d = tempfile.mkdtemp(prefix="optiscope-threads-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTISCOPE_") and k not in SINGLE_THREAD}
    env.update(extra)
    env.update(BENCH_W=w, BENCH_STEPS=str(steps), BENCH_WARMUP="0", THREAD_DUMP_DIR=d,
               PYTHONPATH=DUMP, NODE_OPTIONS=f"--require {os.path.join(DUMP, 'dump.cjs')}")
    script = os.path.join(ROOT, "bench", "bridge_train.py")
    if path == "plain":
        cmd = [python, script]
    else:
        cmd = ["node", cli, "run", script, "--python", python]
        if path == "ext":
            cmd = ["node", os.path.join(DUMP, "reader.cjs")] + cmd + ["--format", "ndjson"]
    r = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode:
        raise SystemExit(f"{path} {steps}: exit {r.returncode}\n{r.stderr[-2000:]}")
    procs = {}
    for f in os.listdir(d):
        with open(os.path.join(d, f), encoding="utf-8") as fh:
            p = json.load(fh)
        procs[p["pid"]] = p
    shutil.rmtree(d, ignore_errors=True)
    roles = collections.defaultdict(lambda: [0, 0])
    for p in procs.values():
        if p["kind"] == "node":
            role = "reader" if "reader.cjs" in p["argv"][0] else "cli"
        else:
            parent = procs.get(p["ppid"])
            role = "helper" if parent is not None and parent["kind"] == "py" else "train"
        for tid, t in p["threads"].items():
            sub = "main" if int(tid) == p["pid"] else ("blas" if p["kind"] == "py" else "other")
            roles[f"{role}.{sub}"][0] += t["ns"]
            roles[f"{role}.{sub}"][1] += t["vol"]
    return roles


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--w", default="W2")
    ap.add_argument("--steps", default="1500,4500")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cli", default=os.path.join(ROOT, "dist", "cli.js"))
    ap.add_argument("--paths", default="plain,cli,ext")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args()
    extra = dict(kv.split("=", 1) for kv in a.env)
    n1, n2 = (int(x) for x in a.steps.split(","))
    paths = a.paths.split(",")
    per = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in range(a.rounds):
        for path in paths[r % len(paths):] + paths[:r % len(paths)]:  # rotated each round
            short = run_once(path, a.w, n1, a.cli, a.python, extra)
            long = run_once(path, a.w, n2, a.cli, a.python, extra)
            for role in set(short) | set(long):
                x, y = short.get(role, [0, 0]), long.get(role, [0, 0])
                per[path][f"{role} CPU µs"].append((y[0] - x[0]) / (n2 - n1) / 1e3)
                per[path][f"{role} wake-ups"].append((y[1] - x[1]) / (n2 - n1))
    print(f"{a.w}, per training step (slope {n1} → {n2} steps), median (min..max) of {a.rounds} rounds")
    for path in paths:
        print(f"== {path}")
        for k in sorted(per[path]):
            v = per[path][k]
            print(f"   {k:24s} {statistics.median(v):10.3f}  ({min(v):.3f}..{max(v):.3f})")


if __name__ == "__main__":
    main()
