#!/usr/bin/env python3
"""A stand-in for the AlmaLinux Build System (albs-web-server), ALTS's client.

The Build System cannot run here (PostgreSQL, Pulp, dramatiq, its auth), so
this is a STAND-IN, written from albs-web-server's own code (HEAD 6cc257b):

  alws/routers/tests.py    GET  /api/v1/tests/get_test_tasks/  (bearer)
                           POST /api/v1/tests/{id}/result/     (bearer) -> {"ok": true}
  alws/crud/test.py        get_available_test_tasks: up to 10 CREATED tasks, in id
                           order, marked STARTED, payload as built there;
                           complete_test_task: logs -> Pulp create_file, then
                           revoked -> CANCELLED, tests.*.success / <key>.success ->
                           FAILED, else COMPLETED; update_test_task reads
                           stats.get('started_at') with datetime.fromisoformat;
                           cancel_build_tests: CREATED -> CANCELLED here, STARTED
                           ones are sent to ALTS's POST /cancel_tasks
  alws/schemas/test_schema.py  TestTaskResult {api_version: str, result: dict,
                           stats: Optional[dict]} (FastAPI: 422 otherwise)
  alws/dramatiq/tests.py   an exception in complete_test_task -> update_test_task
                           with FAILED (which raises again when stats is null:
                           the task then stays STARTED, as there)
  alws/utils/pulp_client.py create_file: POST pulp/api/v3/content/file/files/
                           {"relative_path", "artifact"} (basic auth), then
                           wait_for_task on the returned task until completed or
                           failed; 4xx/5xx raise.

The result handling runs after the route answered 200 (a dramatiq actor
there, a thread here): a task counts as delivered only by its final status.

Extra routes for tests (not the Build System's):
  POST /standin/tasks   [{package_name, ...}] -> creates CREATED tasks -> [ids]
  GET  /standin/tasks   every task: status, alts_response, started_at, logs, errors
  POST /standin/cancel  {"ids": [...]} -> cancel_build_tests for those ids
  GET  /standin/stats   {"polls", "polls_unauthorized", "callbacks"}
State is kept in --state (JSON), so a stopped and restarted stand-in (the
Build System being down) keeps its tasks.

usage: bs_standin.py --port-file F --state F --token T --pulp-url URL
                     [--pulp-user U --pulp-password P] [--alts-url URL | --alts-url-file F]
                     [--alts-token T] [--port N]
"""
import argparse
import base64
import datetime
import json
import os
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CREATED, STARTED, COMPLETED, FAILED, CANCELLED = 1, 2, 3, 4, 5
NAMES = {1: 'created', 2: 'started', 3: 'completed', 4: 'failed', 5: 'cancelled'}

LOCK = threading.Lock()
ARGS = None
STATE = {'next_id': 1, 'tasks': {}, 'polls': 0, 'polls_unauthorized': 0, 'callbacks': 0}


def save():
    tmp = ARGS.state + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(STATE, f)
    os.replace(tmp, ARGS.state)


def log(*a):
    print(time.strftime('%H:%M:%S'), *a, file=sys.stderr, flush=True)


# ---- Pulp (alws/utils/pulp_client.py) ----------------------------------------

def pulp_request(method, endpoint, payload=None):
    url = urllib.parse.urljoin(ARGS.pulp_url, endpoint)
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header('Content-Type', 'application/json')
    cred = base64.b64encode(f'{ARGS.pulp_user}:{ARGS.pulp_password}'.encode()).decode()
    req.add_header('Authorization', 'Basic ' + cred)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b'null')
    except urllib.error.HTTPError as e:
        body = e.read()[:500]
        raise Exception(f'Pulp {method} {endpoint}: {e.code} {body!r}')


def wait_for_task(task_href):
    task = pulp_request('GET', task_href)
    while task['state'] not in ('failed', 'completed'):
        time.sleep(0.2)
        task = pulp_request('GET', task_href)
    if task['state'] == 'failed':
        raise Exception(f"Task {task['pulp_href']} has failed {task.get('error')}")
    return task


def create_file(file_name, artifact_href):
    task = pulp_request('POST', 'pulp/api/v3/content/file/files/',
                        {'relative_path': file_name, 'artifact': artifact_href})
    task_result = wait_for_task(task['task'])
    hrefs = [i for i in task_result['created_resources'] if 'file/files' in i]
    return hrefs[0] if hrefs else None


# ---- alws/crud/test.py --------------------------------------------------------

def update_test_task(task, test_result, status):
    started_at = test_result['stats'].get('started_at', None)  # AttributeError on null, as there
    if started_at:
        started_at = datetime.datetime.fromisoformat(started_at).isoformat()
    task['status'] = status
    task['started_at'] = started_at
    task['finished_at'] = datetime.datetime.utcnow().isoformat()
    task['alts_response'] = test_result


def complete_test_task(task, test_result):
    logs = []
    status = COMPLETED
    conv = []
    for log_ in test_result['result'].get('logs', []):
        if log_.get('href'):
            conv.append(log_)
        else:
            task['errors'].append(f'Log file {log_} is missing href')
            continue
    task['result_status'] = result_status(test_result)  # diagnostics only: the verdict without logs
    try:
        for log_ in conv:
            logs.append({'name': log_['name'], 'href': create_file(log_['name'], log_['href'])})
    except Exception as e:
        task['errors'].append(f'Cannot convert test logs to proper files: {e}')
        status = FAILED
    else:
        if test_result['result'].get('revoked'):
            status = CANCELLED
        else:
            for key, item in test_result['result'].items():
                if key == 'tests':
                    for test_item in item.values():
                        if not test_item.get('success', False):
                            status = FAILED
                            break
                elif key in ['logs', 'skipped_tests']:
                    continue
                elif not item.get('success', False):
                    status = FAILED
                    break
    finally:
        update_test_task(task, test_result, status)
        task['logs'] = logs


def result_status(test_result):
    """The status complete_test_task derives from result alone (no logs step); for diagnostics."""
    try:
        if test_result['result'].get('revoked'):
            return 'cancelled'
        for key, item in test_result['result'].items():
            if key == 'tests':
                if any(not t.get('success', False) for t in item.values()):
                    return 'failed'
            elif key in ['logs', 'skipped_tests']:
                continue
            elif not item.get('success', False):
                return 'failed'
        return 'completed'
    except Exception as e:
        return f'error: {e!r}'


def complete_actor(task_id, test_result):
    """alws/dramatiq/tests.py: _complete_test_task."""
    with LOCK:
        task = STATE['tasks'][str(task_id)]
        try:
            complete_test_task(task, test_result)
        except Exception as e:
            task['errors'].append(f'Cannot set test task result, marking as failed: {e!r}')
            try:
                update_test_task(task, test_result, FAILED)
            except Exception as e2:
                task['errors'].append(f'update_test_task failed too: {e2!r}')
        task['callbacks'] += 1
        log(f'task {task_id}: final status {NAMES[task["status"]]}', task['errors'][-1:] or '')
        save()


def task_payload(task):
    """get_available_test_tasks' payload."""
    p = {
        'bs_task_id': task['id'],
        'runner_type': 'docker',
        'dist_name': task['dist_name'],
        'dist_version': task['dist_version'],
        'dist_arch': task['dist_arch'],
        'package_name': task['package_name'],
        'package_version': task['package_version'],
        'callback_href': f"/api/v1/tests/{task['id']}/result/",
    }
    for k in ('module_name', 'module_stream', 'module_version'):
        if task.get(k):
            p[k] = task[k]
    if task.get('repositories'):
        p['repositories'] = task['repositories']
    if task.get('test_configuration'):
        tc = dict(task['test_configuration'])
        if tc.get('tests') is None:
            tc['tests'] = []
        p['test_configuration'] = tc
    return p


def cancel_tasks(ids):
    """cancel_build_tests for the given ids."""
    started = []
    with LOCK:
        for i in ids:
            t = STATE['tasks'].get(str(i))
            if not t:
                continue
            if t['status'] == CREATED:
                t['status'] = CANCELLED
            elif t['status'] == STARTED:
                started.append(t['id'])
        save()
    alts_url = ARGS.alts_url
    if not alts_url and ARGS.alts_url_file and os.path.exists(ARGS.alts_url_file):
        with open(ARGS.alts_url_file) as f:
            alts_url = f.read().strip()
    if started and alts_url:
        req = urllib.request.Request(alts_url.rstrip('/') + '/cancel_tasks',
                                     data=json.dumps({'bs_task_ids': started}).encode(), method='POST')
        req.add_header('Content-Type', 'application/json')
        req.add_header('Authorization', f'Bearer {ARGS.alts_token}')
        with urllib.request.urlopen(req, timeout=30) as r:
            return {'sent_to_alts': started, 'alts_answer': json.loads(r.read())}
    return {'sent_to_alts': started}


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *a):
        pass

    def send(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        return self.headers.get('Authorization') == f'Bearer {ARGS.token}'

    def body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n)

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path == '/api/v1/tests/get_test_tasks/':
            with LOCK:
                STATE['polls'] += 1
                if not self.authorized():
                    STATE['polls_unauthorized'] += 1
                    save()
                    return self.send(401, {'detail': 'Unauthorized'})
                out = []
                for t in sorted(STATE['tasks'].values(), key=lambda t: t['id']):
                    if t['status'] == CREATED and len(out) < 10:
                        t['status'] = STARTED
                        t['scheduled_at'] = datetime.datetime.utcnow().isoformat()
                        out.append(task_payload(t))
                save()
            return self.send(200, out)
        if path == '/standin/tasks':
            with LOCK:
                tasks = [dict(t, status_name=NAMES[t['status']]) for t in STATE['tasks'].values()]
            return self.send(200, sorted(tasks, key=lambda t: t['id']))
        if path == '/standin/stats':
            with LOCK:
                return self.send(200, {k: STATE[k] for k in ('polls', 'polls_unauthorized', 'callbacks')})
        self.send(404, {'detail': 'Not Found'})

    def do_POST(self):
        path = urllib.parse.urlparse(self.path).path
        raw = self.body()
        parts = path.strip('/').split('/')
        if parts[:3] == ['api', 'v1', 'tests'] and len(parts) == 5 and parts[4] == 'result':
            if not self.authorized():
                return self.send(401, {'detail': 'Unauthorized'})
            try:
                test_task_id = int(parts[3])
            except ValueError:
                return self.send(422, {'detail': [{'loc': ['path', 'test_task_id'], 'msg': 'not an int',
                                                   'type': 'int_parsing'}]})
            try:
                res = json.loads(raw)
            except ValueError:
                return self.send(422, {'detail': [{'loc': ['body'], 'msg': 'JSON decode error',
                                                   'type': 'json_invalid'}]})
            errs = []
            if not isinstance(res, dict):
                errs.append({'loc': ['body'], 'msg': 'Input should be a valid dictionary', 'type': 'model_type'})
            else:
                if not isinstance(res.get('api_version'), str):
                    errs.append({'loc': ['body', 'api_version'], 'msg': 'str required', 'type': 'string_type'})
                if not isinstance(res.get('result'), dict):
                    errs.append({'loc': ['body', 'result'], 'msg': 'dict required', 'type': 'dict_type'})
                if res.get('stats') is not None and not isinstance(res.get('stats'), dict):
                    errs.append({'loc': ['body', 'stats'], 'msg': 'dict required', 'type': 'dict_type'})
            if errs:
                return self.send(422, {'detail': errs})
            model = {'api_version': res['api_version'], 'result': res['result'], 'stats': res.get('stats')}
            with LOCK:
                STATE['callbacks'] += 1
                known = str(test_task_id) in STATE['tasks']
                save()
            self.send(200, {'ok': True})
            if known:
                threading.Thread(target=complete_actor, args=(test_task_id, model), daemon=True).start()
            return None
        if path == '/standin/tasks':
            ids = []
            with LOCK:
                for spec in json.loads(raw):
                    i = STATE['next_id']
                    STATE['next_id'] += 1
                    t = {'id': i, 'status': CREATED, 'dist_name': 'almalinux', 'dist_version': '9',
                         'dist_arch': 'x86_64', 'package_version': '1.0-1', 'errors': [], 'callbacks': 0,
                         'logs': [], 'alts_response': None, 'started_at': None}
                    t.update(spec)
                    STATE['tasks'][str(i)] = t
                    ids.append(i)
                save()
            return self.send(200, ids)
        if path == '/standin/cancel':
            try:
                return self.send(200, cancel_tasks(json.loads(raw)['ids']))
            except Exception as e:
                return self.send(502, {'detail': str(e)})
        self.send(404, {'detail': 'Not Found'})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--port-file', required=True)
    ap.add_argument('--state', required=True)
    ap.add_argument('--token', required=True)
    ap.add_argument('--pulp-url', required=True)
    ap.add_argument('--pulp-user', default='admin')
    ap.add_argument('--pulp-password', default='password')
    ap.add_argument('--alts-url')
    ap.add_argument('--alts-url-file', help='a file holding --alts-url (read at cancel time)')
    ap.add_argument('--alts-token')
    ARGS = ap.parse_args()
    if os.path.exists(ARGS.state):
        with open(ARGS.state) as f:
            STATE.update(json.load(f))
    srv = ThreadingHTTPServer(('127.0.0.1', ARGS.port), Handler)
    srv.daemon_threads = True
    with open(ARGS.port_file + '.tmp', 'w') as f:
        f.write(f'{srv.server_address[1]}\n')
    os.replace(ARGS.port_file + '.tmp', ARGS.port_file)
    srv.serve_forever()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        pass
    except Exception:
        traceback.print_exc()
        sys.exit(1)
