#!/usr/bin/python3
"""The operator's console (/ui) in headless Chromium through Selenium, against a real taskd.

Usage: console_test.py TASKD_BINARY                  run the tests (ctest: console_browser)
       console_test.py TASKD_BINARY --screenshot PNG  save the overview with realistic data

It starts taskd on a free port with a data directory of its own, fills it through the API, and
drives the console: a wrong token, sign in, the overview's numbers against GET /stats, filtering
and paging 250 tasks, a task's page, re-queue, cancel, revoking an agent. Payloads, results and
agent names hold HTML and script; after every page the test checks that none of it ran
(window.__pwned unset, no <img> made), and at the end that Chromium logged no script error and
no Content-Security-Policy violation. Exit 77 (ctest's SKIP_RETURN_CODE) where Chromium,
chromedriver or python3-selenium are missing. Synchronisation is by explicit waits only.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

SKIP = 77
ADMIN_TOKEN = 'console-test-admin-' + uuid.uuid4().hex
WAIT_SECONDS = 20

HOSTILE = {
    'img': '<img src=x onerror=window.__pwned=1>',
    'script': '</script><script>window.__pwned=1</script>',
    'link': 'javascript:window.__pwned=1',
    'svg': '<svg onload="window.__pwned=1"></svg>',
}
HOSTILE_NAME = '<img src=x onerror=window.__pwned=1></script><script>window.__pwned=1</script>'
# What Chromium may log without a fault: the fetches the wrong-token tests make on purpose.
EXPECTED_LOG = re.compile(r'/stats - Failed to load resource: the server responded with a status of (401|403)')


def skip(reason):
    print('SKIP: ' + reason, flush=True)
    sys.exit(SKIP)


try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    skip('python3-selenium is not installed (scripts/setup installs it)')


class Taskd:
    """The real taskd on a free loopback port; its stderr is kept to check what it logged."""

    def __init__(self, binary, args=()):
        self.dir = tempfile.mkdtemp(prefix='taskd-console-')
        env = dict(os.environ, TASKD_ADMIN_TOKEN=ADMIN_TOKEN)
        self.proc = subprocess.Popen(
            [binary, '--listen', '127.0.0.1:0', '--data-dir', os.path.join(self.dir, 'data'), '--fsync', 'never',
             *args], stderr=subprocess.PIPE, env=env, text=True)
        self.log = []
        self.base = None
        # "listening on http://127.0.0.1:PORT", then "ready: " once its state is recovered
        # (until then the API answers 503).
        for line in self.proc.stderr:
            self.log.append(line)
            m = re.search(r'listening on http://127\.0\.0\.1:(\d+)', line)
            if m:
                self.base = 'http://127.0.0.1:' + m.group(1)
            if self.base and 'ready: ' in line:
                break
        else:
            raise RuntimeError('taskd did not start:\n' + ''.join(self.log))
        self.reader = threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True)
        self.reader.start()

    def call(self, method, path, body=None, token=ADMIN_TOKEN):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header('Authorization', 'Bearer ' + token)
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        try:
            with urllib.request.urlopen(req) as r:
                text = r.read().decode()
                return r.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode() or 'null')

    def ok(self, method, path, body=None, token=ADMIN_TOKEN):
        status, answer = self.call(method, path, body, token)
        if status >= 300:
            raise RuntimeError(f'{method} {path}: {status} {answer}')
        return answer

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.reader.join(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)
        return ''.join(self.log)


def browser(user_data_dir):
    chromium = shutil.which('chromium') or '/usr/bin/chromium'
    chromedriver = shutil.which('chromedriver') or '/usr/bin/chromedriver'
    if not os.path.exists(chromium):
        skip('chromium is not installed (scripts/setup installs it)')
    if not os.path.exists(chromedriver):
        skip('chromedriver is not installed (package chromium-driver; scripts/setup installs it)')
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ('--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1280,900',
                '--user-data-dir=' + user_data_dir, '--no-first-run', '--disable-extensions'):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument('--no-sandbox')  # Chromium refuses to start as root with its sandbox
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


# --- the data --------------------------------------------------------------------------------

class Data:
    pass


def seed(t):
    d = Data()
    d.bulk_tenant = str(uuid.uuid4())
    d.tenant = str(uuid.uuid4())
    # 250 tasks to filter and page through, and 7 of another type among them.
    for i in range(250):
        t.ok('POST', '/tasks', {'tenant_id': d.bulk_tenant, 'type': 'bulk' if i % 36 else 'rare', 'payload': {'n': i}})
    d.hostile_agent = t.ok('POST', '/agents', {'name': HOSTILE_NAME, 'tenant_id': d.tenant})
    d.doomed_agent = t.ok('POST', '/agents', {'name': 'edge-doomed', 'tenant_id': None})
    d.hostile_payload = dict(HOSTILE, nested={'list': [HOSTILE['img'], 1.5, None, True]})
    d.hostile_result = {'stdout': HOSTILE['script'], 'url': HOSTILE['link'], 'html': HOSTILE['svg']}
    agent = d.hostile_agent
    claim = lambda: t.ok('GET', '/tasks/next?agent_id=' + agent['id'], token=agent['token'])
    # Completed with a hostile result, failed, running, pending: each claimed in creation order.
    d.completed = t.ok('POST', '/tasks', {'tenant_id': d.tenant, 'type': 'FILE_WRITE',
                                          'payload': {'path': '/opt/x', 'content': HOSTILE['script']}})
    d.failed = t.ok('POST', '/tasks', {'tenant_id': d.tenant, 'type': 'hostile', 'payload': d.hostile_payload})
    d.running = t.ok('POST', '/tasks', {'tenant_id': d.tenant, 'type': 'noop', 'payload': {}})
    assert claim()['id'] == d.completed['id']
    t.ok('PATCH', '/tasks/' + d.completed['id'], {'status': 'completed', 'result': d.hostile_result},
         token=agent['token'])
    assert claim()['id'] == d.failed['id']
    t.ok('PATCH', '/tasks/' + d.failed['id'], {'status': 'failed', 'result': d.hostile_result}, token=agent['token'])
    assert claim()['id'] == d.running['id']
    d.pending = t.ok('POST', '/tasks', {'tenant_id': d.tenant, 'type': 'hostile', 'payload': d.hostile_payload})
    return d


# --- the checks ------------------------------------------------------------------------------

class Console:
    def __init__(self, driver, taskd):
        self.d = driver
        self.t = taskd
        self.logs = []

    def wait(self, condition, what):
        try:
            return WebDriverWait(self.d, WAIT_SECONDS).until(lambda d: condition())
        except TimeoutException:
            raise AssertionError('timed out waiting for: ' + what) from None

    def el(self, id_):
        return self.d.find_element(By.ID, id_)

    def text(self, id_):
        return self.el(id_).text

    def visible(self, id_):
        return self.el(id_).is_displayed()

    def open(self, hash_=''):
        self.d.get(self.t.base + '/ui' + hash_)

    def go(self, hash_):
        self.d.execute_script('location.hash = arguments[0]', hash_)

    def rows(self, table):
        """The cells' text of each row, read in one script: the console re-renders tables while
        the test reads them, and elements found one by one could go stale in between."""
        return self.d.execute_script(
            'return Array.from(document.querySelectorAll(`#${arguments[0]} tbody tr`), '
            'tr => Array.from(tr.cells, td => td.textContent))', table)

    def inert(self, where):
        """Nothing the server sent ran or became markup, and the browser logged nothing wrong."""
        pwned = self.d.execute_script('return window.__pwned')
        assert pwned is None, f'{where}: window.__pwned = {pwned!r}: a value ran as script'
        images = self.d.execute_script("return document.querySelectorAll('img, script:not([src]), svg [onload]').length")
        assert images == 0, f'{where}: {images} elements made from data'
        self.drain_logs(where)

    def drain_logs(self, where):
        for entry in self.d.get_log('browser'):
            self.logs.append(entry)
            message = entry.get('message', '')
            if EXPECTED_LOG.search(message):
                continue
            raise AssertionError(f'{where}: the browser logged {entry.get("level")}: {message}')

    def sign_in(self, token):
        self.wait(lambda: self.visible('view-signin'), 'the sign-in form')
        field = self.el('token')
        field.clear()
        field.send_keys(token)
        self.el('signin-submit').click()


def test_wrong_token(c, data):
    c.open()
    c.sign_in('wrong-token-' + uuid.uuid4().hex)
    c.wait(lambda: c.visible('signin-error'), 'the wrong-token message')
    assert 'Wrong token' in c.text('signin-error') and '401' in c.text('signin-error'), c.text('signin-error')
    assert c.d.execute_script('return sessionStorage.length') == 0
    assert c.visible('view-signin') and not c.visible('nav')
    # An agent's token is valid but not the admin's: told apart.
    c.sign_in(data.hostile_agent['token'])
    c.wait(lambda: '403' in c.text('signin-error'), 'the agent-token message')
    assert c.d.execute_script('return sessionStorage.length') == 0
    c.inert('sign-in')


def test_sign_in(c, data):
    c.open()
    c.sign_in(ADMIN_TOKEN)
    c.wait(lambda: c.visible('view-overview'), 'the overview after sign-in')
    assert c.d.execute_script("return sessionStorage.getItem('taskd.admin_token')") == ADMIN_TOKEN
    assert c.d.get_cookies() == [], c.d.get_cookies()
    assert ADMIN_TOKEN not in c.d.current_url
    assert c.el('token').get_attribute('value') == ''
    # A reload keeps the session (sessionStorage), a new tab would not.
    c.d.refresh()
    c.wait(lambda: c.visible('view-overview'), 'the overview after a reload')
    c.inert('sign-in')


def test_overview_numbers(c, data):
    c.go('#/overview')
    stats = c.t.ok('GET', '/stats')
    want = {f'count-{s}': str(stats['tasks'][s]) for s in ('pending', 'running', 'completed', 'failed')}
    want['agents-seen'] = str(stats['agents']['seen_last_minute'])
    want['agents-registered'] = str(stats['agents']['registered'])
    c.wait(lambda: all(c.text(k) == v for k, v in want.items()),
           'overview numbers ' + json.dumps(want))
    assert want['count-pending'] == '251' and want['count-running'] == '1', want
    tenants = {t['tenant_id']: t for t in stats['tenants']}
    rows = c.rows('tenants')
    assert len(rows) == len(tenants) == 2
    for cells in rows:
        t = tenants[cells[0]]
        assert cells[1:] == [str(t['pending']), str(t['running']), str(t['failed'])], (cells, t)
    # The chart: creates per second move once tasks are created between two polls.
    for i in range(20):
        c.t.ok('POST', '/tasks', {'tenant_id': data.tenant, 'type': 'chart', 'payload': {'i': i}})
    c.wait(lambda: c.text('rate-creates') not in ('–', '0.0'), 'a creates rate above zero')
    c.wait(lambda: len(c.d.find_elements(By.CSS_SELECTOR, '#chart polyline')) == 3, 'the three chart lines')
    c.inert('overview')


def listed_ids(c):
    return [cells[1] for cells in c.rows('tasks')]


def test_filter_and_page(c, data):
    c.go('#/tasks')
    c.wait(lambda: c.visible('view-tasks'), 'the tasks view')
    c.el('filter-tenant').clear()
    c.el('filter-tenant').send_keys(data.bulk_tenant)
    Select(c.el('filter-status')).select_by_visible_text('pending')
    Select(c.el('filter-limit')).select_by_visible_text('100')
    c.el('filter-apply').click()
    expected = [t['id'] for t in c.t.ok('GET', '/tasks?tenant_id=' + data.bulk_tenant + '&status=pending')]
    assert len(expected) == 250
    seen = []
    for page, size in ((1, 100), (2, 100), (3, 50)):
        c.wait(lambda: c.text('page-info').startswith(f'page {page} · {size} tasks'), f'page {page} of {size}')
        seen += listed_ids(c)
        if page < 3:
            assert c.el('page-next').is_enabled()
            c.el('page-next').click()
    assert not c.el('page-next').is_enabled() and 'last page' in c.text('page-info')
    assert seen == expected, 'pages do not list the tasks newest first, each once'
    c.el('page-prev').click()
    c.wait(lambda: c.text('page-info').startswith('page 2 · 100 tasks'), 'back to page 2')
    assert listed_ids(c) == expected[100:200]
    # Type and agent filters.
    c.el('filter-type').send_keys('rare')
    c.el('filter-apply').click()
    rare = [t['id'] for t in c.t.ok('GET', '/tasks?tenant_id=' + data.bulk_tenant + '&type=rare')]
    c.wait(lambda: c.text('page-info').startswith(f'page 1 · {len(rare)} tasks'), 'the rare tasks')
    assert listed_ids(c) == rare and len(rare) == 7
    for id_ in ('filter-tenant', 'filter-type'):
        c.el(id_).clear()
    Select(c.el('filter-status')).select_by_visible_text('any')
    c.el('filter-agent').send_keys(data.hostile_agent['id'])
    c.el('filter-apply').click()
    mine = [t['id'] for t in c.t.ok('GET', '/tasks?agent_id=' + data.hostile_agent['id'])]
    c.wait(lambda: c.text('page-info').startswith(f'page 1 · {len(mine)} tasks'), "the agent's tasks")
    assert listed_ids(c) == mine and len(mine) == 3
    c.inert('tasks')


def field(c, name):
    """A field of the task page, read in one script (the page re-renders it: see Console.rows)."""
    return c.d.execute_script(
        "const dts = Array.from(document.querySelectorAll('#task-fields dt'));"
        "const dt = dts.find(e => e.textContent === arguments[0]);"
        "return dt ? dt.nextElementSibling.textContent : null;", name)


def test_open_task(c, data):
    # From the listing: the agent filter of the previous test lists the failed task.
    link = c.d.find_element(By.LINK_TEXT, data.failed['id'])
    link.click()
    c.wait(lambda: c.visible('view-task') and c.text('task-id') == data.failed['id'], 'the task page')
    task = c.t.ok('GET', '/tasks/' + data.failed['id'])
    c.wait(lambda: field(c, 'status') == 'failed', 'the status field')
    pretty = lambda v: json.dumps(v, indent=2, ensure_ascii=False)
    assert c.el('task-payload').get_attribute('textContent') == pretty(task['payload'])
    assert c.el('task-result').get_attribute('textContent') == pretty(task['result'])
    assert HOSTILE['img'] in c.el('task-payload').get_attribute('textContent')
    assert field(c, 'agent') == data.hostile_agent['id']
    assert field(c, 'attempts') == '1 of 3'
    assert field(c, 'tenant') == data.tenant
    assert c.visible('task-requeue') and not c.visible('task-cancel')
    # The running task shows its lease.
    c.go('#/task/' + data.running['id'])
    running = c.t.ok('GET', '/tasks/' + data.running['id'])
    c.wait(lambda: field(c, 'status') == 'running', 'the running task')
    assert field(c, 'lease expires') == running['lease_expires_at']
    assert not c.visible('task-requeue') and not c.visible('task-cancel')
    c.go('#/task/' + data.completed['id'])
    c.wait(lambda: field(c, 'status') == 'completed', 'the completed task')
    assert HOSTILE['script'] in c.el('task-payload').get_attribute('textContent')
    c.inert('task')


def test_requeue_failed(c, data):
    c.go('#/task/' + data.failed['id'])
    c.wait(lambda: field(c, 'status') == 'failed', 'the failed task')
    # Declined first: nothing changes.
    c.el('task-requeue').click()
    c.wait(lambda: c.visible('confirm'), 'the confirm dialog')
    assert data.failed['id'] in c.text('confirm-text')
    c.el('confirm-no').click()
    c.wait(lambda: not c.visible('confirm'), 'the dialog to close')
    assert c.t.ok('GET', '/tasks/' + data.failed['id'])['status'] == 'failed'
    c.el('task-requeue').click()
    c.wait(lambda: c.visible('confirm'), 'the confirm dialog')
    c.el('confirm-yes').click()
    c.wait(lambda: field(c, 'status') == 'pending', 'the task pending on its page')
    task = c.t.ok('GET', '/tasks/' + data.failed['id'])
    assert task['status'] == 'pending' and task['agent_id'] is None and task['attempts'] == 0, task
    assert c.text('task-result') == 'null'
    c.inert('re-queue')


def test_cancel_pending(c, data):
    c.go('#/task/' + data.pending['id'])
    c.wait(lambda: field(c, 'status') == 'pending', 'the pending task')
    assert c.visible('task-cancel') and not c.visible('task-requeue')
    c.el('task-cancel').click()
    c.wait(lambda: c.visible('confirm'), 'the confirm dialog')
    c.el('confirm-yes').click()
    c.wait(lambda: field(c, 'status') == 'failed', 'the task failed on its page')
    assert c.t.ok('GET', '/tasks/' + data.pending['id'])['status'] == 'failed'
    c.inert('cancel')


def agent_rows(c):
    return {cells[1]: cells[:5] for cells in c.rows('agents')}


def test_revoke_agent(c, data):
    c.go('#/agents')
    c.wait(lambda: len(agent_rows(c)) == 2, 'two agents listed')
    rows = agent_rows(c)
    hostile = rows[data.hostile_agent['id']]
    assert hostile[0] == HOSTILE_NAME, hostile  # the name, as text
    assert hostile[2] == data.tenant and hostile[4] == '1', hostile  # one running task
    seen = c.t.ok('GET', '/agents/' + data.hostile_agent['id'])['last_seen_at']
    assert seen and hostile[3] == seen, (hostile, seen)
    doomed = data.doomed_agent['id']
    assert rows[doomed][2] == 'shared' and rows[doomed][3] == 'never', rows[doomed]
    c.d.find_element(By.CSS_SELECTOR, f'button[data-agent-id="{doomed}"]').click()
    c.wait(lambda: c.visible('confirm'), 'the confirm dialog')
    assert 'edge-doomed' in c.text('confirm-text')
    c.el('confirm-yes').click()
    c.wait(lambda: doomed not in agent_rows(c) and len(agent_rows(c)) == 1, 'the agent gone from the list')
    assert c.t.call('GET', '/agents/' + doomed)[0] == 404
    assert c.t.call('GET', '/tasks/next?agent_id=' + doomed, token=data.doomed_agent['token'])[0] == 401
    c.inert('agents')


def test_sign_out(c, data):
    c.el('sign-out').click()
    c.wait(lambda: c.visible('view-signin'), 'the sign-in form after signing out')
    assert c.d.execute_script('return sessionStorage.length') == 0
    c.inert('sign-out')


TESTS = [test_wrong_token, test_sign_in, test_overview_numbers, test_filter_and_page, test_open_task,
         test_requeue_failed, test_cancel_pending, test_revoke_agent, test_sign_out]


def run_tests(binary):
    taskd = Taskd(binary)
    profile = tempfile.mkdtemp(prefix='taskd-console-chromium-')
    driver = None
    failed = []
    try:
        data = seed(taskd)
        driver = browser(profile)
        c = Console(driver, taskd)
        for test in TESTS:
            try:
                test(c, data)
                print('PASS ' + test.__name__, flush=True)
            except Exception as e:  # report every test, not only the first failure
                failed.append(test.__name__)
                print(f'FAIL {test.__name__}: {type(e).__name__}: {e}', flush=True)
    finally:
        if driver:
            driver.quit()
        log = taskd.stop()
        shutil.rmtree(profile, ignore_errors=True)
    # The token travels only in the Authorization header: never in a logged URL.
    if ADMIN_TOKEN in log:
        failed.append('token_not_logged')
        print('FAIL token_not_logged: the admin token appears in taskd\'s log', flush=True)
    else:
        print('PASS token_not_logged', flush=True)
    print(f'{len(TESTS) + 1 - len(failed)} passed, {len(failed)} failed', flush=True)
    return 1 if failed else 0


def screenshot(binary, path):
    """The overview of a server with a few tenants and agents at work, for the README."""
    taskd = Taskd(binary)
    profile = tempfile.mkdtemp(prefix='taskd-console-chromium-')
    driver = None
    stop = threading.Event()
    try:
        tenants = [str(uuid.uuid4()) for _ in range(4)]
        agents = [taskd.ok('POST', '/agents', {'name': f'edge-{i + 1:02}', 'tenant_id': t})
                  for i, t in enumerate(tenants)]
        agents.append(taskd.ok('POST', '/agents', {'name': 'shared-01', 'tenant_id': None}))

        def work():
            # Bursts that vary, so that the chart has a shape: creates lead, claims and
            # completions follow; one claim in nine is left running, one finish in thirteen fails.
            n = claims = 0
            while not stop.is_set():
                n += 1
                for i in range(8 + (n * 7) % 23):
                    taskd.ok('POST', '/tasks', {'tenant_id': tenants[i % 4], 'type': 'FILE_WRITE',
                                                'payload': {'path': f'/srv/app/{n}-{i}.json', 'content': '{}'}})
                for a in agents[: 1 + n % 5]:
                    for _ in range(3):
                        task = taskd.ok('GET', '/tasks/next?agent_id=' + a['id'], token=a['token'])
                        if task is None:
                            break
                        claims += 1
                        if claims % 9:
                            status = 'failed' if claims % 13 == 0 else 'completed'
                            taskd.ok('PATCH', '/tasks/' + task['id'], {'status': status, 'result': {'ok': True}},
                                     token=a['token'])
                stop.wait(0.25)  # pacing of the fake load, not synchronisation

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        driver = browser(profile)
        c = Console(driver, taskd)
        c.open()
        c.sign_in(ADMIN_TOKEN)
        c.wait(lambda: c.visible('view-overview'), 'the overview')
        WebDriverWait(driver, 120).until(lambda d: len(d.execute_script(
            "const p = document.querySelector('#chart polyline'); return p ? p.getAttribute('points') : ''")
            .split(' ')) >= 20)
        stop.set()
        worker.join()
        driver.save_screenshot(path)
        print('saved ' + path, flush=True)
    finally:
        stop.set()
        if driver:
            driver.quit()
        taskd.stop()
        shutil.rmtree(profile, ignore_errors=True)
    return 0


def main():
    if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and sys.argv[2] != '--screenshot'):
        print(__doc__, file=sys.stderr)
        return 2
    binary = sys.argv[1]
    if len(sys.argv) == 4:
        return screenshot(binary, sys.argv[3])
    return run_tests(binary)


if __name__ == '__main__':
    sys.exit(main())
