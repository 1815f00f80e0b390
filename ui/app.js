// The operator's console: a page of taskd's own HTTP API, nothing else.
//
// Safety rules this file keeps (README "Console"):
// - Every value from the server reaches the page through textContent, createTextNode or
//   setAttribute of a fixed, harmless attribute; never innerHTML, never a URL made from data
//   without encodeURIComponent. The Content-Security-Policy of /ui forbids inline script and
//   style besides.
// - The admin token lives in sessionStorage (this tab only) and travels only in the
//   Authorization header: never in a URL, a cookie or the console's own logs.

const TOKEN_KEY = 'taskd.admin_token';
const POLL_MS = 2000;
const HISTORY_SAMPLES = 150;  // 5 minutes of 2 s samples for the chart
const STATUSES = ['pending', 'running', 'completed', 'failed'];
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const $ = (id) => document.getElementById(id);

// --- the API ---------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

// One request with the admin token; resolves to {body, link} or throws ApiError. A 401 signs
// the console out (the token was changed or is wrong).
async function api(method, path, body, bearer = token()) {
  const init = { method, headers: { Authorization: 'Bearer ' + bearer }, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'taskd did not answer (' + e.message + ')');
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = null; }
  }
  if (!response.ok) {
    let detail = 'HTTP ' + response.status;
    if (parsed && typeof parsed.detail === 'string') detail = parsed.detail;
    else if (parsed && Array.isArray(parsed.detail)) detail = parsed.detail.map((d) => String(d.msg)).join('; ');
    throw new ApiError(response.status, detail);
  }
  return { body: parsed, link: response.headers.get('Link') };
}

// The rel="next" target of a Link header: a relative URL on this server, or null.
function nextLink(link) {
  if (!link) return null;
  const m = /<([^>]*)>\s*;\s*rel="next"/.exec(link);
  if (!m || !m[1].startsWith('/tasks')) return null;
  return m[1];
}

// --- small DOM helpers -----------------------------------------------------------------------

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (className) e.className = className;
  return e;
}

function cell(text, className) { return el('td', text === null || text === undefined ? '—' : text, className); }

function statusCell(status) {
  const td = el('td');
  // The class is one of four fixed names, whatever the server sent.
  td.append(el('span', status, STATUSES.includes(status) ? 'status ' + status : 'status'));
  return td;
}

function taskLink(id) {
  const a = el('a', id, 'mono');
  a.href = '#/task/' + encodeURIComponent(id);
  return a;
}

function showMessage(text, kind = 'error') {
  const m = $('message');
  m.textContent = text;
  m.className = 'message' + (kind === 'info' ? ' info' : '');
  m.hidden = !text;
}

function handle(error) {
  if (error instanceof ApiError && error.status === 401) {
    signOut('The admin token was refused (401): sign in again.');
    return;
  }
  showMessage(error instanceof ApiError ? error.message + ' (' + error.status + ')' : String(error));
}

// A confirmation of our own (not window.confirm): resolves true on Confirm, false on Keep it.
function confirmAction(text) {
  return new Promise((resolve) => {
    $('confirm-text').textContent = text;
    $('confirm').hidden = false;
    const done = (answer) => {
      $('confirm').hidden = true;
      $('confirm-yes').onclick = null;
      $('confirm-no').onclick = null;
      resolve(answer);
    };
    $('confirm-yes').onclick = () => done(true);
    $('confirm-no').onclick = () => done(false);
    $('confirm-no').focus();
  });
}

// --- sign in ---------------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const candidate = $('token').value.trim();
  $('signin-error').hidden = true;
  if (!candidate) return;
  try {
    await api('GET', '/stats', undefined, candidate);
  } catch (e) {
    let text = e.message;
    if (e.status === 401) text = 'Wrong token: taskd refused it (401). Use the admin token (data/admin.token).';
    else if (e.status === 403) text = 'This token may not use the console (403): it is an agent\'s, not the admin token.';
    $('signin-error').textContent = text;
    $('signin-error').hidden = false;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, candidate);
  $('token').value = '';
  showMessage('');
  // A changed hash routes through hashchange; an unchanged one needs routing here.
  if (!location.hash || location.hash === '#/signin') location.hash = '#/overview';
  else route();
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  history.replaceState(null, '', location.pathname + location.search);
  showMessage(reason || '', 'info');
  route();
}

// --- overview --------------------------------------------------------------------------------

const history_ = [];  // {t: seconds (server clock), creates, claims, completions}
let pollTimer = null;
let pollFailed = false;  // the message shows a failed poll: clear it once one succeeds

async function pollStats() {
  let stats;
  try {
    ({ body: stats } = await api('GET', '/stats'));
  } catch (e) {
    pollFailed = true;
    handle(e);
    return;
  }
  if (pollFailed) showMessage('');
  pollFailed = false;
  renderStats(stats);
}

function renderStats(s) {
  for (const status of STATUSES) $('count-' + status).textContent = String(s.tasks[status]);
  $('agents-seen').textContent = String(s.agents.seen_last_minute);
  $('agents-registered').textContent = String(s.agents.registered);
  $('stats-time').textContent = s.time;

  const body = $('tenants').tBodies[0];
  const rows = s.tenants.map((t) => {
    const tr = el('tr');
    tr.append(cell(t.tenant_id, 'mono'), cell(t.pending), cell(t.running), cell(t.failed));
    return tr;
  });
  body.replaceChildren(...rows);

  const t = Date.parse(s.time) / 1000;
  const last = history_[history_.length - 1];
  // Samples closer than a second (a poll right after a view change) make noisy rates.
  if (last && t - last.t < 1) return;
  // A restarted server starts its totals at 0 again: begin a new series.
  if (last && s.totals.creates < last.creates) history_.length = 0;
  history_.push({ t, ...s.totals });
  if (history_.length > HISTORY_SAMPLES + 1) history_.shift();
  drawChart();
}

const SERIES = ['creates', 'claims', 'completions'];

// Rates between successive samples, drawn as three polylines on a fixed 600×160 canvas (scaled
// to the page's width; the scale is written below it, not in it, so that no text is stretched).
function drawChart() {
  const svg = $('chart');
  const ns = 'http://www.w3.org/2000/svg';
  const W = 600, TOP = 8, BOTTOM = 152;
  const rates = [];
  for (let i = 1; i < history_.length; ++i) {
    const a = history_[i - 1], b = history_[i], dt = b.t - a.t;
    const r = { t: b.t };
    for (const k of SERIES) r[k] = (b[k] - a[k]) / dt;
    rates.push(r);
  }
  const children = [];
  const axis = document.createElementNS(ns, 'line');
  for (const [k, v] of [['x1', 0], ['x2', W], ['y1', BOTTOM], ['y2', BOTTOM]]) axis.setAttribute(k, v);
  axis.setAttribute('class', 'axis');
  children.push(axis);
  let max = 1;
  for (const r of rates) for (const k of SERIES) max = Math.max(max, r[k]);
  if (rates.length > 0) {
    const t0 = rates[0].t, span = Math.max(1, rates[rates.length - 1].t - t0);
    for (const k of SERIES) {
      const line = document.createElementNS(ns, 'polyline');
      const points = rates.map((r) => {
        const x = rates.length === 1 ? W : ((r.t - t0) / span) * W;
        const y = BOTTOM - (r[k] / max) * (BOTTOM - TOP);
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      line.setAttribute('points', points.join(' '));
      line.setAttribute('class', k);
      children.push(line);
    }
    const last = rates[rates.length - 1];
    for (const k of SERIES) $('rate-' + k).textContent = last[k].toFixed(1);
    $('chart-span').textContent = 'Last ' + Math.round(span) + ' s; top of the chart: ' + max.toFixed(1) + '/s.';
  }
  svg.replaceChildren(...children);
}

function startOverview() {
  pollStats();
  pollTimer = setInterval(pollStats, POLL_MS);
}

function stopOverview() {
  if (pollTimer !== null) clearInterval(pollTimer);
  pollTimer = null;
}

// --- tasks -----------------------------------------------------------------------------------

// The listing's state: the URL of each page seen so far (pages[0] is the first), and where we are.
const listing = { pages: [], index: 0, next: null };

function filterUrl() {
  const q = new URLSearchParams();
  for (const [id, name] of [['filter-tenant', 'tenant_id'], ['filter-status', 'status'], ['filter-agent', 'agent_id'],
                            ['filter-type', 'type']]) {
    const v = $(id).value.trim();
    if (v) q.set(name, v);
  }
  q.set('limit', $('filter-limit').value);
  return '/tasks?' + q.toString();
}

async function loadTasks(url) {
  let page;
  try {
    page = await api('GET', url);
  } catch (e) {
    handle(e);
    return;
  }
  showMessage('');
  const rows = page.body.map((t) => {
    const tr = el('tr');
    const idCell = el('td');
    idCell.append(taskLink(t.id));
    tr.append(cell(t.created_at, 'mono'), idCell, cell(t.type), statusCell(t.status), cell(t.tenant_id, 'mono'),
              cell(t.agent_id, 'mono'), cell(t.attempts));
    return tr;
  });
  $('tasks').tBodies[0].replaceChildren(...rows);
  listing.next = nextLink(page.link);
  $('page-next').disabled = listing.next === null;
  $('page-prev').disabled = listing.index === 0;
  $('page-info').textContent = 'page ' + (listing.index + 1) + ' · ' + page.body.length + ' tasks' +
                               (listing.next ? '' : ' · last page');
}

function applyFilters(event) {
  if (event) event.preventDefault();
  listing.pages = [filterUrl()];
  listing.index = 0;
  loadTasks(listing.pages[0]);
}

function nextPage() {
  if (!listing.next) return;
  listing.pages.length = listing.index + 1;
  listing.pages.push(listing.next);
  listing.index += 1;
  loadTasks(listing.pages[listing.index]);
}

function prevPage() {
  if (listing.index === 0) return;
  listing.index -= 1;
  loadTasks(listing.pages[listing.index]);
}

// --- one task --------------------------------------------------------------------------------

function pretty(value) { return value === null || value === undefined ? 'null' : JSON.stringify(value, null, 2); }

function field(dl, name, value) {
  dl.append(el('dt', name), el('dd', value === null || value === undefined ? '—' : value));
}

async function showTask(id) {
  if (!UUID_RE.test(id)) {
    showMessage('Not a task id: ' + id);
    return;
  }
  let task;
  try {
    ({ body: task } = await api('GET', '/tasks/' + encodeURIComponent(id)));
  } catch (e) {
    handle(e);
    return;
  }
  renderTask(task);
}

function renderTask(t) {
  $('task-id').textContent = t.id;
  const dl = $('task-fields');
  dl.replaceChildren();
  field(dl, 'status', t.status);
  field(dl, 'type', t.type);
  field(dl, 'tenant', t.tenant_id);
  field(dl, 'agent', t.agent_id);
  field(dl, 'attempts', t.attempts + (t.max_attempts !== undefined ? ' of ' + t.max_attempts : ''));
  field(dl, 'lease expires', t.lease_expires_at);
  field(dl, 'lease seconds', t.lease_seconds);
  if (t.priority !== undefined) field(dl, 'priority', t.priority);
  field(dl, 'created', t.created_at);
  field(dl, 'updated', t.updated_at);
  $('task-payload').textContent = pretty(t.payload);
  $('task-result').textContent = pretty(t.result);
  $('task-requeue').hidden = !(t.status === 'failed' || t.status === 'completed');
  $('task-cancel').hidden = t.status !== 'pending';
  $('task-requeue').onclick = () => transition(t, 'pending', 'Re-queue task ' + t.id +
      '? Its result, agent and attempts are cleared and it becomes pending again.');
  $('task-cancel').onclick = () => transition(t, 'failed', 'Cancel pending task ' + t.id + '? It becomes failed.');
}

async function transition(t, status, question) {
  if (!(await confirmAction(question))) return;
  try {
    const { body } = await api('PATCH', '/tasks/' + encodeURIComponent(t.id), { status });
    showMessage(status === 'pending' ? 'Task re-queued.' : 'Task cancelled.', 'info');
    renderTask(body);
  } catch (e) {
    handle(e);
  }
}

// --- agents ----------------------------------------------------------------------------------

// Running tasks counted per agent with one listing each (agents are few); past RUNNING_LIMIT the
// count shows as "N+".
const RUNNING_LIMIT = 1000;

async function loadAgents() {
  let agents;
  try {
    ({ body: agents } = await api('GET', '/agents'));
  } catch (e) {
    handle(e);
    return;
  }
  const rows = await Promise.all(agents.map(async (a) => {
    let running = '?';
    try {
      const r = await api('GET', '/tasks?agent_id=' + encodeURIComponent(a.id) + '&status=running&limit=' + RUNNING_LIMIT);
      running = String(r.body.length) + (nextLink(r.link) ? '+' : '');
    } catch (e) {
      if (e.status === 401) throw e;
    }
    const tr = el('tr');
    const revoke = el('button', 'Revoke', 'danger');
    revoke.type = 'button';
    revoke.dataset.agentId = a.id;
    revoke.onclick = () => revokeAgent(a);
    const actions = el('td');
    actions.append(revoke);
    tr.append(cell(a.name), cell(a.id, 'mono'), cell(a.tenant_id === null ? 'shared' : a.tenant_id, 'mono'),
              cell(a.last_seen_at ?? 'never', 'mono'), cell(running), actions);
    return tr;
  })).catch((e) => { handle(e); return null; });
  if (rows) $('agents').tBodies[0].replaceChildren(...rows);
}

async function revokeAgent(a) {
  if (!(await confirmAction('Revoke agent "' + a.name + '" (' + a.id + ')? Its token stops working at once and ' +
                            'its running tasks are re-queued.'))) return;
  try {
    await api('DELETE', '/agents/' + encodeURIComponent(a.id));
    showMessage('Agent revoked.', 'info');
  } catch (e) {
    handle(e);
  }
  loadAgents();
}

// --- routing ---------------------------------------------------------------------------------

const VIEWS = ['signin', 'overview', 'tasks', 'task', 'agents'];

function show(view) {
  for (const v of VIEWS) $('view-' + v).hidden = v !== view;
  for (const v of ['overview', 'tasks', 'agents']) $('nav-' + v).classList.toggle('active', v === view);
  $('nav').hidden = view === 'signin';
}

function route() {
  stopOverview();
  if (!token()) {
    show('signin');
    $('token').focus();
    return;
  }
  const hash = location.hash || '#/overview';
  if (hash.startsWith('#/task/')) {
    show('task');
    showTask(decodeURIComponent(hash.slice('#/task/'.length)));
  } else if (hash === '#/tasks') {
    show('tasks');
    if (listing.pages.length === 0) applyFilters();
    else loadTasks(listing.pages[listing.index]);
  } else if (hash === '#/agents') {
    show('agents');
    loadAgents();
  } else {
    show('overview');
    startOverview();
  }
}

function init() {
  $('signin-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => signOut('Signed out.'));
  $('task-filters').addEventListener('submit', applyFilters);
  $('page-next').addEventListener('click', nextPage);
  $('page-prev').addEventListener('click', prevPage);
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !$('confirm').hidden) $('confirm-no').click(); });
  window.addEventListener('hashchange', () => { showMessage(''); route(); });
  route();
}

init();
