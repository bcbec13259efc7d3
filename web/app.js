// berth web UI: one page with hash routes (#/databases, #/databases/NAME, #/hosts, #/tasks,
// #/network, #/events, #/projects, #/tokens) over the /v1 API; what it offers follows the
// signed-in token's role (GET /v1/whoami). No framework: the DOM is built with h(), every text
// from the API goes in as text (never as HTML), and each page polls what it shows.

const TOKEN_KEY = 'berth.token';
const PROJECT_KEY = 'berth.project';  // an operator's project selector
const POLL_MS = 2000;
const EVENTS_POLL_MS = 5000;
const USAGE_POLL_MS = 15000;

// ---------------------------------------------------------------------------------------------
// DOM helpers

// h('tag', {attributes and on* handlers}, children...): strings become text nodes.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  appendChildren(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
  appendChildren(el, children);
  return el;
}

function setAttributes(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'for') el.htmlFor = v;
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
}

function appendChildren(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces an element's children, keeping the keyboard focus on the element with the same
// data-key (a table re-drawn by a poll must not throw the user's focus away).
function fill(el, ...children) {
  const active = document.activeElement;
  const key = active && el.contains(active) ? active.dataset.key : undefined;
  el.replaceChildren();
  appendChildren(el, children);
  if (key) {
    const again = el.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

// Re-draws el only when what it shows has changed.
const shown = new WeakMap();
function update(el, data, render) {
  const signature = JSON.stringify(data);
  if (shown.get(el) === signature) return;
  shown.set(el, signature);
  fill(el, render(data));
}

function field(id, label, input, hint) {
  input.id = id;
  const parts = [h('label', { for: id }, label), input];
  if (hint) {
    const hintId = id + '-hint';
    input.setAttribute('aria-describedby', hintId);
    parts.push(h('span', { class: 'hint', id: hintId }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

function messages(prefix) {
  const error = h('p', { class: 'error', id: prefix + '-error', role: 'alert' });
  const notice = h('div', { class: 'notice', id: prefix + '-result', role: 'status' });
  return {
    error, notice,
    nodes: [error, notice],
    clear() { error.textContent = ''; notice.replaceChildren(); },
    fail(e) { notice.replaceChildren(); error.textContent = errorText(e); },
    ok(...content) { error.textContent = ''; fill(notice, ...content); },
  };
}

// ---------------------------------------------------------------------------------------------
// The token: sessionStorage, or localStorage when the user asks to stay signed in.

function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY) || '';
}

function setToken(token, remember) {
  clearToken();
  (remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, token);
}

function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(PROJECT_KEY);
  me = null;
}

// The signed-in token as /v1/whoami tells it: {id, name, project, role, expires_at}.
let me = null;
const RANK = { viewer: 1, member: 2, admin: 3, operator: 4 };
function may(role) {
  return !!me && (RANK[me.role] || 0) >= RANK[role];
}

// ---------------------------------------------------------------------------------------------
// The API

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function errorText(e) {
  return e instanceof ApiError ? e.message : `Something went wrong in the page: ${e && e.message}`;
}

// One call to /v1: its JSON answer (with options.full: {status, data}). Throws ApiError with
// the API's own words ({"error": "..."}); a 401 also signs out and shows the sign-in form with
// that message, unless options.keepSignedIn.
async function api(method, path, body, options = {}) {
  const headers = { Authorization: 'Bearer ' + (options.token ?? getToken()) };
  const init = { method, headers, cache: 'no-store' };
  // An operator's project selector narrows every list and picks the project of a create.
  const project = sessionStorage.getItem(PROJECT_KEY);
  if (project && me && me.role === 'operator' && !options.token)
    path += (path.includes('?') ? '&' : '?') + 'project=' + encodeURIComponent(project);
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch('../v1' + path, init);
  } catch (e) {
    throw new ApiError(0, `The berth server does not answer (${e.message}).`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const message = data && typeof data.error === 'string'
      ? data.error : `HTTP ${response.status} ${response.statusText}`.trim();
    if (response.status === 401 && !options.keepSignedIn) signOut(message);
    throw new ApiError(response.status, message);
  }
  return options.full ? { status: response.status, data } : data;
}

// Endpoints that may not exist on an older server: 404 or nothing means "no data yet".
async function optional(path) {
  try {
    return await api('GET', path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

let enginesCache = null;
async function engines() {
  if (!enginesCache) enginesCache = await api('GET', '/engines');
  return enginesCache;
}

// ---------------------------------------------------------------------------------------------
// Formatting

function fmtBytes(n) {
  if (n === null || n === undefined || isNaN(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  const digits = i === 0 || v >= 100 || Number.isInteger(v) ? 0 : 1;
  return v.toFixed(digits) + ' ' + units[i];
}

function fmtMiB(mb) {
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024} GiB` : `${mb} MiB`;
}

function memoryInput(mb) {
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024}G` : `${mb}M`;
}

function fmtNumber(v) {
  if (v === null || v === undefined || isNaN(v)) return '–';
  const n = Number(v);
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

// "256", "256M", "256 MiB", "1G", "1.5GB" -> MiB; null when it is not a size.
function parseMemory(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:(k|m|g|t)(?:i?b?)?)?\s*$/i.exec(text);
  if (!m) return null;
  const scale = { k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024 }[(m[2] || 'm').toLowerCase()];
  const mb = Number(m[1]) * scale;
  return Number.isInteger(mb) ? mb : null;
}
const MEMORY_HINT = 'MiB, or a size such as 256M or 1G';

function pad(n) { return String(n).padStart(2, '0'); }

function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fmtAge(iso) {
  if (!iso) return '–';
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (isNaN(seconds)) return '–';
  if (seconds < 60) return '<1m';
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

function timeCell(iso) {
  return h('time', { datetime: iso || '', title: fmtTime(iso) }, fmtTime(iso));
}

const TONES = {
  ok: ['running', 'healthy', 'alive', 'done', 'verified'],
  busy: ['pending', 'starting'],
  warn: ['degraded', 'draining', 'unhealthy'],
  bad: ['failed', 'down', 'unknown'],
};

function badge(state, kind) {
  let tone = 'idle';
  if (kind === 'task' && state === 'running') tone = 'busy';
  else for (const [t, states] of Object.entries(TONES)) if (states.includes(state)) tone = t;
  return h('span', { class: `badge tone-${tone}` }, state || '–');
}

// A bar of value out of total, with its words beside it.
function bar(value, total, label, extraClass) {
  const ratio = total > 0 ? Math.min(1, Math.max(0, value / total)) : 0;
  const cls = extraClass || (ratio >= 0.95 ? 'full' : ratio >= 0.8 ? 'high' : '');
  return h('div', { class: 'bar' },
    h('div', {
      class: 'track', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
      'aria-valuenow': Math.round(ratio * 100), 'aria-label': label,
    }, h('div', { class: `fill ${cls}`, style: { width: `${(ratio * 100).toFixed(1)}%` } })),
    h('span', { class: 'label' }, label));
}

function table(headers, rows, options = {}) {
  return h('div', { class: 'scroll' },
    h('table', { 'aria-label': options.label },
      h('thead', {}, h('tr', {}, headers.map((t) =>
        h('th', { scope: 'col', class: /^(CPUs|Instances|Replicas|Connections|Operations|Attempts|Size|#)$/.test(t) ? 'num' : null }, t)))),
      h('tbody', {}, rows)));
}

function databaseLink(name) {
  return h('a', { href: `#/databases/${encodeURIComponent(name)}` }, name);
}

// ---------------------------------------------------------------------------------------------
// The confirmation dialog: resolves true when confirmed. With `typed`, the user must type that
// word (a database's name) before the confirm button works.

function confirmDialog({ title, text, confirm, typed }) {
  const dialog = document.getElementById('confirm');
  const form = document.getElementById('confirm-form');
  const input = document.getElementById('confirm-input');
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  const opener = document.activeElement;
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-typed').hidden = !typed;
  document.getElementById('confirm-label').textContent = typed ? `Type ${typed} to confirm` : '';
  ok.textContent = confirm;
  input.value = '';
  ok.disabled = Boolean(typed);
  dialog.returnValue = '';
  return new Promise((resolve) => {
    const onInput = () => { ok.disabled = input.value !== typed; };
    const onSubmit = (e) => {
      e.preventDefault();
      if (typed && input.value !== typed) return;
      dialog.close('ok');
    };
    const onCancel = () => dialog.close('cancel');
    const onClose = () => {
      input.removeEventListener('input', onInput);
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === 'ok');
    };
    input.addEventListener('input', onInput);
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    (typed ? input : cancel).focus();
  });
}

// ---------------------------------------------------------------------------------------------
// Pages. Each is a function(main, params, page) that builds the page and registers pollers on
// `page`; leaving the page stops them.

class Page {
  constructor() {
    this.stopped = false;
    this.timers = new Set();
  }

  // Runs fn now and then every ms after it finishes, until the page goes; a tab in the
  // background asks nothing until it is shown again.
  poll(fn, ms) {
    const run = async () => {
      if (this.stopped) return;
      if (document.hidden) {
        document.addEventListener('visibilitychange', run, { once: true });
        return;
      }
      try {
        await fn();
      } catch (e) {
        console.error(e);
      }
      if (this.stopped) return;
      const timer = setTimeout(() => { this.timers.delete(timer); run(); }, ms);
      this.timers.add(timer);
    };
    run();
  }

  stop() {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

// A button that runs an async action, disabled (with `busy` as its text) while it runs.
async function busy(button, text, action) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = text;
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

let flash = null;  // a message for the next page (e.g. "Deleted cache.")

function flashNotice() {
  const node = flash ? h('p', { class: 'notice', role: 'status' }, flash) : null;
  flash = null;
  return node;
}

// --- Databases ------------------------------------------------------------------------------

function databasesPage(main, params, page) {
  const listError = h('p', { class: 'error', role: 'alert' });
  const list = h('div', { id: 'database-list' }, h('p', { class: 'empty' }, 'Loading…'));

  const engineSelect = h('select', { required: true });
  const name = h('input', { autocomplete: 'off', spellcheck: 'false', required: true, class: 'wide' });
  const memory = h('input', { value: '256M', autocomplete: 'off', spellcheck: 'false', required: true });
  const replicas = h('input', { type: 'number', min: 0, max: 4, value: '0' });
  const password = h('input', { type: 'password', autocomplete: 'new-password' });
  const replicasHint = h('span', { class: 'hint', id: 'new-replicas-hint' }, '0 to 4, each on another host');
  const passwordHint = h('span', { class: 'hint', id: 'new-password-hint' }, '');
  const create = h('button', { type: 'submit' }, 'Create');
  const msg = messages('create');

  const replicasField = field('new-replicas', 'Replicas', replicas);
  replicas.setAttribute('aria-describedby', 'new-replicas-hint');
  replicasField.append(replicasHint);
  const passwordField = field('new-password', 'Password (optional)', password);
  password.setAttribute('aria-describedby', 'new-password-hint');
  passwordField.append(passwordHint);

  const onEngine = () => {
    const e = (enginesCache || []).find((x) => x.name === engineSelect.value);
    const caps = (e && e.supports) || {};
    replicas.disabled = !caps.replication;
    if (!caps.replication) replicas.value = '0';
    replicasHint.textContent = caps.replication
      ? '0 to 4, each on another host' : `${engineSelect.value} has no replication`;
    passwordHint.textContent = caps.password_optional
      ? 'empty: open, no password' : 'empty: berth makes one';
    if (e && parseMemory(memory.value) !== null && parseMemory(memory.value) < e.min_memory_mb)
      memory.value = memoryInput(e.min_memory_mb);
  };
  engineSelect.addEventListener('change', onEngine);

  const form = h('form', { class: 'row', id: 'create-form', 'aria-label': 'New database', onsubmit: onCreate },
    field('new-engine', 'Engine', engineSelect),
    field('new-name', 'Name', name, 'lower-case letters, digits, dashes'),
    field('new-memory', 'Memory', memory, MEMORY_HINT),
    replicasField, passwordField,
    h('div', { class: 'field' }, create));

  fill(main,
    h('h1', { tabindex: -1 }, 'Databases'),
    flashNotice(),
    h('section', { class: 'panel', 'aria-labelledby': 'list-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'list-title' }, 'All databases')),
      list, listError),
    h('section', { class: 'panel', 'aria-labelledby': 'create-title' },
      h('h2', { id: 'create-title' }, 'New database'),
      form, msg.nodes));

  engines().then((all) => {
    fill(engineSelect, all.map((e) => h('option', { value: e.name, disabled: !e.installed },
      e.installed ? `${e.name} ${e.version}` : `${e.name} (not installed)`)));
    const first = all.find((e) => e.installed);
    if (first) engineSelect.value = first.name;
    onEngine();
  }).catch((e) => msg.fail(e));

  async function onCreate(event) {
    event.preventDefault();
    msg.clear();
    const mb = parseMemory(memory.value);
    if (mb === null) {
      msg.error.textContent = `memory: "${memory.value}" is not a size (${MEMORY_HINT})`;
      memory.focus();
      return;
    }
    const body = { name: name.value.trim(), engine: engineSelect.value, memory_mb: mb };
    if (!replicas.disabled) body.replicas = Number(replicas.value || 0);
    if (password.value) body.password = password.value;
    try {
      const db = await busy(create, 'Creating…', () => api('POST', '/databases?wait=false', body));
      name.value = '';
      password.value = '';
      const secret = db.password
        ? h('p', {}, 'Password (shown only now): ', h('code', { class: 'secret' }, db.password)) : null;
      msg.ok(h('p', {}, 'Created ', databaseLink(db.name), `: ${db.engine}, ${fmtMiB(db.memory_mb)}. It is starting; its state below turns to running.`),
        secret,
        db.connect ? h('p', {}, 'Connect: ', h('code', { class: 'secret' }, db.connect)) : null);
      refresh();
    } catch (e) {
      msg.fail(e);
    }
  }

  async function refresh() {
    try {
      const dbs = await api('GET', '/databases');
      listError.textContent = '';
      // The minute is part of what is shown: the ages move on.
      update(list, { dbs, minute: Math.floor(Date.now() / 60000) }, () => renderDatabases(dbs));
    } catch (e) {
      listError.textContent = errorText(e);
    }
  }
  page.poll(refresh, POLL_MS);
}

function renderDatabases(dbs) {
  if (!dbs.length) return h('p', { class: 'empty' }, 'No databases yet. Create one below.');
  return table(['Name', 'Engine', 'State', 'Memory', 'Replicas', 'Address', 'Age'], dbs.map((db) => {
    const primary = (db.instances || []).find((i) => i.role === 'primary');
    const used = primary ? primary.memory_used_bytes : 0;
    const limit = db.memory_mb * 1024 * 1024;
    return h('tr', { 'data-database': db.name },
      h('td', {}, databaseLink(db.name)),
      h('td', {}, `${db.engine} ${db.version || ''}`),
      h('td', { class: 'state' }, badge(db.state)),
      h('td', { class: 'memory' }, bar(used, limit, `${fmtBytes(used)} / ${fmtMiB(db.memory_mb)}`)),
      h('td', { class: 'num' }, db.replicas),
      h('td', { class: 'mono' }, db.address ? `${db.address}:${db.port}` : '–'),
      h('td', { title: fmtTime(db.created_at) }, fmtAge(db.created_at)));
  }), { label: 'Databases' });
}

// --- One database ---------------------------------------------------------------------------

function databasePage(main, params, page) {
  const ref = params[0];
  const path = `/databases/${encodeURIComponent(ref)}`;
  const q = encodeURIComponent(ref);
  let db = null;
  let caps = {};

  const title = h('span', { id: 'db-name' }, ref);
  const titleBadge = h('span', { id: 'db-state' });
  const loadError = h('p', { class: 'error', role: 'alert', id: 'db-error' });
  const facts = h('div', { id: 'db-facts' }, h('p', { class: 'empty' }, 'Loading…'));
  const instances = h('div', { id: 'db-instances' });
  const backups = h('div', { id: 'db-backups' });
  const backupsError = h('p', { class: 'error', role: 'alert' });
  const tasks = h('div', { id: 'db-tasks' });
  const events = h('div', { id: 'db-events' });
  const log = h('pre', { id: 'db-log', class: 'log', tabindex: 0, 'aria-label': 'Engine log' });
  const charts = h('div', { id: 'db-usage' }, h('p', { class: 'empty' }, 'Loading…'));
  const msg = messages('action');
  let range = '1h';

  // Actions: built once, so a poll never clears what the user is typing.
  const resizeInput = h('input', { autocomplete: 'off', spellcheck: 'false', required: true });
  const resizeButton = h('button', { type: 'submit' }, 'Resize');
  const replicasInput = h('input', { type: 'number', min: 0, max: 4, required: true });
  const replicasButton = h('button', { type: 'submit' }, 'Set replicas');
  const switchoverButton = h('button', { type: 'button', class: 'secondary', onclick: onSwitchover }, 'Switch over');
  const backupButton = h('button', { type: 'button', class: 'secondary', onclick: onBackup }, 'Back up now');
  const deleteButton = h('button', { type: 'button', class: 'danger', onclick: onDelete }, 'Delete database');
  const switchoverHint = h('span', { class: 'hint' });
  const replicasHint = h('span', { class: 'hint', id: 'db-replicas-hint' });
  let actionsReady = false;

  const rangeButtons = ['1h', '6h', '24h', '7d'].map((r) => h('button', {
    type: 'button', class: 'secondary small', 'aria-pressed': r === range ? 'true' : 'false',
    onclick: () => {
      range = r;
      for (const b of rangeButtons) b.setAttribute('aria-pressed', b.textContent === r ? 'true' : 'false');
      refreshUsage();
    },
  }, r));

  const replicasField = field('db-replicas', 'Replicas', replicasInput);
  replicasInput.setAttribute('aria-describedby', 'db-replicas-hint');
  replicasField.append(replicasHint);

  fill(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/databases' }, 'Databases'), ' / ', ref),
    h('h1', { tabindex: -1 }, title, titleBadge),
    loadError,
    h('section', { class: 'panel', 'aria-labelledby': 'facts-title' },
      h('h2', { id: 'facts-title', class: 'visually-hidden' }, 'Summary'), facts),
    h('section', { class: 'panel', 'aria-labelledby': 'instances-title' },
      h('h2', { id: 'instances-title' }, 'Instances'), instances),
    h('section', { class: 'panel', 'aria-labelledby': 'actions-title' },
      h('h2', { id: 'actions-title' }, 'Actions'),
      h('div', { class: 'actions' },
        h('form', { class: 'row', 'aria-label': 'Resize', onsubmit: onResize },
          field('resize-memory', 'Memory', resizeInput, MEMORY_HINT), h('div', { class: 'field' }, resizeButton)),
        h('form', { class: 'row', 'aria-label': 'Replicas', onsubmit: onReplicas },
          replicasField, h('div', { class: 'field' }, replicasButton)),
        h('div', { class: 'field' }, h('span', { class: 'label-text' }, 'Primary'),
          h('div', { class: 'buttons' }, switchoverButton), switchoverHint),
        h('div', { class: 'field' }, h('span', { class: 'label-text' }, 'Data'),
          h('div', { class: 'buttons' }, backupButton, deleteButton))),
      msg.nodes),
    h('section', { class: 'panel', 'aria-labelledby': 'usage-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'usage-title' }, 'Usage'),
        h('div', { class: 'right', role: 'group', 'aria-label': 'Time range' }, rangeButtons)),
      charts),
    h('section', { class: 'panel', 'aria-labelledby': 'backups-title' },
      h('h2', { id: 'backups-title' }, 'Backups'), backups, backupsError),
    h('section', { class: 'panel', 'aria-labelledby': 'dbtasks-title' },
      h('h2', { id: 'dbtasks-title' }, 'Tasks'), tasks),
    h('section', { class: 'panel', 'aria-labelledby': 'dbevents-title' },
      h('h2', { id: 'dbevents-title' }, 'Recent events'), events),
    h('section', { class: 'panel', 'aria-labelledby': 'dblog-title' },
      h('h2', { id: 'dblog-title' }, 'Log of the primary (last 100 lines)'), log));

  function applyActions() {
    if (!actionsReady) {
      resizeInput.value = memoryInput(db.memory_mb);
      replicasInput.value = String(db.replicas);
      actionsReady = true;
    }
    replicasInput.disabled = replicasButton.disabled = !caps.replication;
    replicasHint.textContent = caps.replication ? '0 to 4' : `${db.engine} has no replication`;
    switchoverButton.disabled = !(caps.replication && db.replicas > 0);
    switchoverHint.textContent = caps.replication && db.replicas > 0
      ? 'hands the primary role to a replica, no write lost' : 'needs a replica';
    backupButton.hidden = !caps.persistence;
  }

  async function refresh() {
    let fresh;
    try {
      fresh = await api('GET', path);
    } catch (e) {
      loadError.textContent = errorText(e);
      return;
    }
    loadError.textContent = '';
    db = fresh;
    const engine = (await engines()).find((e) => e.name === db.engine);
    caps = (engine && engine.supports) || {};
    update(titleBadge, db.state, badge);
    update(facts, db, renderFacts);
    update(instances, db.instances, renderInstances);
    applyActions();
    const [b, t] = await Promise.all([
      caps.persistence ? api('GET', `/backups?database=${q}`).catch((e) => e) : [],
      api('GET', `/tasks?database=${q}`).catch(() => []),
    ]);
    if (b instanceof Error) backupsError.textContent = errorText(b);
    else {
      backupsError.textContent = '';
      update(backups, { b, persistent: caps.persistence }, renderBackups);
    }
    update(tasks, t.slice(0, 10), (list) => renderTasks(list, { database: false }));
  }

  async function refreshUsage() {
    const data = await optional(`${path}/usage?range=${range}`).catch((e) => ({ error: errorText(e) }));
    update(charts, { data, range }, () => renderUsage(data, range));
  }

  async function refreshEvents() {
    const data = await optional(`/events?limit=50&database=${q}`).catch((e) => ({ error: errorText(e) }));
    update(events, data, () => renderEvents(data, { database: false }));
    const page = await api('GET', `${path}/logs?tail=100`).catch((e) => ({ error: errorText(e) }));
    update(log, page, () => (page.error ? page.error : (page.lines || []).map((l) => l.text).join('\n')));
  }

  async function onResize(event) {
    event.preventDefault();
    msg.clear();
    const mb = parseMemory(resizeInput.value);
    if (mb === null) {
      msg.error.textContent = `memory: "${resizeInput.value}" is not a size (${MEMORY_HINT})`;
      return;
    }
    try {
      msg.ok(`Resizing ${ref} to ${fmtMiB(mb)}…`);
      const { status, data: after } = await busy(resizeButton, 'Resizing…',
        () => api('PATCH', path, { memory_mb: mb }, { full: true }));
      // 200: every instance runs with the new limit; 202: accepted, still being applied.
      msg.ok(status === 200 ? `Memory is now ${fmtMiB(after.memory_mb)}.`
        : `Memory set to ${fmtMiB(after.memory_mb)}; the instances are still applying it.`);
      refresh();
    } catch (e) {
      msg.fail(e);
    }
  }

  async function onReplicas(event) {
    event.preventDefault();
    msg.clear();
    const n = Number(replicasInput.value);
    try {
      msg.ok(`Setting ${ref} to ${n} replica${n === 1 ? '' : 's'}…`);
      const { status, data: after } = await busy(replicasButton, 'Applying…',
        () => api('PATCH', path, { replicas: n }, { full: true }));
      msg.ok(status === 200 ? `Replicas: now ${after.replicas}, all in sync.`
        : `Replicas set to ${after.replicas}; new replicas are still catching up.`);
      refresh();
    } catch (e) {
      msg.fail(e);
    }
  }

  async function onSwitchover() {
    msg.clear();
    try {
      msg.ok('Switching over…');
      const after = await busy(switchoverButton, 'Switching over…', () => api('POST', `${path}/switchover`, {}));
      const primary = after.instances.find((i) => i.role === 'primary');
      msg.ok(primary ? `Switched over: the primary is now instance ${primary.n} on ${primary.host}.` : 'Switched over.');
      refresh();
    } catch (e) {
      msg.fail(e);
    }
  }

  async function onBackup() {
    msg.clear();
    try {
      const task = await busy(backupButton, 'Starting…', () => api('POST', `${path}/backups`, {}));
      msg.ok(`Backup started (task ${task.id}); its progress is under Tasks below.`);
      refresh();
    } catch (e) {
      msg.fail(e);
    }
  }

  async function onRestore(backup) {
    msg.clear();
    const yes = await confirmDialog({
      title: `Restore ${ref}?`,
      text: `The data of ${ref} is replaced by backup ${backup.id} of ${fmtTime(backup.created_at)}. Writes made since then are lost.`,
      confirm: 'Restore',
    });
    if (!yes) return;
    try {
      const task = await api('POST', `${path}/restore`, { backup: backup.id });
      msg.ok(`Restore started (task ${task.id}); its progress is under Tasks below.`);
      refresh();
    } catch (e) {
      msg.fail(e);
    }
  }

  async function onDelete() {
    msg.clear();
    const yes = await confirmDialog({
      title: `Delete ${ref}?`,
      text: `Its containers, data volumes and address go. Backups stay in the catalog. This cannot be undone.`,
      confirm: 'Delete',
      typed: ref,
    });
    if (!yes) return;
    try {
      msg.ok(`Deleting ${ref}…`);
      await busy(deleteButton, 'Deleting…', () => api('DELETE', path));
      flash = `Deleted ${ref}.`;
      location.hash = '#/databases';
    } catch (e) {
      msg.fail(e);
    }
  }

  function renderBackups({ b, persistent }) {
    if (!persistent) return h('p', { class: 'empty' }, `${db.engine} keeps no data to back up.`);
    if (!b.length) return h('p', { class: 'empty' }, 'No backups yet.');
    return table(['Taken', 'ID', 'Size', 'Data', 'Verified', 'Made by', 'From', ''], b.map((x) =>
      h('tr', { 'data-backup': x.id },
        h('td', {}, timeCell(x.created_at)),
        h('td', { class: 'mono' }, x.id),
        h('td', { class: 'num' }, fmtBytes(x.size_bytes)),
        h('td', {}, fmtBytes(x.memory_used_bytes)),
        h('td', { title: x.verify_message || null }, badge(x.verified)),
        h('td', {}, x.scheduled ? 'schedule' : 'hand'),
        h('td', {}, x.source_role ? `${x.source_role} (instance ${x.source_instance})` : '–'),
        h('td', {}, h('button', {
          type: 'button', class: 'secondary small', 'data-key': `restore:${x.id}`,
          'aria-label': `Restore backup ${x.id}`, onclick: () => onRestore(x),
        }, 'Restore…')))), { label: 'Backups' });
  }

  page.poll(refresh, POLL_MS);
  page.poll(refreshUsage, USAGE_POLL_MS);
  page.poll(refreshEvents, EVENTS_POLL_MS);
}

function renderFacts(db) {
  const fact = (label, value) => h('div', {}, h('dt', {}, label), h('dd', {}, value));
  return h('dl', { class: 'facts' },
    fact('Engine', `${db.engine} ${db.version || ''}`),
    fact('State', badge(db.state)),
    fact('Memory', h('span', { id: 'db-memory' }, fmtMiB(db.memory_mb))),
    fact('Replicas', String(db.replicas)),
    fact('Address', h('span', { class: 'mono' }, db.address ? `${db.address}:${db.port}` : '–')),
    fact('User', db.user || (db.auth ? '(password only)' : 'none: open')),
    fact('Durable', db.durable ? 'yes' : 'no (a cache)'),
    fact('Epoch', String(db.epoch)),
    fact('Created', timeCell(db.created_at)),
    fact('Backup schedule', db.backup_schedule
      ? `${db.backup_schedule} UTC, keep ${db.backup_keep}${db.backup_next ? `, next ${fmtTime(db.backup_next)}` : ''}`
      : 'none'),
    fact('ID', h('span', { class: 'mono' }, db.id)));
}

function renderInstances(list) {
  if (!list || !list.length) return h('p', { class: 'empty' }, 'No instances placed yet.');
  const withMessage = list.some((i) => i.message);
  const headers = ['#', 'Role', 'Host', 'Address', 'State', 'Memory', 'Connections', 'Operations', 'Replication'];
  if (withMessage) headers.push('Message');
  return table(headers,
    list.map((i) => h('tr', { 'data-instance': i.n },
      h('td', { class: 'num' }, i.n),
      h('td', {}, i.role),
      h('td', {}, i.host),
      h('td', { class: 'mono' }, `${i.address}:${i.port}`),
      h('td', { class: 'state' }, badge(i.state)),
      h('td', {}, bar(i.memory_used_bytes, i.memory_limit_bytes,
        `${fmtBytes(i.memory_used_bytes)} / ${fmtBytes(i.memory_limit_bytes)}`)),
      h('td', { class: 'num' }, i.connections ?? '–'),
      h('td', { class: 'num' }, i.operations ?? '–'),
      h('td', {}, i.role === 'replica' ? (i.link_up ? 'link up' : 'link down') : '–'),
      withMessage ? h('td', { class: 'wrap' }, i.message || '') : null)), { label: 'Instances' });
}

// --- Usage charts (inline SVG) --------------------------------------------------------------

const RANGE_SECONDS = { '1h': 3600, '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400 };

function renderUsage(data, range) {
  if (data && data.error) return h('p', { class: 'error', role: 'alert' }, data.error);
  const points = (data && Array.isArray(data.points) ? data.points : [])
    .map((p) => ({ ...p, t: new Date(p.time).getTime() }))
    .filter((p) => !isNaN(p.t))
    .sort((a, b) => a.t - b.t);
  if (!points.length) return h('p', { class: 'empty' }, 'No usage data yet.');
  const step = (data.step_seconds || 15) * 1000;
  const end = Math.max(Date.now(), points[points.length - 1].t);
  const start = end - RANGE_SECONDS[range] * 1000;
  const shown = points.filter((p) => p.t >= start);
  const common = { points: shown, start, end, step };
  return h('div', { class: 'charts' },
    lineChart({ ...common, title: 'Memory', format: fmtBytes, kind: 'bytes',
      series: [{ key: 'memory_used_bytes', label: 'used' }, { key: 'memory_limit_bytes', label: 'limit' }] }),
    lineChart({ ...common, title: 'Operations per second', format: fmtNumber, kind: 'rate',
      series: [{ key: 'ops_per_sec', label: 'ops/s' }] }),
    lineChart({ ...common, title: 'Connections', format: fmtNumber, kind: 'count',
      series: [{ key: 'connections', label: 'connections' }] }),
    lineChart({ ...common, title: 'Keys', format: fmtNumber, kind: 'count',
      series: [{ key: 'keys', label: 'keys' }] }));
}

// A tick step near raw that reads well: 1, 2, 2.5 or 5 times a power of ten (of a binary unit
// for bytes: 40 MiB, not 41.9 MB); whole numbers for counts.
function niceStep(raw, kind) {
  if (!(raw > 0)) return 1;
  let unit = 1;
  if (kind === 'bytes') while (raw / unit >= 1024) unit *= 1024;
  const v = raw / unit;
  const power = Math.pow(10, Math.floor(Math.log10(v)));
  let step = 10 * power;
  for (const m of [1, 2, 2.5, 5]) if (m * power >= v) { step = m * power; break; }
  if (kind !== 'rate') step = Math.max(1, Math.ceil(step));
  return step * unit;
}

function lineChart({ title, points, series, format, kind, start, end, step }) {
  const W = 560, H = 200, L = 70, R = 12, T = 10, B = 26;
  const values = points.flatMap((p) => series.map((sr) => p[sr.key])).filter((v) => typeof v === 'number');
  const top = 4 * niceStep(Math.max(0, ...values) * 1.05 / 4, kind);
  const x = (t) => L + ((t - start) / (end - start)) * (W - L - R);
  const y = (v) => T + (1 - v / top) * (H - T - B);
  const parts = [s('title', {}, title)];
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    parts.push(s('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    parts.push(s('text', { class: 'axis-label', x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  const long = end - start > 86400 * 1000;
  for (let i = 0; i <= 4; i++) {
    const t = start + ((end - start) * i) / 4;
    const d = new Date(t);
    const label = long ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}h`
      : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    parts.push(s('text', { class: 'axis-label', x: x(t), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, label));
  }
  series.forEach((sr, index) => {
    // A line per run of points; a gap of more than three steps breaks it.
    const runs = [];
    let run = [];
    let last = null;
    for (const p of points) {
      const v = p[sr.key];
      if (typeof v !== 'number' || (last !== null && p.t - last > 3 * step)) {
        if (run.length) runs.push(run);
        run = [];
      }
      if (typeof v === 'number') run.push([x(p.t), y(v)]);
      last = p.t;
    }
    if (run.length) runs.push(run);
    for (const r of runs) {
      const line = r.map(([px, py], j) => `${j ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
      if (index === 0 && r.length > 1)
        parts.push(s('path', { class: 'area-0', d: `${line} L${r[r.length - 1][0].toFixed(1)},${y(0)} L${r[0][0].toFixed(1)},${y(0)} Z` }));
      parts.push(s('path', { class: `series-${index}`, d: r.length > 1 ? line : `${line} l0.1,0` }));
    }
  });
  const latest = points[points.length - 1] || {};
  const summary = series.map((sr) => `${sr.label} ${format(latest[sr.key])}`).join(', ');
  return h('figure', { class: 'chart' },
    h('figcaption', {}, title),
    s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}, latest: ${summary}` }, parts),
    h('div', { class: 'legend' }, series.map((sr, i) =>
      h('span', { class: `swatch-${i}` }, `${sr.label}: ${format(latest[sr.key])}`))));
}

// --- Tasks ----------------------------------------------------------------------------------

const openLogs = new Set();  // task ids whose log the user opened: kept open across polls

function renderTasks(list, options = {}) {
  if (!list.length) return h('p', { class: 'empty' }, 'No tasks yet.');
  const withDatabase = options.database !== false;
  const headers = ['Created', 'Task', 'Kind'];
  if (withDatabase) headers.push('Database');
  headers.push('State', 'Progress', 'Worker', 'Attempts', 'Details', '');
  return table(headers, list.map((t) => {
    const finished = ['done', 'failed', 'cancelled'].includes(t.state);
    const log = h('details', { open: openLogs.has(t.id), 'data-key': `log:${t.id}` },
      // The last log line without its timestamp (the full log, with times, opens below).
      h('summary', {}, t.error || (t.log && t.log.length ? t.log[t.log.length - 1].replace(/^\S+Z\s+/, '') : 'log')),
      h('pre', {}, (t.log || []).join('\n')));
    log.addEventListener('toggle', () => (log.open ? openLogs.add(t.id) : openLogs.delete(t.id)));
    return h('tr', { 'data-task': t.id },
      h('td', {}, timeCell(t.created_at)),
      h('td', { class: 'mono' }, t.id),
      h('td', {}, t.kind + (t.verify ? ' (verify)' : '') + (t.scheduled ? ' (scheduled)' : '')),
      withDatabase ? h('td', {}, databaseLink(t.database_name)) : null,
      h('td', { class: 'state' }, badge(t.state, 'task')),
      h('td', {}, bar(t.progress, 100, `${t.progress}%`,
        t.state === 'done' ? 'done' : t.state === 'failed' ? 'failed' : 'plain')),
      h('td', {}, t.worker || '–'),
      h('td', { class: 'num' }, t.attempts),
      h('td', { class: 'wrap' }, log),
      h('td', {}, finished || t.cancel_requested ? (t.cancel_requested && !finished ? 'cancelling' : '') :
        h('button', {
          type: 'button', class: 'secondary small', 'data-key': `cancel:${t.id}`,
          'aria-label': `Cancel task ${t.id}`, onclick: (e) => cancelTask(e.currentTarget, t.id),
        }, 'Cancel')));
  }), { label: 'Tasks' });
}

async function cancelTask(button, id) {
  try {
    await busy(button, 'Cancelling…', () => api('POST', `/tasks/${encodeURIComponent(id)}/cancel`, {}));
  } catch (e) {
    const row = button.closest('tr');
    const cell = row && row.lastElementChild;
    if (cell) cell.append(h('p', { class: 'error', role: 'alert' }, errorText(e)));
  }
}

function tasksPage(main, params, page) {
  const list = h('div', { id: 'task-list' }, h('p', { class: 'empty' }, 'Loading…'));
  const error = h('p', { class: 'error', role: 'alert' });
  fill(main, h('h1', { tabindex: -1 }, 'Tasks'),
    h('section', { class: 'panel', 'aria-label': 'Tasks' },
      h('p', { class: 'status' }, 'Backups and restores, newest first.'), list, error));
  page.poll(async () => {
    try {
      const tasks = await api('GET', '/tasks');
      error.textContent = '';
      update(list, tasks, renderTasks);
    } catch (e) {
      error.textContent = errorText(e);
    }
  }, POLL_MS);
}

// --- Hosts ----------------------------------------------------------------------------------

function hostsPage(main, params, page) {
  const list = h('div', { id: 'host-list' }, h('p', { class: 'empty' }, 'Loading…'));
  const msg = messages('host');
  const working = new Set();  // "drain:h1" while that call runs

  fill(main, h('h1', { tabindex: -1 }, 'Hosts'),
    h('section', { class: 'panel', 'aria-label': 'Hosts' }, list, msg.nodes));

  let hosts = [];
  const draw = () => update(list, { hosts, working: [...working], minute: Math.floor(Date.now() / 60000) }, render);

  function render() {
    if (!hosts.length) return h('p', { class: 'empty' }, 'No Docker hosts yet: start a berth agent.');
    return table(['Name', 'State', 'Address', 'CPUs', 'Memory allocated', 'Free', 'Instances', 'Labels', 'Started', ''],
      hosts.map((x) => {
        const key = `${x.draining ? 'undrain' : 'drain'}:${x.name}`;
        const running = working.has(key);
        return h('tr', { 'data-host': x.name },
          h('td', {}, x.name),
          h('td', { class: 'state' }, badge(x.state)),
          h('td', { class: 'mono' }, x.address || '–'),
          h('td', { class: 'num' }, x.cpus || '–'),
          h('td', {}, bar(x.allocated_mb, x.memory_mb, `${fmtMiB(x.allocated_mb)} of ${fmtMiB(x.memory_mb)}`)),
          h('td', {}, fmtMiB(x.free_mb)),
          h('td', { class: 'num' }, x.instances),
          h('td', {}, Object.entries(x.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ') || '–'),
          h('td', { title: fmtTime(x.started_at) }, x.started_at ? fmtAge(x.started_at) : '–'),
          h('td', {}, h('button', {
            type: 'button', class: x.draining ? 'secondary small' : 'quiet small', 'data-key': key,
            disabled: running, onclick: () => (x.draining ? undrain(x.name) : drain(x.name)),
          }, running ? (x.draining ? 'Undraining…' : 'Draining…') : (x.draining ? 'Undrain' : 'Drain'))));
      }), { label: 'Hosts' });
  }

  async function drain(name) {
    msg.clear();
    const yes = await confirmDialog({
      title: `Drain ${name}?`,
      text: `Its instances move to other hosts and it takes no new ones until it is undrained.`,
      confirm: 'Drain',
    });
    if (yes) await act('drain', name, `Draining ${name}: moving its instances away…`, `${name} is drained.`);
  }

  async function undrain(name) {
    msg.clear();
    await act('undrain', name, `Undraining ${name}…`, `${name} takes instances again.`);
  }

  async function act(action, name, during, after) {
    const key = `${action}:${name}`;
    working.add(key);
    msg.ok(during);
    draw();
    try {
      await api('POST', `/hosts/${encodeURIComponent(name)}/${action}`, {});
      msg.ok(after);
    } catch (e) {
      msg.fail(e);
    } finally {
      working.delete(key);
      await refresh();
    }
  }

  async function refresh() {
    try {
      hosts = await api('GET', '/hosts');
      draw();
    } catch (e) {
      msg.fail(e);
    }
  }
  page.poll(refresh, POLL_MS);
}

// --- Network --------------------------------------------------------------------------------

function networkPage(main) {
  const subnet = h('input', { class: 'mono', autocomplete: 'off', spellcheck: 'false', required: true });
  const gateway = h('input', { class: 'mono', autocomplete: 'off', spellcheck: 'false', required: true });
  const exclude = h('textarea', { class: 'mono', spellcheck: 'false' });
  const driver = h('input', { class: 'mono', autocomplete: 'off', spellcheck: 'false' });
  const dockerNetwork = h('input', { class: 'mono', autocomplete: 'off', spellcheck: 'false' });
  const save = h('button', { type: 'submit' }, 'Save');
  const reload = h('button', { type: 'button', class: 'secondary', onclick: load }, 'Reload');
  const status = h('p', { class: 'status', role: 'status' });
  const msg = messages('network');

  fill(main, h('h1', { tabindex: -1 }, 'Network'),
    h('section', { class: 'panel', 'aria-labelledby': 'net-title' },
      h('h2', { id: 'net-title' }, 'Address pool'),
      h('p', { class: 'status' }, 'Every instance and every database with replicas gets an address from this pool; it keeps it wherever it moves.'),
      h('form', { class: 'stack', id: 'network-form', onsubmit: onSave },
        field('net-subnet', 'Subnet', subnet, 'CIDR, e.g. 10.77.0.0/16'),
        field('net-gateway', 'Gateway', gateway, 'never handed out'),
        field('net-exclude', 'Excluded ranges', exclude, 'one per line: A.B.C.D or A.B.C.D-E.F.G.H'),
        field('net-driver', 'Driver', driver, 'bridge, or macvlan:IF'),
        field('net-docker-network', 'Docker network', dockerNetwork, 'its name on every host'),
        h('div', { class: 'field' }, h('div', { class: 'buttons' }, save, reload))),
      status, msg.nodes));

  async function load() {
    msg.clear();
    try {
      const net = await optional('/network');
      status.textContent = net ? '' : 'No network is configured yet: set one here.';
      const n = net || {};
      subnet.value = n.subnet || '';
      gateway.value = n.gateway || '';
      exclude.value = (n.exclude || []).join('\n');
      driver.value = n.driver || 'bridge';
      dockerNetwork.value = n.docker_network || 'berth';
    } catch (e) {
      msg.fail(e);
    }
  }

  async function onSave(event) {
    event.preventDefault();
    msg.clear();
    const body = {
      subnet: subnet.value.trim(),
      gateway: gateway.value.trim(),
      exclude: exclude.value.split(/[\n,]+/).map((x) => x.trim()).filter(Boolean),
      driver: driver.value.trim(),
      docker_network: dockerNetwork.value.trim(),
    };
    try {
      await busy(save, 'Saving…', () => api('PUT', '/network', body));
      status.textContent = '';
      msg.ok('Saved.');
    } catch (e) {
      msg.fail(e);
    }
  }

  load();
}

// --- Events ---------------------------------------------------------------------------------

function renderEvents(data, options = {}) {
  if (data && data.error) return h('p', { class: 'error', role: 'alert' }, data.error);
  const list = data && Array.isArray(data.events) ? [...data.events].reverse() : [];
  if (!list.length) return h('p', { class: 'empty' }, 'No events yet.');
  const withDatabase = options.database !== false;
  const headers = ['Time', 'Kind'];
  if (withDatabase) headers.push('Database');
  headers.push('Host', 'Instance', 'Message');
  return table(headers, list.map((e) => h('tr', { 'data-event': e.id },
    h('td', {}, timeCell(e.time)),
    h('td', { class: 'mono' }, e.kind),
    withDatabase ? h('td', {}, e.name ? databaseLink(e.name) : (e.database || '–')) : null,
    h('td', {}, e.host || '–'),
    h('td', { class: 'num' }, e.instance ?? '–'),
    h('td', { class: 'wrap' }, e.message || ''))), { label: 'Events' });
}

function eventsPage(main, params, page) {
  const filter = h('input', { autocomplete: 'off', spellcheck: 'false', placeholder: 'all databases' });
  const list = h('div', { id: 'event-list' }, h('p', { class: 'empty' }, 'Loading…'));
  let database = '';
  fill(main, h('h1', { tabindex: -1 }, 'Events'),
    h('section', { class: 'panel', 'aria-label': 'Events' },
      h('form', {
        class: 'row', onsubmit: (e) => {
          e.preventDefault();
          database = filter.value.trim();
          refresh();
        },
      }, field('events-database', 'Database', filter, 'empty: every database'),
      h('div', { class: 'field' }, h('button', { type: 'submit' }, 'Show'))),
      h('p', { class: 'status' }, 'The last 200 events, newest first.'),
      list));
  async function refresh() {
    const query = `/events?limit=200${database ? `&database=${encodeURIComponent(database)}` : ''}`;
    const data = await optional(query).catch((e) => ({ error: errorText(e) }));
    update(list, data, () => renderEvents(data));
  }
  page.poll(refresh, EVENTS_POLL_MS);
}

// --- Projects (operators) -------------------------------------------------------------------

function projectsPage(main, params, page) {
  const name = h('input', { autocomplete: 'off', spellcheck: 'false', required: true, pattern: '[a-z][a-z0-9-]{0,62}' });
  const memory = h('input', { type: 'number', min: 0, value: 0 });
  const databases = h('input', { type: 'number', min: 0, value: 0 });
  const create = h('button', { type: 'submit' }, 'Create project');
  const list = h('div', { id: 'project-list' }, h('p', { class: 'empty' }, 'Loading…'));
  const msg = messages('project');
  fill(main, h('h1', { tabindex: -1 }, 'Projects'),
    h('section', { class: 'panel', 'aria-label': 'Projects' }, list),
    h('section', { class: 'panel', 'aria-labelledby': 'project-new' },
      h('h2', { id: 'project-new' }, 'New project'),
      h('form', { class: 'row', id: 'project-form', onsubmit: onCreate },
        field('project-name', 'Name', name, 'lower-case letters, digits, dashes'),
        field('project-memory', 'Memory quota (MiB)', memory, '0: none'),
        field('project-databases', 'Database quota', databases, '0: none'),
        h('div', { class: 'field' }, create)),
      msg.nodes));
  async function onCreate(event) {
    event.preventDefault();
    const body = { name: name.value.trim(), memory_quota_mb: Number(memory.value), database_quota: Number(databases.value) };
    try {
      await busy(create, 'Creating…', () => api('POST', '/projects', body));
      msg.ok(`Project ${body.name} created.`);
      name.value = '';
      me = null;  // the header's selector lists it
      await showWho();
      await refresh();
    } catch (e) {
      msg.fail(e);
    }
  }
  async function refresh() {
    const data = await api('GET', '/projects').catch((e) => ({ error: errorText(e) }));
    update(list, data, () => (data.error ? h('p', { class: 'error', role: 'alert' }, data.error)
      : table(['Project', 'Databases', 'Database quota', 'Memory', 'Memory quota'], data.map((p) => h('tr', { 'data-project': p.name },
        h('td', {}, p.name), h('td', { class: 'num' }, p.databases), h('td', { class: 'num' }, p.database_quota || '–'),
        h('td', {}, fmtMiB(p.memory_mb)), h('td', {}, p.memory_quota_mb ? fmtMiB(p.memory_quota_mb) : '–'))), { label: 'Projects' })));
  }
  page.poll(refresh, POLL_MS);
}

// --- Tokens (a project's admins, operators) --------------------------------------------------

function tokensPage(main, params, page) {
  const roles = me && me.role === 'operator' ? ['viewer', 'member', 'admin', 'operator', 'metrics'] : ['viewer', 'member', 'admin'];
  const role = h('select', {}, ...roles.map((r) => h('option', { value: r }, r)));
  const project = h('input', { autocomplete: 'off', spellcheck: 'false', value: (me && me.project) || sessionStorage.getItem(PROJECT_KEY) || '', readonly: !!(me && me.project) });
  const name = h('input', { autocomplete: 'off', spellcheck: 'false' });
  const ttl = h('input', { autocomplete: 'off', spellcheck: 'false', placeholder: 'never' });
  const create = h('button', { type: 'submit' }, 'Create token');
  const list = h('div', { id: 'token-list' }, h('p', { class: 'empty' }, 'Loading…'));
  const msg = messages('token');
  fill(main, h('h1', { tabindex: -1 }, 'Tokens'),
    h('section', { class: 'panel', 'aria-label': 'Tokens' }, list),
    h('section', { class: 'panel', 'aria-labelledby': 'token-new' },
      h('h2', { id: 'token-new' }, 'New token'),
      h('form', { class: 'row', id: 'token-form', onsubmit: onCreate },
        field('token-role', 'Role', role),
        field('token-project', 'Project', project, 'none for operator and metrics tokens'),
        field('token-name', 'Name', name, 'what it is for'),
        field('token-ttl', 'Expires after', ttl, 'e.g. 30d, 12h; empty: never'),
        h('div', { class: 'field' }, create)),
      msg.nodes));
  async function onCreate(event) {
    event.preventDefault();
    const body = { role: role.value };
    if (project.value.trim() && ['viewer', 'member', 'admin'].includes(role.value)) body.project = project.value.trim();
    if (name.value.trim()) body.name = name.value.trim();
    if (ttl.value.trim()) body.ttl = ttl.value.trim();
    try {
      const t = await busy(create, 'Creating…', () => api('POST', '/tokens', body));
      msg.ok(h('p', {}, `Token ${t.id} created. Its secret is shown this once:`),
        h('p', { class: 'mono secret', id: 'token-secret' }, t.secret));
      await refresh();
    } catch (e) {
      msg.fail(e);
    }
  }
  async function revoke(id) {
    const yes = await confirmDialog({ title: `Revoke ${id}?`, text: 'Calls made with it are refused at once.', confirm: 'Revoke' });
    if (!yes) return;
    try {
      await api('DELETE', `/tokens/${encodeURIComponent(id)}`);
      msg.ok(`${id} revoked.`);
      await refresh();
    } catch (e) {
      msg.fail(e);
    }
  }
  async function refresh() {
    const data = await api('GET', '/tokens').catch((e) => ({ error: errorText(e) }));
    update(list, data, () => (data.error ? h('p', { class: 'error', role: 'alert' }, data.error)
      : table(['Token', 'Project', 'Role', 'Name', 'Expires', ''], data.map((t) => h('tr', { 'data-token': t.id },
        h('td', { class: 'mono' }, t.id), h('td', {}, t.project || '–'), h('td', {}, t.role), h('td', {}, t.name || '–'),
        h('td', {}, t.expires_at ? fmtTime(t.expires_at) : 'never'),
        h('td', {}, h('button', { type: 'button', class: 'quiet small', onclick: () => revoke(t.id) }, 'Revoke')))), { label: 'Tokens' })));
  }
  page.poll(refresh, POLL_MS);
}

// ---------------------------------------------------------------------------------------------
// Signing in and out, and the router

let current = null;  // the Page shown now

function leavePage() {
  if (current) current.stop();
  current = null;
  const dialog = document.getElementById('confirm');
  if (dialog.open) dialog.close('cancel');
}

function signOut(message) {
  clearToken();
  showSignIn(message);
}

function showSignIn(message) {
  // Several calls of a page may answer 401 at once: the form is drawn once, with the message.
  const shownError = document.getElementById('sign-in-error');
  if (shownError && !current) {
    shownError.textContent = message || '';
    return;
  }
  leavePage();
  document.getElementById('top').hidden = true;
  const token = h('input', { type: 'password', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const remember = h('input', { type: 'checkbox', id: 'remember' });
  const error = h('p', { class: 'error', role: 'alert', id: 'sign-in-error' }, message || '');
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { id: 'sign-in-form', 'aria-labelledby': 'sign-in-title', onsubmit: onSubmit },
    h('h1', { id: 'sign-in-title' }, 'Sign in to berth'),
    field('token', 'Token', token,
      'Any API token: yours from berth token create, or the one berth up printed (admin.token in its state folder).'),
    h('label', { class: 'checkbox', for: 'remember' }, remember, 'Keep me signed in on this computer'),
    h('div', { class: 'buttons' }, submit),
    error);
  fill(document.getElementById('main'), h('div', { class: 'sign-in' }, h('section', { class: 'panel' }, form)));
  token.focus();

  async function onSubmit(event) {
    event.preventDefault();
    error.textContent = '';
    const value = token.value.trim();
    try {
      me = await busy(submit, 'Signing in…', () => api('GET', '/whoami', undefined, { token: value, keepSignedIn: true }));
    } catch (e) {
      error.textContent = errorText(e);
      token.focus();
      return;
    }
    setToken(value, remember.checked);
    route();
  }
}

const ROUTES = {
  databases: databasesPage,
  database: databasePage,
  hosts: hostsPage,
  tasks: tasksPage,
  network: networkPage,
  events: eventsPage,
  projects: projectsPage,
  tokens: tokensPage,
};

// What the header offers this token: its pages, who it is, an operator's project selector.
async function showWho() {
  if (!me) me = await api('GET', '/whoami');
  for (const el of document.querySelectorAll('[data-needs]')) el.hidden = !may(el.dataset.needs);
  document.getElementById('who').textContent =
    `${me.name || me.id} · ${me.role}${me.project ? ` · ${me.project}` : ''}`;
  const select = document.getElementById('project-select');
  if (!may('operator')) return;
  const projects = await api('GET', '/projects');
  const chosen = sessionStorage.getItem(PROJECT_KEY) || '';
  select.replaceChildren(h('option', { value: '' }, 'All projects'),
    ...projects.map((p) => h('option', { value: p.name }, p.name)));
  select.value = chosen;
  select.onchange = () => {
    if (select.value) sessionStorage.setItem(PROJECT_KEY, select.value);
    else sessionStorage.removeItem(PROJECT_KEY);
    route();
  };
}

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'databases' && parts.length > 1) return ['database', parts.slice(1)];
  if (parts.length && ROUTES[parts[0]]) return [parts[0], parts.slice(1)];
  return [null, []];
}

async function route() {
  if (!getToken()) {
    showSignIn('');
    return;
  }
  try {
    await showWho();
  } catch (e) {
    if (!getToken()) return;  // a 401 signed out and shows the form
    console.error(e);
  }
  let [name, params] = parseHash();
  if (!name) {
    history.replaceState(null, '', location.pathname + location.search + '#/databases');
    [name, params] = ['databases', []];
  }
  const firstPage = current === null && document.getElementById('top').hidden;
  leavePage();
  document.getElementById('top').hidden = false;
  const section = name === 'database' ? 'databases' : name;
  for (const a of document.querySelectorAll('.top nav a'))
    if (a.dataset.page === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  const main = document.getElementById('main');
  current = new Page();
  ROUTES[name](main, params, current);
  document.title = `${name === 'database' ? params[0] : section[0].toUpperCase() + section.slice(1)} · berth`;
  // After a click on a link, the page's heading takes the focus (a screen reader reads it).
  if (!firstPage) {
    const heading = main.querySelector('h1');
    if (heading) heading.focus({ preventScroll: false });
  }
}

function start() {
  // /ui/?token=T signs in at once, and the token leaves the address bar and the history.
  const query = new URLSearchParams(location.search);
  if (query.has('token')) {
    setToken(query.get('token'), false);
    query.delete('token');
    const rest = query.toString();
    history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
  }
  document.getElementById('sign-out').addEventListener('click', () => signOut(''));
  window.addEventListener('hashchange', route);
  route();
}

start();
