#!/usr/bin/env python3
"""A stand-in for a Pulp 3 server, for tests only.

No real Pulp could run here (it needs PostgreSQL, Redis, a content app and
workers), so this is a small server written from Pulp's published REST API
and its source (pulpcore: pulpcore/app/serializers/content.py
ArtifactSerializer, serializers/task.py TaskSerializer, the artifacts
filter; pulp_file: the content/file/files/ upload viewset). It implements
only what alts and the AlmaLinux Build System call, the way Pulp answers:

  POST /pulp/api/v3/artifacts/           multipart: `file` (required), optional
                                         `size` and checksums. Pulp computes every
                                         allowed digest (sha224, sha256, sha384,
                                         sha512), checks the ones given ("The sha256
                                         checksum did not match."), refuses forbidden
                                         ones (md5, sha1: "Checksum algorithms [...]
                                         forbidden for this Pulp instance."), and a
                                         second artifact with the same digest:
                                         400 {"non_field_errors": ["Artifact with
                                         sha256 checksum of '<hex>' already exists."]}.
                                         201: the artifact (pulp_href, pulp_created,
                                         file, size, md5: null, sha1: null, sha224 ...).
  GET  /pulp/api/v3/artifacts/[?sha256=] a page {count, next, previous, results}
  GET  /pulp/api/v3/artifacts/<uuid>/    one artifact (404 {"detail": "Not found."})
  POST /pulp/api/v3/content/file/files/  JSON or form {relative_path, artifact,
                                         [repository]}: validated at once (400 with
                                         per-field messages), then 202 {"task": href}.
                                         The task creates the FileContent (an existing
                                         one with the same relative_path and digest is
                                         reused, as pulpcore does).
  GET  /pulp/api/v3/content/file/files/<uuid>/
  GET  /pulp/api/v3/tasks/<uuid>/        {pulp_href, state, name, error,
                                         created_resources, ...}: "waiting", then
                                         "running", then "completed" (or "failed" with
                                         error {description}) after --task-delay seconds.

Every /pulp/api/ route needs HTTP basic auth with --user/--password:
401 {"detail": "Authentication credentials were not provided."} without it,
401 {"detail": "Invalid username/password."} with wrong ones (both with
WWW-Authenticate: Basic realm="api"). Unknown routes: 404.

Test controls (not Pulp's): GET /_standin/state (counts); POST /_standin/state
with JSON {"fail_tasks": bool, "unavailable": bool}: tasks end "failed",
or every API call answers 503 (a Pulp behind a proxy that is down).

Files are kept under --dir as artifact/<sha256[:2]>/<sha256[2:]>, as Pulp's
default storage lays them out. Usage:

  pulp_standin.py [--dir DIR] --port-file FILE [--port N] [--user U --password P]

(--dir defaults to a new temporary directory; --user/--password to admin/password, the
names albs-web-server's settings use in its examples.)
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API = "/pulp/api/v3/"
DIGESTS = ("sha224", "sha256", "sha384", "sha512")  # ALLOWED_CONTENT_CHECKSUMS default
FORBIDDEN = ("md5", "sha1")
MAX_BODY = 256 << 20


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class State:
    def __init__(self, root, user, password, task_delay):
        self.root = root
        self.user = user
        self.password = password
        self.task_delay = task_delay
        self.lock = threading.Lock()
        self.artifacts = {}  # uuid -> dict
        self.contents = {}  # uuid -> dict
        self.tasks = {}  # uuid -> dict (with private "_" keys)
        self.fail_tasks = False
        self.unavailable = False
        self.requests = 0
        self.uploads = 0


def parse_multipart(body, ctype):
    """Fields of a multipart/form-data body: name -> (value bytes, filename or None)."""
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if not m:
        raise ValueError("no boundary")
    delim = b"--" + m.group(1).encode()
    fields = {}
    for part in body.split(delim)[1:]:
        if part.startswith(b"--"):
            break
        part = part[2:] if part.startswith(b"\r\n") else part
        head, sep, value = part.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("malformed part")
        if value.endswith(b"\r\n"):
            value = value[:-2]
        disp = ""
        for line in head.decode("latin-1").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                disp = line
        name = re.search(r'\bname="([^"]*)"', disp)
        fname = re.search(r'\bfilename="([^"]*)"', disp)
        if name:
            fields[name.group(1)] = (value, fname.group(1) if fname else None)
    return fields


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pulp-standin/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("pulp-standin: %s %s\n" % (self.address_string(), fmt % args))

    @property
    def st(self):
        return self.server.state

    def send_json(self, code, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        if self._too_large:
            raise ValueError("body too large")
        return self._raw

    def authorized(self):
        h = self.headers.get("Authorization")
        www = {"WWW-Authenticate": 'Basic realm="api"'}
        if not h or not h.startswith("Basic "):
            self.send_json(401, {"detail": "Authentication credentials were not provided."}, www)
            return False
        try:
            user, _, password = base64.b64decode(h[6:]).decode().partition(":")
        except Exception:
            self.send_json(401, {"detail": "Invalid basic header. Credentials not correctly base64 encoded."}, www)
            return False
        if user != self.st.user or password != self.st.password:
            self.send_json(401, {"detail": "Invalid username/password."}, www)
            return False
        return True

    def route(self, method):
        # The body is read first whatever the answer, so a kept-alive connection stays in step.
        n = int(self.headers.get("Content-Length") or 0)
        self._too_large = n > MAX_BODY
        if self._too_large:
            self.close_connection = True
            self._raw = b""
        else:
            self._raw = self.rfile.read(n) if n else b""
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        with self.st.lock:
            self.st.requests += 1
        if path == "/_standin/state":
            return self.control(method)
        if not path.startswith(API):
            return self.send_json(404, {"detail": "Not found."})
        if self.st.unavailable:
            return self.send_json(503, {"detail": "Service Unavailable"})
        if not self.authorized():
            return None
        rest = path[len(API):]
        if rest == "artifacts/" and method == "POST":
            return self.create_artifact()
        if rest == "artifacts/" and method == "GET":
            return self.list_artifacts(query)
        m = re.fullmatch(r"(artifacts|content/file/files|tasks)/([0-9a-f-]{36})/", rest)
        if m and method == "GET":
            table = {"artifacts": self.st.artifacts, "content/file/files": self.st.contents,
                     "tasks": self.st.tasks}[m.group(1)]
            with self.st.lock:
                if m.group(1) == "tasks":
                    self.advance(m.group(2))
                obj = table.get(m.group(2))
                obj = {k: v for k, v in obj.items() if not k.startswith("_")} if obj else None
            return self.send_json(200, obj) if obj else self.send_json(404, {"detail": "Not found."})
        if rest == "content/file/files/" and method == "POST":
            return self.create_file()
        if rest in ("artifacts/", "content/file/files/") or m:
            return self.send_json(405, {"detail": 'Method "%s" not allowed.' % method})
        return self.send_json(404, {"detail": "Not found."})

    def control(self, method):
        if method == "POST":
            req = json.loads(self.body() or b"{}")
            with self.st.lock:
                self.st.fail_tasks = bool(req.get("fail_tasks", self.st.fail_tasks))
                self.st.unavailable = bool(req.get("unavailable", self.st.unavailable))
        with self.st.lock:
            return self.send_json(200, {"artifacts": len(self.st.artifacts), "contents": len(self.st.contents),
                                        "tasks": len(self.st.tasks), "uploads": self.st.uploads,
                                        "requests": self.st.requests, "fail_tasks": self.st.fail_tasks,
                                        "unavailable": self.st.unavailable})

    # ---- artifacts (pulpcore ArtifactSerializer.validate) ----

    def create_artifact(self):
        ctype = self.headers.get("Content-Type", "")
        try:
            body = self.body()
            if not ctype.startswith("multipart/form-data"):
                raise ValueError
            fields = parse_multipart(body, ctype)
        except ValueError:
            return self.send_json(400, {"file": ["No file was submitted."]})
        with self.st.lock:
            self.st.uploads += 1
        if "file" not in fields or fields["file"][1] is None:
            return self.send_json(400, {"file": ["No file was submitted."]})
        data = fields["file"][0]
        given = {k: v[0].decode(errors="replace") for k, v in fields.items() if k != "file"}
        if "size" in given and given["size"] != str(len(data)):
            return self.send_json(400, {"non_field_errors": ["The size did not match actual size of file."]})
        bad = [a for a in FORBIDDEN if a in given]
        if bad:
            return self.send_json(400, {"non_field_errors": [
                "Checksum algorithms %s forbidden for this Pulp instance." % bad]})
        digests = {a: hashlib.new(a, data).hexdigest() for a in DIGESTS}
        for a in DIGESTS:
            if a in given and given[a] != digests[a]:
                return self.send_json(400, {"non_field_errors": ["The %s checksum did not match." % a]})
        with self.st.lock:
            for art in self.st.artifacts.values():
                for a in ("sha256", "sha384", "sha512"):  # RELIABLE_DIGEST_FIELDS
                    if art[a] == digests[a]:
                        return self.send_json(400, {"non_field_errors": [
                            "Artifact with %s checksum of '%s' already exists." % (a, digests[a])]})
            rel = "artifact/%s/%s" % (digests["sha256"][:2], digests["sha256"][2:])
            os.makedirs(os.path.join(self.st.root, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(self.st.root, rel), "wb") as f:
                f.write(data)
            pk = str(uuid.uuid4())
            art = {"pulp_href": API + "artifacts/%s/" % pk, "prn": "prn:core.artifact:" + pk,
                   "pulp_created": now(), "pulp_last_updated": now(), "file": rel, "size": len(data),
                   "md5": None, "sha1": None}
            art.update(digests)
            self.st.artifacts[pk] = art
        return self.send_json(201, art)

    def list_artifacts(self, query):
        with self.st.lock:
            res = sorted(self.st.artifacts.values(), key=lambda a: a["pulp_created"], reverse=True)
        for a in DIGESTS + FORBIDDEN:
            if a in query:
                res = [x for x in res if x[a] == query[a][0]]
        return self.send_json(200, {"count": len(res), "next": None, "previous": None, "results": res})

    # ---- content/file/files (pulp_file), tasks (pulpcore) ----

    def create_file(self):
        ctype = self.headers.get("Content-Type", "")
        try:
            body = self.body()
            if ctype.startswith("application/json"):
                req = json.loads(body or b"{}")
            elif ctype.startswith("multipart/form-data"):
                req = {k: v[0].decode() for k, v in parse_multipart(body, ctype).items()}
            else:
                req = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if not isinstance(req, dict):
                raise ValueError
        except ValueError:
            return self.send_json(400, {"detail": "JSON parse error"})
        errors = {}
        rel = req.get("relative_path")
        if not rel:
            errors["relative_path"] = ["This field is required."]
        href = req.get("artifact")
        art_pk = None
        if not href and not req.get("file") and not req.get("upload"):
            errors["non_field_errors"] = ["An artifact, a file or an upload is required."]
        elif href:
            m = re.fullmatch(r"(?:https?://[^/]+)?" + re.escape(API) + r"artifacts/([0-9a-f-]{36})/", str(href))
            with self.st.lock:
                if not m:
                    errors["artifact"] = ["Invalid hyperlink - No URL match."]
                elif m.group(1) not in self.st.artifacts:
                    errors["artifact"] = ["Invalid hyperlink - Object does not exist."]
                else:
                    art_pk = m.group(1)
        if errors:
            return self.send_json(400, errors)
        pk = str(uuid.uuid4())
        with self.st.lock:
            self.st.tasks[pk] = {
                "pulp_href": API + "tasks/%s/" % pk, "prn": "prn:core.task:" + pk, "pulp_created": now(),
                "pulp_last_updated": now(), "state": "waiting", "name": "pulpcore.app.tasks.base.general_create",
                "logging_cid": uuid.uuid4().hex, "created_by": API + "users/1/", "unblocked_at": None,
                "started_at": None, "finished_at": None, "error": None, "worker": None, "parent_task": None,
                "child_tasks": [], "task_group": None, "progress_reports": [], "created_resources": [],
                "created_resource_prns": [], "reserved_resources_record": ["shared:" + str(href)],
                "result": None,
                "_due": time.monotonic() + self.st.task_delay, "_fail": self.st.fail_tasks,
                "_content": {"relative_path": rel, "artifact": art_pk, "repository": req.get("repository")},
            }
        return self.send_json(202, {"task": API + "tasks/%s/" % pk})

    def advance(self, pk):
        """Moves a task on by the clock (the lock is held)."""
        t = self.st.tasks.get(pk)
        if not t or t["state"] in ("completed", "failed"):
            return
        if t["state"] == "waiting":
            t["state"], t["started_at"], t["unblocked_at"] = "running", now(), now()
            t["worker"] = API + "workers/00000000-0000-0000-0000-000000000001/"
        if time.monotonic() < t["_due"]:
            return
        t["finished_at"] = now()
        if t["_fail"]:
            t["state"] = "failed"
            t["error"] = {"description": "stand-in told to fail this task", "traceback": ""}
            return
        c = t["_content"]
        art = self.st.artifacts[c["artifact"]]
        for old_pk, old in self.st.contents.items():
            if old["relative_path"] == c["relative_path"] and old["sha256"] == art["sha256"]:
                t["state"], t["created_resources"] = "completed", [old["pulp_href"]]
                return
        cpk = str(uuid.uuid4())
        self.st.contents[cpk] = {"pulp_href": API + "content/file/files/%s/" % cpk,
                                 "prn": "prn:file.filecontent:" + cpk, "pulp_created": now(),
                                 "pulp_last_updated": now(), "artifact": art["pulp_href"],
                                 "relative_path": c["relative_path"], "md5": None, "sha256": art["sha256"],
                                 "vuln_report": None}
        t["state"], t["created_resources"] = "completed", [API + "content/file/files/%s/" % cpk]

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="password")
    ap.add_argument("--task-delay", type=float, default=0.2)
    a = ap.parse_args()
    own_dir = not a.dir
    if own_dir:
        a.dir = tempfile.mkdtemp(prefix="pulp-standin-")
    os.makedirs(a.dir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    srv.state = State(a.dir, a.user, a.password, a.task_delay)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    finally:
        if own_dir:
            shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
