"""The FastAPI peer of alts-scheduler: a minimal ALTS-style scheduler for the benchmarks in bench/.

POST /tasks/schedule does what alts-scheduler does on its request path, the way ALTS's own
FastAPI scheduler does it:
  * verifies the bearer JWT (HS256, python3-jwt);
  * validates the ALTS payload, or a {"suite": ...} payload, with pydantic (unknown keys
    refused; runner, distribution and architecture checked against the same lists; package
    name and version characters checked);
  * builds the same queue message as alts-scheduler (the ALTS payload turned into a suite:
    install, integrity, one script check per third-party test, uninstall);
  * inserts the task into SQLite (the alts-scheduler schema, WAL, synchronous=NORMAL),
    one autocommit INSERT per request;
  * publishes it with Celery's send_task (= apply_async) to RabbitMQ, queue
    <runner>-<queue_arch>-<cost>, task id = the task's uuid;
  * answers 201 {"api_version": "1", "success": true, "task_id": "<uuid>"}.
GET /tasks/{task_id}/result reads the task from SQLite (404 if unknown) and its Celery
AsyncResult from the result backend: {"task_id", "state", "api_version": "1", "result"}.

Run:  uvicorn fastapi_app:app --app-dir bench/peers --workers N --no-access-log
Environment: ALTS_BENCH_JWT_SECRET (required), ALTS_BENCH_DB (SQLite path),
ALTS_BENCH_SUPPORTED_RUNNERS (comma-separated, default docker,local), ALTS_BENCH_ASYNC=1 (run
POST /tasks/schedule on the event loop instead of the thread pool), ALTS_BENCH_CONFIRM_PUBLISH=1
(wait for RabbitMQ's publisher confirm on each send_task; off by default, as in Celery), and the
broker/backend variables of celery_app.py.
"""
import json
import os
import re
import sqlite3
import threading
import time
import uuid
from typing import List, Optional, Union

import jwt
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Extra, validator

from celery_app import BENCH_DIR, app as celery

JWT_SECRET = os.environ["ALTS_BENCH_JWT_SECRET"]
DB_PATH = os.environ.get("ALTS_BENCH_DB", os.path.join(BENCH_DIR, "fastapi.db"))
RUNNERS = os.environ.get("ALTS_BENCH_SUPPORTED_RUNNERS", "docker,local").split(",")
DISTRIBUTIONS = ["almalinux", "centos", "debian", "fedora", "rhel", "rocky", "ubuntu"]
ARCH_MAP = {"x86_64": "x86_64", "amd64": "x86_64", "i686": "x86_64", "i386": "x86_64",
            "i486": "x86_64", "i586": "x86_64", "x86_64_v2": "x86_64_v2", "aarch64": "aarch64",
            "arm64": "aarch64", "ppc64le": "ppc64le", "s390x": "s390x"}
DEFAULT_COST = 0
if os.environ.get("ALTS_BENCH_CONFIRM_PUBLISH") == "1":
    celery.conf.broker_transport_options = {"confirm_publish": True}

SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS tasks (
 seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
 queue TEXT NOT NULL, bs_task_id TEXT, callback_href TEXT, message TEXT NOT NULL, result TEXT,
 created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, published_ms INTEGER,
 started_ms INTEGER, finished_ms INTEGER, published INTEGER NOT NULL DEFAULT 0,
 callback_done INTEGER NOT NULL DEFAULT 0, callback_attempts INTEGER NOT NULL DEFAULT 0,
 callback_next_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS tasks_outbox ON tasks (published, state);
CREATE INDEX IF NOT EXISTS tasks_bs ON tasks (bs_task_id);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state, seq);
"""

_local = threading.local()


def db():
    """One connection per thread (FastAPI runs `def` routes in a thread pool)."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(DB_PATH, timeout=5.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA busy_timeout = 5000")
        _local.conn = conn
    return conn


NAME_RE = re.compile(r"^[A-Za-z0-9+._~-]+$")
VERSION_RE = re.compile(r"^[A-Za-z0-9.+~_:-]+$")
DIST_VERSION_RE = re.compile(r"^[A-Za-z0-9._-]+$")
URL_RE = re.compile(r"^(https?://|ftp://|file://|deb )")


class Strict(BaseModel):
    class Config:
        extra = Extra.forbid


class Repository(Strict):
    name: Optional[str]
    url: Optional[str]
    baseurl: Optional[str]

    @validator("baseurl", always=True)
    def one_url(cls, v, values):
        url = values.get("url") or v
        if not url or not URL_RE.match(url):
            raise ValueError("a repository needs url or baseurl (http, https, ftp, file or deb)")
        return v


class ThirdPartyTest(Strict):
    url: str
    git_ref: Optional[str]
    test_dir: Optional[str]
    tests_to_run: Optional[List[str]]


class TestConfiguration(Strict):
    tests: List[ThirdPartyTest] = []


def _runner(v):
    if v != "any" and v not in RUNNERS:
        raise ValueError("unknown runner '%s' (allowed: %s, any)" % (v, ", ".join(RUNNERS)))
    return v


def _arch(v):
    if v not in ARCH_MAP:
        raise ValueError("unknown architecture '%s'" % v)
    return v


class TaskRequestPayload(Strict):
    runner_type: str
    dist_name: str
    dist_version: str
    dist_arch: str
    repositories: List[Repository] = []
    package_name: str
    package_version: Optional[str]
    package_epoch: Optional[int]
    module_name: Optional[str]
    module_stream: Optional[str]
    module_version: Optional[str]
    test_configuration: Optional[TestConfiguration]
    callback_href: Optional[str]
    bs_task_id: Optional[str]

    _r = validator("runner_type", allow_reuse=True)(_runner)
    _a = validator("dist_arch", allow_reuse=True)(_arch)

    @validator("dist_name")
    def dist(cls, v):
        if v not in DISTRIBUTIONS:
            raise ValueError("unknown distribution '%s' (allowed: %s)" % (v, ", ".join(DISTRIBUTIONS)))
        return v

    @validator("dist_version")
    def dist_version_chars(cls, v):
        if not DIST_VERSION_RE.match(v):
            raise ValueError("invalid distribution version '%s'" % v)
        return v

    @validator("package_name")
    def name_chars(cls, v):
        if not NAME_RE.match(v):
            raise ValueError("invalid package name '%s'" % v)
        return v

    @validator("package_version")
    def version_chars(cls, v):
        if v is not None and not VERSION_RE.match(v):
            raise ValueError("invalid version '%s'" % v)
        return v

    @validator("module_stream", always=True)
    def module(cls, v, values):
        if values.get("module_name") and not v:
            raise ValueError("module_stream is required with module_name")
        return v

    @validator("callback_href")
    def href(cls, v):
        if v is not None and not re.match(r"^https?://", v):
            raise ValueError("callback_href must be http(s)://")
        return v


class Check(BaseModel):
    __root__: Union[str, dict]


class Suite(BaseModel):
    name: Optional[str]
    description: Optional[str]
    packages: Optional[list]
    repositories: Optional[list]
    environment: Optional[dict]
    env: Optional[dict]
    timeout: Optional[str]
    check_timeout: Optional[str]
    checks: List[Check]

    class Config:
        extra = Extra.forbid


class SuitePayload(Strict):
    suite: Suite
    runner_type: str = "any"
    dist_arch: Optional[str]
    callback_href: Optional[str]
    bs_task_id: Optional[str]

    _r = validator("runner_type", allow_reuse=True)(_runner)

    @validator("dist_arch", always=True)
    def arch(cls, v, values):
        env = (values.get("suite").environment or {}) if values.get("suite") else {}
        v = v or env.get("dist_arch")
        if not v:
            raise ValueError("dist_arch is required (or suite environment.dist_arch)")
        return _arch(v)


app = FastAPI(title="alts bench peer")
bearer = HTTPBearer()


@app.on_event("startup")
def startup():
    os.makedirs(os.path.dirname(DB_PATH) or ".", exist_ok=True)
    for _ in range(50):
        try:
            db().executescript(SCHEMA)
            return
        except sqlite3.OperationalError:  # the other uvicorn worker is creating it
            time.sleep(0.1)


def verify(creds: HTTPAuthorizationCredentials = Depends(bearer)):
    try:
        return jwt.decode(creds.credentials, JWT_SECRET, algorithms=["HS256"])
    except jwt.PyJWTError as e:
        raise HTTPException(status_code=401, detail=str(e), headers={"WWW-Authenticate": "Bearer"})


def alts_message(task_id, p):
    """The message alts-scheduler publishes (scheduler/payload.c), keys sorted."""
    if isinstance(p, SuitePayload):
        suite = json.loads(p.suite.json(exclude_none=True))
        suite["checks"] = [c["__root__"] if isinstance(c, dict) and "__root__" in c else c
                           for c in suite["checks"]]
        runner = RUNNERS[0] if p.runner_type == "any" else p.runner_type
        msg = {"dist_arch": p.dist_arch}
    else:
        runner = RUNNERS[0] if p.runner_type == "any" else p.runner_type
        pkg = {"name": p.package_name}
        if p.package_version:
            pkg["version"] = p.package_version
        if p.package_epoch is not None:
            pkg["epoch"] = p.package_epoch
        checks = ["install", "integrity"]
        n = 0
        for t in (p.test_configuration.tests if p.test_configuration else []):
            for entry in (t.tests_to_run or [""]):
                n += 1
                path = "/".join(x for x in (t.test_dir, entry) if x)
                git = {"url": t.url, "ref": t.git_ref or "main", "path": path}
                checks.append({"script": {"name": "third-party tests %d: %s" % (n, path), "git": git}})
        checks.append("uninstall")
        suite = {"name": p.package_name, "packages": [pkg],
                 "repositories": [r.dict(exclude_none=True) for r in p.repositories],
                 "environment": {"dist_name": p.dist_name, "dist_version": p.dist_version,
                                 "dist_arch": p.dist_arch},
                 "checks": checks}
        msg = {"dist_name": p.dist_name, "dist_version": p.dist_version, "dist_arch": p.dist_arch,
               "package_name": p.package_name}
        if p.module_name:
            msg["module"] = {"name": p.module_name, "stream": p.module_stream,
                             "version": p.module_version}
    queue = "%s-%s-%d" % (runner, ARCH_MAP[p.dist_arch], DEFAULT_COST)
    msg.update({"version": 1, "task_id": task_id, "queue": queue, "runner": runner, "suite": suite})
    if p.bs_task_id is not None:
        msg["bs_task_id"] = p.bs_task_id
    if p.callback_href:
        msg["callback_href"] = p.callback_href
    return queue, dict(sorted(msg.items()))


def schedule(payload: Union[SuitePayload, TaskRequestPayload], _claims=Depends(verify)):
    task_id = str(uuid.uuid4())
    queue, msg = alts_message(task_id, payload)
    now = int(time.time() * 1000)
    db().execute("INSERT INTO tasks (id, state, queue, bs_task_id, callback_href, message, created_ms,"
                 " updated_ms) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?)",
                 (task_id, queue, msg.get("bs_task_id"), msg.get("callback_href"),
                  json.dumps(msg, separators=(",", ":")), now, now))
    celery.send_task("alts.run_tests", args=[msg], task_id=task_id, queue=queue)
    return JSONResponse({"api_version": "1", "success": True, "task_id": task_id}, status_code=201)


async def schedule_async(payload: Union[SuitePayload, TaskRequestPayload], _claims=Depends(verify)):
    return schedule(payload, _claims)


# `def` routes run in FastAPI's thread pool (the documented way for blocking work: SQLite,
# Celery's publish); ALTS_BENCH_ASYNC=1 runs the same code inline on the event loop instead.
if os.environ.get("ALTS_BENCH_ASYNC") == "1":
    app.post("/tasks/schedule", status_code=201)(schedule_async)
else:
    app.post("/tasks/schedule", status_code=201)(schedule)


STATES = {"PENDING": "queued", "RECEIVED": "queued", "STARTED": "running", "SUCCESS": "finished",
          "FAILURE": "failed", "REVOKED": "canceled", "RETRY": "running"}


@app.get("/tasks/{task_id}/result")
def result(task_id: str, _claims=Depends(verify)):
    if db().execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone() is None:
        raise HTTPException(status_code=404, detail="task not found")
    r = celery.AsyncResult(task_id)
    try:
        state = r.state
    except Exception:
        # Celery's file:// backend rewrites a result file in place (open "wb", write), so a
        # read can meet a half-written file; the task is still being reported: ask again.
        return {"task_id": task_id, "state": "running", "api_version": "1", "result": None}
    return {"task_id": task_id, "state": STATES.get(state, state.lower()), "api_version": "1",
            "result": r.result if state == "SUCCESS" else None}
