"""The Celery peer of alts-worker: a minimal Celery app for the benchmarks in bench/.

Used two ways:
  * by bench/peers/fastapi_app.py, to publish tasks (send_task, no import of the task code);
  * as a worker:  celery -A celery_app worker --pool=threads --concurrency=8 -Q local-x86_64-0

Its one task, alts.run_tests, does what alts-worker does for the benchmark's trivial suite:
for each `launch` check of the suite in the message, run the command (a subprocess, no
shell), keep its output as logs/<check>.log, then write report.tap and result.json under
ALTS_BENCH_ARTIFACTS/<task_id>/ and return the ALTS result shape. The result goes to the
result backend, where fastapi_app.py's GET /tasks/{id}/result reads it.

Environment (all with defaults that work for a quick look):
  ALTS_BENCH_BROKER          amqp://guest:guest@127.0.0.1:5672//
  ALTS_BENCH_RESULT_BACKEND  db+sqlite:///<ALTS_BENCH_DIR>/celery-results.db
  ALTS_BENCH_DIR             /tmp/alts-bench-celery (also the default artifacts root)
  ALTS_BENCH_ARTIFACTS       <ALTS_BENCH_DIR>/artifacts
  ALTS_BENCH_PREFETCH_MULTIPLIER  Celery's worker_prefetch_multiplier (1; 0 = unlimited)
  ALTS_BENCH_ACKS_LATE       1: ack after the task ran, as alts-worker does (default: Celery's
                             default, ack on receipt)
"""
import json
import os
import socket
import subprocess
import time

from celery import Celery

BENCH_DIR = os.environ.get("ALTS_BENCH_DIR", "/tmp/alts-bench-celery")
BROKER = os.environ.get("ALTS_BENCH_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
BACKEND = os.environ.get("ALTS_BENCH_RESULT_BACKEND", "db+sqlite:///%s/celery-results.db" % BENCH_DIR)
ARTIFACTS = os.environ.get("ALTS_BENCH_ARTIFACTS", os.path.join(BENCH_DIR, "artifacts"))

app = Celery("alts_bench", broker=BROKER, backend=BACKEND)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # alts-worker acks a task after its work is done (acks late). Celery's default acks when
    # the task is received: with the threads pool, acks late are only sent when the consumer
    # loop wakes (drain_events, 2 s timeout), so a worker whose prefetch window is full of done
    # but unacked tasks idles for seconds. The default (early acks) is used unless
    # ALTS_BENCH_ACKS_LATE=1; it favours Celery. Prefetch = concurrency (multiplier 1), as
    # alts-worker; "started" is recorded (alts-worker reports "running").
    task_acks_late=os.environ.get("ALTS_BENCH_ACKS_LATE") == "1",
    worker_prefetch_multiplier=int(os.environ.get("ALTS_BENCH_PREFETCH_MULTIPLIER", "1")),
    task_track_started=True,
    task_default_delivery_mode="persistent",
    result_extended=False,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


def _check_name(i, check):
    if isinstance(check, dict):
        kind, opts = next(iter(check.items()))
        if isinstance(opts, dict) and opts.get("name"):
            return kind, opts, opts["name"]
        return kind, opts, "%s %d" % (kind, i + 1)
    return check, {}, check


@app.task(name="alts.run_tests", bind=True)
def run_tests(self, message):
    task_id = message["task_id"]
    suite = message.get("suite") or {}
    outdir = os.path.join(ARTIFACTS, task_id)
    os.makedirs(os.path.join(outdir, "logs"), exist_ok=True)
    started = time.time()
    tests = []
    for i, check in enumerate(suite.get("checks", [])):
        kind, opts, name = _check_name(i, check)
        t0 = time.time()
        if kind != "launch":
            tests.append({"name": name, "success": False, "skipped": True, "duration": 0.0,
                          "output": "check kind '%s' is not supported by the benchmark peer" % kind})
            continue
        cmd = opts.get("command")
        argv = cmd if isinstance(cmd, list) else ["/bin/sh", "-c", cmd]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30, check=False)
        log = os.path.join(outdir, "logs", name.replace("/", "_") + ".log")
        with open(log, "wb") as f:
            f.write(p.stdout)
        ok = (p.returncode == 0) != bool(opts.get("expect_failure"))
        tests.append({"name": name, "success": ok, "skipped": False, "exit_code": p.returncode,
                      "duration": round(time.time() - t0, 6)})
    success = all(t["success"] or t["skipped"] for t in tests)
    with open(os.path.join(outdir, "report.tap"), "w") as f:
        f.write("TAP version 13\n1..%d\n" % len(tests))
        for n, t in enumerate(tests, 1):
            f.write("%s %d - %s\n" % ("ok" if t["success"] else "not ok", n, t["name"]))
    result = {
        "api_version": "1",
        "task_id": task_id,
        "success": success,
        "suite": suite.get("name"),
        "worker": "%s/%d" % (socket.gethostname(), os.getpid()),
        "duration": round(time.time() - started, 6),
        "tests": tests,
    }
    with open(os.path.join(outdir, "result.json"), "w") as f:
        json.dump(result, f)
    return result
