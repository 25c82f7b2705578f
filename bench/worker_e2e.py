#!/usr/bin/python3
"""End-to-end task latency and throughput through an ALTS-style HTTP API (bench/README.md).

Measures the same way whichever stack answers: alts-scheduler + alts-worker, or the FastAPI
peer + Celery workers (bench/peers/). A task's latency is from just before its
POST /tasks/schedule to the first GET /tasks/{id}/result that shows it ended.

  worker_e2e.py run --url URL --token TOKEN --name NAME --out FILE [options]
      two phases, each of -n tasks (500):
        latency:    a closed loop of --latency-concurrency clients (1): POST, then poll the
                    result every --poll-ms (5) until it ends; p50/p99 and tasks/s;
        throughput: all tasks POSTed by --submitters threads (8) as fast as they go while
                    --pollers threads (4) sweep the pending ones every --poll-ms; tasks/s from
                    the first POST to the last result seen, and p50/p99 (queueing included).
      writes a JSON summary to FILE and prints it.
  worker_e2e.py table FILE...   prints the summaries side by side, with the ratios of the
                                first to the others.
  worker_e2e.py median --name NAME --out FILE FILE...
                                one summary of the medians of several runs (rounds).
Only the Python standard library is used. Exit status: 0 done (failed tasks are counted, not
fatal), 2 usage, 3 the API could not be reached or a phase timed out.
"""
import argparse
import http.client
import json
import statistics
import resource
import sys
import threading
import time
import urllib.parse

TRIVIAL = {"runner_type": "local", "dist_arch": "x86_64",
           "suite": {"name": "trivial", "environment": {"runner": "local"},
                     "checks": [{"launch": {"name": "true", "command": ["true"]}}]}}
ENDED = ("finished", "failed", "canceled")


class Api:
    """One keep-alive HTTP connection (one per thread)."""

    def __init__(self, url, token):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        self.conn = None

    def request(self, method, path, body=None):
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.conn.request(method, path, body=body, headers=self.headers)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, data
            except (http.client.HTTPException, OSError):
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def submit(self, body):
        status, data = self.request("POST", "/tasks/schedule", body)
        if status != 201:
            raise RuntimeError("POST /tasks/schedule: %d %s" % (status, data[:300]))
        return json.loads(data)["task_id"]

    def result(self, task_id):
        status, data = self.request("GET", "/tasks/%s/result" % task_id)
        if status != 200:
            raise RuntimeError("GET /tasks/%s/result: %d %s" % (task_id, status, data[:300]))
        return json.loads(data)


def ok(res):
    """A task passed when it finished and its result does not say success: false."""
    if res.get("state") != "finished":
        return False
    r = res.get("result")
    return not (isinstance(r, dict) and r.get("success") is False)


def pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def summary(lat, failed, wall):
    return {"tasks": len(lat), "failed": failed, "wall_s": round(wall, 3),
            "tasks_per_s": round(len(lat) / wall, 2) if wall > 0 else None,
            "p50_ms": round(pct(lat, 50) * 1000, 2), "p99_ms": round(pct(lat, 99) * 1000, 2),
            "max_ms": round(max(lat) * 1000, 2) if lat else None}


def phase_latency(a, body):
    n, lock = a.n, threading.Lock()
    state = {"next": 0, "lat": [], "failed": 0, "errors": [], "first": None, "last": 0.0}
    deadline = time.monotonic() + a.timeout

    def client():
        api = Api(a.url, a.token)
        while True:
            with lock:
                if state["next"] >= n or state["errors"]:
                    return
                state["next"] += 1
            try:
                t0 = time.perf_counter()
                tid = api.submit(body)
                while True:
                    res = api.result(tid)
                    if res.get("state") in ENDED:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError("timed out waiting for task %s (state %s)" % (tid, res.get("state")))
                    time.sleep(a.poll_ms / 1000)
                t1 = time.perf_counter()
            except Exception as e:  # reported once, stops the phase
                with lock:
                    state["errors"].append(str(e))
                return
            with lock:
                state["lat"].append(t1 - t0)
                state["failed"] += 0 if ok(res) else 1
                state["first"] = t0 if state["first"] is None else min(state["first"], t0)
                state["last"] = max(state["last"], t1)

    threads = [threading.Thread(target=client) for _ in range(a.latency_concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if state["errors"]:
        raise RuntimeError(state["errors"][0])
    s = summary(state["lat"], state["failed"], state["last"] - (state["first"] or 0))
    s["concurrency"] = a.latency_concurrency
    return s


def phase_throughput(a, body):
    n, lock = a.n, threading.Lock()
    posted = {}  # task id -> t0
    pending = []
    done = {}  # task id -> (t1, ok)
    errors = []
    counter = {"next": 0, "submitted": 0}
    deadline = time.monotonic() + a.timeout

    def submitter():
        api = Api(a.url, a.token)
        while True:
            with lock:
                if counter["next"] >= n or errors:
                    return
                counter["next"] += 1
            try:
                t0 = time.perf_counter()
                tid = api.submit(body)
            except Exception as e:
                with lock:
                    errors.append(str(e))
                return
            with lock:
                posted[tid] = t0
                pending.append(tid)
                counter["submitted"] += 1

    def poller(k):
        api = Api(a.url, a.token)
        while True:
            with lock:
                if errors or len(done) >= n:
                    return
                mine = [t for i, t in enumerate(pending) if i % a.pollers == k and t not in done]
            for tid in mine:
                try:
                    res = api.result(tid)
                except Exception as e:
                    with lock:
                        errors.append(str(e))
                    return
                if res.get("state") in ENDED:
                    t1 = time.perf_counter()
                    with lock:
                        done[tid] = (t1, ok(res))
            if time.monotonic() > deadline:
                with lock:
                    errors.append("timed out: %d of %d tasks ended" % (len(done), n))
                return
            time.sleep(a.poll_ms / 1000)

    threads = [threading.Thread(target=submitter) for _ in range(a.submitters)]
    threads += [threading.Thread(target=poller, args=(k,)) for k in range(a.pollers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    first = min(posted.values())
    last = max(t1 for t1, _ in done.values())
    lat = [done[t][0] - posted[t] for t in done]
    s = summary(lat, sum(1 for _, good in done.values() if not good), last - first)
    s["submit_s"] = round(max(posted.values()) - first, 3)
    s["submitters"], s["pollers"] = a.submitters, a.pollers
    return s


def driver_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def cmd_run(a):
    body = json.dumps(TRIVIAL).encode()
    out = {"name": a.name, "n": a.n, "poll_ms": a.poll_ms}
    try:
        Api(a.url, a.token).submit(body)  # reachability, and one task to warm the path up
        cpu0 = driver_cpu_s()
        out["latency"] = phase_latency(a, body)
        out["throughput"] = phase_throughput(a, body)
        # The driver shares the machine's CPUs with the side it measures: its own cost per task.
        out["driver_cpu_ms_per_task"] = round((driver_cpu_s() - cpu0) * 1000 / (2 * a.n), 2)
    except Exception as e:
        print("worker_e2e.py: %s: %s" % (a.name, e), file=sys.stderr)
        return 3
    with open(a.out, "w") as f:
        json.dump(out, f)
    print(json.dumps(out))
    return 0


def cmd_table(a):
    runs = []
    for path in a.files:
        with open(path) as f:
            runs.append(json.load(f))
    rows = [("latency phase: p50 ms", "latency", "p50_ms", True),
            ("latency phase: p99 ms", "latency", "p99_ms", True),
            ("latency phase: tasks/s", "latency", "tasks_per_s", False),
            ("throughput phase: tasks/s", "throughput", "tasks_per_s", False),
            ("throughput phase: p50 ms", "throughput", "p50_ms", True),
            ("throughput phase: p99 ms", "throughput", "p99_ms", True),
            ("failed tasks (both phases)", None, "failed", None)]
    w = max(16, *(len(r["name"]) for r in runs))
    print("%-28s" % "" + "".join("%*s" % (w + 2, r["name"]) for r in runs) +
          ("   ratio (above 1: %s better)" % runs[0]["name"] if len(runs) > 1 else ""))
    for label, ph, key, lower_better in rows:
        if ph is None:
            vals = [r["latency"]["failed"] + r["throughput"]["failed"] for r in runs]
        else:
            vals = [r[ph][key] for r in runs]
        line = "%-28s" % label + "".join("%*s" % (w + 2, round(v, 2) if isinstance(v, float) else v) for v in vals)
        if lower_better is not None and len(runs) > 1:
            ratios = []
            for v in vals[1:]:
                base = vals[0]
                r = (v / base) if lower_better else (base / v)
                ratios.append("%.2fx" % r)
            line += "   " + ", ".join(ratios)
        print(line)
    return 0


def cmd_median(a):
    """One summary whose every number is the median over the given runs (rounds of one side)."""
    runs = []
    for path in a.files:
        with open(path) as f:
            runs.append(json.load(f))
    out = {"name": a.name, "n": runs[0]["n"], "poll_ms": runs[0]["poll_ms"], "rounds": len(runs)}
    for ph in ("latency", "throughput"):
        out[ph] = {k: statistics.median(r[ph][k] for r in runs)
                   for k, v in runs[0][ph].items() if isinstance(v, (int, float))}
    with open(a.out, "w") as f:
        json.dump(out, f)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--url", required=True)
    r.add_argument("--token", required=True)
    r.add_argument("--name", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("-n", type=int, default=500)
    r.add_argument("--latency-concurrency", type=int, default=1)
    r.add_argument("--submitters", type=int, default=8)
    r.add_argument("--pollers", type=int, default=4)
    r.add_argument("--poll-ms", type=float, default=5.0)
    r.add_argument("--timeout", type=float, default=600.0, help="per phase, seconds")
    t = sub.add_parser("table")
    t.add_argument("files", nargs="+")
    m = sub.add_parser("median")
    m.add_argument("--name", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("files", nargs="+")
    a = p.parse_args()
    if a.cmd == "run" and (a.n < 1 or a.latency_concurrency < 1 or a.submitters < 1 or a.pollers < 1):
        p.error("counts must be positive")
    return {"run": cmd_run, "table": cmd_table, "median": cmd_median}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
