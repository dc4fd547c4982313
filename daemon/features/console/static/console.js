// The Bootgate console page: plain DOM code, no framework, nothing loaded from elsewhere.
// Every text goes in through textContent, never as HTML.
'use strict';

const API = 'api';
let session = null;
let profiles = [];
let stream = null;
const machines = new Map();
const pageTimers = [];

const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    // Through the CSSOM: the page's CSP refuses style attributes.
    else if (k === 'style') Object.assign(el.style, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.problems = (body && body.problems) || [];
    this.body = body;
  }
}

async function api(method, path, body, type) {
  const headers = {};
  if (method !== 'GET' && session) headers['x-csrf-token'] = session.csrf;
  let payload;
  if (body !== undefined) {
    headers['content-type'] = type || 'application/json';
    payload = type ? body : JSON.stringify(body);
  }
  const res = await fetch(`${API}/${path}`, { method, headers, body: payload, credentials: 'same-origin' });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (res.status === 401 && path !== 'session') { showSignIn('Your session ended: sign in again.'); }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

const fmtTime = (t) => (t ? new Date(t).toLocaleTimeString() : '');
const fmtDate = (t) => (t ? new Date(t).toLocaleString() : '');
function fmtBytes(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  const u = ['kB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

// ---- sign-in and navigation

function showSignIn(message) {
  session = null;
  if (stream) { stream.close(); stream = null; }
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.id !== 'page-signin';
  $('nav').hidden = true;
  $('who').hidden = true;
  $('signin-error').textContent = message || '';
  $('token').focus();
}

async function signedIn(s) {
  session = s;
  // A read-only session gets no change controls at all (the server refuses changes anyway).
  if (s.readOnly) { document.body.classList.add('read-only'); for (const el of document.querySelectorAll('.rw')) el.remove(); }
  $('actor').textContent = `${s.actor}${s.readOnly ? ' (read-only)' : ''}`;
  $('nav').hidden = false;
  $('who').hidden = false;
  profiles = (await api('GET', 'profiles')).profiles;
  for (const sel of ['f-profile', 'bulk-profile', 'import-profile', 'e-profile']) {
    const el = $(sel);
    if (!el) continue;
    for (const p of profiles) el.append(h('option', { value: p.name }, p.name));
  }
  openStream();
  route();
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('signin-error').textContent = '';
  try {
    const s = await api('POST', 'session', { token: $('token').value });
    $('token').value = '';
    // The session cookie is Secure: a browser keeps it only over HTTPS (or from this machine itself).
    const kept = await fetch(`${API}/session`, { credentials: 'same-origin' });
    if (kept.status === 401) {
      $('signin-error').textContent = 'Signed in, but the browser did not keep the session cookie: open the console over HTTPS, on the admin listener (admin.port).';
      return;
    }
    await signedIn(s);
  } catch (err) {
    $('signin-error').textContent = err.message;
  }
});

$('sign-out').addEventListener('click', async () => {
  try { await api('DELETE', 'session'); } finally { location.hash = ''; location.reload(); }
});

function route() {
  if (!session) return;
  const page = (location.hash || '#boots').slice(1);
  const known = ['boots', 'pending', 'computers', 'import', 'rollouts', 'appliances', 'audit', 'settings'];
  const current = known.includes(page) && $(`page-${page}`) ? page : 'boots';
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.id !== `page-${current}`;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.page === current) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  while (pageTimers.length) clearInterval(pageTimers.pop());
  if (current === 'boots') renderMachines();
  if (current === 'pending') { void loadPending(); pageTimers.push(setInterval(loadPending, 2000)); }
  if (current === 'computers') void loadComputers();
  if (current === 'audit') void loadAudit();
  if (current === 'rollouts') void loadRollouts();
  if (current === 'appliances') { void loadAppliances(); pageTimers.push(setInterval(loadAppliances, 5000)); }
  if (current === 'settings') void loadSettings();
}
window.addEventListener('hashchange', route);

// ---- Boots now

function describe(e) {
  const door = { dhcp: 'DISCOVER on 67', pxe: 'request on 4011', tftp: 'TFTP', http: 'HTTP', 'ipxe-script': 'iPXE script', api: 'API' }[e.door] || e.door || '';
  switch (e.kind) {
    case 'decision':
      return `${door}: ${e.decision} (${e.reason})${e.profile ? `, profile ${e.profile}` : ''}${e.file ? `, next ${e.file}` : ''}`;
    case 'progress':
      return `${door} ${e.file}: ${fmtBytes(e.bytes)} of ${fmtBytes(e.size)}${e.rate ? `, ${fmtBytes(e.rate)}/s` : ''}`;
    case 'transfer':
      return `${door} ${e.file} sent: ${e.bytes} bytes (${e.detail})${e.rate ? `, ${fmtBytes(e.rate)}/s` : ''}`;
    case 'boot-once':
      return `boot once: ${e.detail || 'consumed'}`;
    default:
      return `${e.kind}: ${e.detail || e.reason || ''}`;
  }
}

function isStuck(m, now) {
  const last = m.events[m.events.length - 1];
  if (!last) return false;
  const inFlight = (last.kind === 'decision' && (last.decision === 'boot' || last.decision === 'password'))
    || last.kind === 'progress' || (last.kind === 'transfer' && last.detail !== 'ok');
  return inFlight && now - last.at > session.stuckSeconds * 1000;
}

function machineMatches(m, now) {
  const subnet = $('f-subnet').value.trim();
  const who = $('f-mac').value.trim().toLowerCase();
  const profile = $('f-profile').value;
  const decision = $('f-decision').value;
  if (subnet && !(m.ip || '').startsWith(subnet)) return false;
  if (who && !m.mac.includes(who) && !(m.computer || '').toLowerCase().includes(who)) return false;
  if (profile && m.profile !== profile) return false;
  if (decision && m.lastDecision !== decision) return false;
  if ($('f-stuck').checked && !isStuck(m, now)) return false;
  return true;
}

function machineCard(m, now) {
  const stuck = isStuck(m, now);
  const progress = [...m.events].reverse().find((e) => e.kind === 'progress');
  return h('article', { class: `machine${stuck ? ' stuck' : ''}`, dataset: { mac: m.mac }, 'aria-label': `machine ${m.mac}` },
    h('h3', {}, h('span', { class: 'mono' }, m.mac), h('span', {}, m.computer || '')),
    h('div', { class: 'state' },
      [m.ip, m.arch, m.profile && `profile ${m.profile}`, m.lastDecision && `${m.lastDecision} (${m.lastReason})`].filter(Boolean).join(' · '),
      stuck ? ` · stuck: nothing for ${Math.round((now - m.lastAt) / 1000)} s` : ''),
    progress && progress.size ? h('progress', { max: progress.size, value: progress.bytes, 'aria-label': `progress of ${progress.file}` }) : null,
    h('ol', { class: 'timeline' }, m.events.map((e) => h('li', {
      dataset: { kind: e.kind, door: e.door || '', decision: e.decision || '', file: e.file || '', bytes: e.bytes ?? '', size: e.size ?? '' },
    }, h('time', { datetime: new Date(e.at).toISOString() }, fmtTime(e.at)), describe(e)))));
}

function renderMachines() {
  const box = $('machines');
  const now = Date.now();
  const list = [...machines.values()].sort((a, b) => b.lastAt - a.lastAt).filter((m) => machineMatches(m, now));
  box.replaceChildren(...list.map((m) => machineCard(m, now)));
  $('boots-empty').hidden = machines.size > 0;
}

function remember(e) {
  if (!e.mac) return;
  let m = machines.get(e.mac);
  if (!m) { m = { mac: e.mac, ip: null, arch: null, profile: null, computer: null, lastDecision: null, lastReason: null, lastAt: e.at, events: [] }; machines.set(e.mac, m); }
  m.ip = e.ip || m.ip; m.arch = e.arch || m.arch; m.profile = e.profile || m.profile; m.computer = e.computer || m.computer; m.lastAt = e.at;
  if (e.kind === 'decision') { m.lastDecision = e.decision; m.lastReason = e.reason; }
  const last = m.events[m.events.length - 1];
  if (e.kind === 'progress' && last && last.kind === 'progress' && last.file === e.file) m.events.pop();
  m.events.push(e);
  // Audit events (approvals, boot-once) are read a moment after they happen: keep the timeline in time order.
  const prev = m.events[m.events.length - 2];
  if (prev && prev.at > e.at) m.events.sort((a, b) => a.at - b.at || a.id - b.id);
  if (m.events.length > 60) m.events.shift();
}

let renderQueued = false;
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  // A timer, not requestAnimationFrame: a page in a background tab still keeps its timeline current.
  setTimeout(() => { renderQueued = false; if (!$('page-boots').hidden) renderMachines(); }, 100);
}

async function openStream() {
  const snap = await api('GET', 'boots');
  machines.clear();
  for (const m of snap.machines) machines.set(m.mac, m);
  // ?after= replays what happened between the snapshot and the stream's start.
  stream = new EventSource(`${API}/boots/stream?after=${snap.lastId}`);
  stream.addEventListener('open', () => { $('stream-state').textContent = 'live'; });
  stream.addEventListener('error', () => { $('stream-state').textContent = 'reconnecting…'; });
  stream.addEventListener('signed-out', () => { stream.close(); showSignIn('Your session ended: sign in again.'); });
  stream.addEventListener('boot', (msg) => {
    const e = JSON.parse(msg.data);
    if (e.id <= snap.lastId) return;
    remember(e);
    queueRender();
    // A new knock is written to the store within a quarter second: look again just after that.
    if (e.kind === 'decision' && e.decision === 'pending' && !$('page-pending').hidden) setTimeout(loadPending, 400);
  });
  // Stuck machines are a matter of time passing, not only of events arriving.
  setInterval(queueRender, 5000);
}
for (const id of ['f-subnet', 'f-mac', 'f-profile', 'f-decision', 'f-stuck']) $(id).addEventListener('input', renderMachines);
$('boots-filters').addEventListener('submit', (ev) => ev.preventDefault());

// ---- Pending

function profileSelect(id) {
  return h('select', { id }, profiles.map((p) => h('option', { value: p.name }, p.name)));
}

async function loadPending() {
  const { devices } = await api('GET', 'pending');
  $('pending-count').textContent = devices.length ? String(devices.length) : '';
  const body = $('pending-table').querySelector('tbody');
  // Keep what an admin is typing: only rows that came or went are rebuilt.
  const keep = new Map([...body.children].map((tr) => [tr.dataset.mac, tr]));
  const rows = devices.map((d) => keep.get(d.mac) || pendingRow(d));
  for (const [i, d] of devices.entries()) {
    const tr = rows[i];
    tr.querySelector('.last-seen').textContent = fmtDate(d.lastSeen);
    tr.querySelector('.tries').textContent = String(d.attempts);
  }
  body.replaceChildren(...rows);
  $('pending-empty').hidden = devices.length > 0;
}

function pendingRow(d) {
  const rw = !session.readOnly;
  const key = d.mac.replace(/:/g, '');
  const err = h('span', { class: 'field-error', role: 'alert' });
  const approve = async () => {
    err.textContent = '';
    const name = $(`name-${key}`).value.trim();
    const kind = $(`kind-${key}`).value;
    try {
      await api('POST', `pending/${encodeURIComponent(d.mac)}/approve`, { ...(name ? { name } : {}), profile: $(`profile-${key}`).value, ...(kind ? { kind } : {}) });
      await loadPending();
    } catch (e) {
      err.textContent = [e.message, ...e.problems.filter((p) => p !== e.message)].join('; ');
    }
  };
  const reject = async () => {
    err.textContent = '';
    try { await api('POST', `pending/${encodeURIComponent(d.mac)}/reject`); await loadPending(); } catch (e) { err.textContent = e.message; }
  };
  return h('tr', { dataset: { mac: d.mac } },
    rw ? h('td', {}, h('input', { type: 'checkbox', class: 'pick', value: d.mac, 'aria-label': `select ${d.mac}` })) : null,
    h('td', { class: 'mono' }, d.mac),
    h('td', { class: 'vendor' }, d.vendor || ''),
    h('td', { class: 'mono' }, d.guidFirmware || ''),
    h('td', {}, d.arch || (d.archCode ?? '')),
    h('td', {}, fmtDate(d.firstSeen)),
    h('td', { class: 'last-seen' }, fmtDate(d.lastSeen)),
    h('td', { class: 'tries' }, String(d.attempts)),
    h('td', {}, d.appliance),
    rw ? h('td', { class: 'approve-as' },
      h('label', { for: `name-${key}` }, 'Name'), h('input', { id: `name-${key}`, placeholder: `pc-${key}`, maxlength: 63 }),
      h('label', { for: `profile-${key}` }, 'Profile'), profileSelect(`profile-${key}`),
      h('label', { for: `kind-${key}` }, 'Kind'),
      h('select', { id: `kind-${key}` }, h('option', { value: '' }, "profile's"), h('option', {}, 'required'), h('option', {}, 'available')),
      err) : null,
    rw ? h('td', {},
      h('button', { type: 'button', class: 'primary', onclick: approve }, 'Approve'), ' ',
      h('button', { type: 'button', onclick: reject }, 'Reject')) : null);
}

async function bulk(action) {
  $('bulk-error').textContent = '';
  const macs = [...document.querySelectorAll('#pending-table .pick:checked')].map((c) => c.value);
  if (macs.length === 0) { $('bulk-error').textContent = 'select machines first'; return; }
  const kind = $('bulk-kind').value;
  try {
    const { results } = await api('POST', 'pending/bulk', { action, macs, ...(action === 'approve' ? { profile: $('bulk-profile').value, ...(kind ? { kind } : {}) } : {}) });
    const failed = results.filter((r) => !r.ok);
    $('bulk-error').textContent = failed.map((r) => `${r.mac}: ${r.error}`).join('; ');
  } catch (e) {
    $('bulk-error').textContent = e.message;
  }
  await loadPending();
}
if ($('bulk-approve')) {
  $('bulk-approve').addEventListener('click', () => bulk('approve'));
  $('bulk-reject').addEventListener('click', () => bulk('reject'));
  $('pending-all').addEventListener('change', (ev) => { for (const c of document.querySelectorAll('#pending-table .pick')) c.checked = ev.target.checked; });
}

// ---- Computers

let cOffset = 0;
const C_PAGE = 50;
async function loadComputers() {
  const q = new URLSearchParams({ q: $('c-q').value, sort: $('c-sort').value, order: $('c-order').value, offset: String(cOffset), limit: String(C_PAGE) });
  $('computers-error').textContent = '';
  try {
    const { total, computers } = await api('GET', `computers?${q}`);
    $('c-range').textContent = total ? `${cOffset + 1}–${Math.min(cOffset + C_PAGE, total)} of ${total}` : 'none';
    $('c-prev').disabled = cOffset === 0;
    $('c-next').disabled = cOffset + C_PAGE >= total;
    $('computers-table').querySelector('tbody').replaceChildren(...computers.map(computerRow));
  } catch (e) {
    $('computers-error').textContent = e.message;
  }
}

function computerRow(c) {
  const act = async (method, path) => {
    try { await api(method, path); await loadComputers(); } catch (e) { $('computers-error').textContent = e.message; }
  };
  return h('tr', { dataset: { name: c.name } },
    h('td', {}, c.name), h('td', { class: 'mono' }, c.macs.join(' ')), h('td', { class: 'vendor' }, c.vendor || ''), h('td', { class: 'mono' }, c.guid || ''),
    h('td', {}, c.profile), h('td', {}, c.effectiveKind || ''), h('td', {}, c.bootOnce.consumedAt ? `consumed ${fmtDate(c.bootOnce.consumedAt)}` : ''),
    session.readOnly ? null : h('td', {},
      h('button', { type: 'button', 'aria-label': `Edit ${c.name}`, onclick: () => openEdit(c) }, 'Edit'), ' ',
      c.bootOnce.consumedAt ? h('button', { type: 'button', onclick: () => act('POST', `computers/${encodeURIComponent(c.name)}/clear`) }, 'Clear required deployment') : null, ' ',
      h('button', { type: 'button', onclick: () => { if (confirm(`Delete ${c.name}?`)) void act('DELETE', `computers/${encodeURIComponent(c.name)}`); } }, 'Delete')));
}

// Edit: the whole computer is sent back (PUT), and each of the server's problems is shown next to its field.
const EDIT_FIELDS = ['name', 'macs', 'guid', 'profile', 'kind', 'notes', 'general'];
let editing = null;
function clearEditErrors() {
  for (const f of EDIT_FIELDS) $(`e-${f}-error`).textContent = '';
}
function openEdit(c) {
  editing = c;
  clearEditErrors();
  $('edit-title').textContent = `Edit computer ${c.name}`;
  $('e-name').value = c.name;
  $('e-macs').value = c.macs.join('\n');
  $('e-guid').value = c.guid || '';
  $('e-profile').value = c.profile;
  $('e-kind').value = c.kind || '';
  $('e-notes').value = c.notes || '';
  $('edit-form').hidden = false;
  $('e-name').focus();
}
function closeEdit() {
  editing = null;
  $('edit-form').hidden = true;
}
if ($('edit-form')) {
  $('edit-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!editing) return;
    clearEditErrors();
    const guid = $('e-guid').value.trim();
    const body = {
      name: $('e-name').value.trim(),
      macs: $('e-macs').value.split(/[\s,;]+/).filter(Boolean),
      guid: guid === '' ? null : guid,
      profile: $('e-profile').value,
      kind: $('e-kind').value || null,
      notes: $('e-notes').value,
      sourceComputer: editing.sourceComputer ?? null,
    };
    try {
      await api('PUT', `computers/${encodeURIComponent(editing.name)}`, body);
      closeEdit();
      await loadComputers();
    } catch (e) {
      const fields = (e.body && e.body.fields) || { general: [e.message] };
      let first = null;
      for (const [f, list] of Object.entries(fields)) {
        const el = $(`e-${f}-error`) || $('e-general-error');
        el.textContent = [el.textContent, ...list].filter(Boolean).join('; ');
        if (!first && f !== 'general') first = $(`e-${f}`);
      }
      if (first) first.focus();
    }
  });
  $('e-cancel').addEventListener('click', closeEdit);
  $('edit-form').addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeEdit(); });
}
let cTimer = 0;
$('c-q').addEventListener('input', () => { clearTimeout(cTimer); cTimer = setTimeout(() => { cOffset = 0; void loadComputers(); }, 200); });
for (const id of ['c-sort', 'c-order']) $(id).addEventListener('change', () => { cOffset = 0; void loadComputers(); });
$('c-prev').addEventListener('click', () => { cOffset = Math.max(0, cOffset - C_PAGE); void loadComputers(); });
$('c-next').addEventListener('click', () => { cOffset += C_PAGE; void loadComputers(); });
$('computers-filters').addEventListener('submit', (ev) => ev.preventDefault());

// ---- Import

async function importCall(path, extra = {}) {
  const file = $('import-file').files[0];
  if (!file) throw new ApiError(400, { message: 'choose a CSV file first' });
  const profile = $('import-profile').value;
  const q = new URLSearchParams({ ...(profile ? { profile } : {}), ...extra }).toString();
  return api('POST', `${path}${q ? `?${q}` : ''}`, await file.text(), 'text/csv');
}
// The lines the last preview found problems on: skipping them is an explicit, separate action.
let importSkipLines = [];
function hideSkip() {
  importSkipLines = [];
  $('import-skip').hidden = true;
}
if ($('import-preview')) {
  $('import-preview').addEventListener('click', async () => {
    $('import-go').disabled = true;
    $('import-problems').replaceChildren();
    try {
      const p = await importCall('import/preview');
      $('import-summary').textContent = p.problems.length
        ? `${p.problems.length} problem${p.problems.length === 1 ? '' : 's'}: fix the file and preview again; nothing is imported while a row has a problem.`
        : `${p.rows} computers ready to import${p.ignoredColumns.length ? ` (columns ignored: ${p.ignoredColumns.join(', ')})` : ''}.`;
      $('import-problems').replaceChildren(...p.problems.map((x) => h('li', {}, x)));
      $('import-go').disabled = p.problems.length > 0 || p.rows === 0;
      hideSkip();
      if (p.skippable) {
        importSkipLines = p.badLines;
        $('import-skip').textContent = `Import the ${p.goodRows} good row${p.goodRows === 1 ? '' : 's'}, skip ${p.badLines.length === 1 ? 'line' : 'lines'} ${p.badLines.length > 20 ? `${p.badLines.slice(0, 20).join(', ')} and ${p.badLines.length - 20} more` : p.badLines.join(', ')}`;
        $('import-skip').hidden = false;
      }
    } catch (e) {
      $('import-summary').textContent = e.message;
    }
  });
  $('import-go').addEventListener('click', async () => {
    $('import-go').disabled = true;
    try {
      const r = await importCall('import');
      $('import-summary').textContent = `Imported: ${r.created} created, ${r.updated} updated.`;
    } catch (e) {
      $('import-summary').textContent = e.message;
      $('import-problems').replaceChildren(...e.problems.map((x) => h('li', {}, x)));
    }
  });
  $('import-skip').addEventListener('click', async () => {
    if (importSkipLines.length === 0) return;
    $('import-skip').disabled = true;
    try {
      const r = await importCall('import/skipping', { skip: importSkipLines.join(',') });
      $('import-summary').textContent = `Imported: ${r.created} created; skipped line${r.skippedLines.length === 1 ? '' : 's'} ${r.skippedLines.join(', ')}.`;
      $('import-problems').replaceChildren();
      hideSkip();
    } catch (e) {
      $('import-summary').textContent = e.message;
      $('import-problems').replaceChildren(...e.problems.map((x) => h('li', {}, x)));
    } finally {
      $('import-skip').disabled = false;
    }
  });
  $('import-file').addEventListener('change', () => { hideSkip(); $('import-go').disabled = true; $('import-summary').textContent = ''; $('import-problems').replaceChildren(); });
}

// ---- Audit

async function loadAudit() {
  const q = new URLSearchParams();
  if ($('a-mac').value.trim()) q.set('mac', $('a-mac').value.trim());
  if ($('a-type').value) q.set('type', $('a-type').value);
  $('audit-error').textContent = '';
  try {
    const { events } = await api('GET', `audit?${q}`);
    $('audit-table').querySelector('tbody').replaceChildren(...events.map((e) => h('tr', {},
      h('td', {}, fmtDate(e.at)), h('td', {}, e.type), h('td', { class: 'mono' }, e.mac || ''), h('td', {}, e.door || ''), h('td', {}, e.decision || ''),
      h('td', {}, e.reason || ''), h('td', {}, e.computer || ''), h('td', {}, e.actor || ''), h('td', {}, e.detail || ''))));
  } catch (e) {
    $('audit-error').textContent = e.message;
  }
}
$('audit-filters').addEventListener('submit', (ev) => { ev.preventDefault(); void loadAudit(); });

// ---- Rollouts

function dayBars(days) {
  const max = Math.max(1, ...days.map((d) => Math.max(d.planned, d.admitted)));
  const pct = (n) => `${Math.round((n / max) * 100)}%`;
  return h('table', { class: 'rollout-days' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Day'), h('th', {}, 'Planned'), h('th', {}, 'Admitted'), h('th', {}, 'Done'), h('th', {}, 'Failed'), h('th', {}, 'Chart'))),
    h('tbody', {}, ...days.map((d) => h('tr', {},
      h('td', {}, d.date), h('td', {}, String(d.planned)), h('td', {}, String(d.admitted)), h('td', {}, String(d.done)), h('td', {}, String(d.failed)),
      h('td', { class: 'bars', 'aria-hidden': 'true' },
        h('span', { class: 'bar planned', style: { width: pct(d.planned) } }),
        h('span', { class: 'bar admitted', style: { width: pct(d.admitted) } }),
        h('span', { class: 'bar done', style: { width: pct(d.done) } }),
        h('span', { class: 'bar failed', style: { width: pct(d.failed) } }))))));
}

async function loadRollouts() {
  $('rollouts-error').textContent = '';
  try {
    const { rollouts } = await api('GET', 'rollouts');
    if (rollouts.length === 0) { $('rollouts').replaceChildren(h('p', {}, 'No profile has a rollout (profiles.<name>.rollout in the configuration).')); return; }
    $('rollouts').replaceChildren(...rollouts.map((r) => h('article', { class: 'rollout' },
      h('h3', {}, `Profile ${r.profile}`),
      h('p', {}, `Today ${r.todayDate} (day ${r.today}); tomorrow admits ${r.tomorrow} machine${r.tomorrow === 1 ? '' : 's'}; `,
        r.complete ? 'every machine is admitted.' : r.completeDay === null ? 'halted groups keep some machines out.' : `the last machine is admitted on day ${r.completeDay}.`),
      r.windows.length ? h('p', {}, 'Maintenance windows: ', r.windows.map((w) => `${w.name} (${w.schedule}, ${w.timeZone}; groups ${w.groups.join(', ')})`).join('; ')) : h('p', { class: 'muted' }, 'No maintenance window: required deployments at any time.'),
      ...r.groups.map((g) => h('section', { class: 'rollout-group', 'aria-label': `Group ${g.group} of ${r.profile}` },
        h('h4', {}, `Group ${g.group}: ${g.admitted} of ${g.machines} admitted, ${g.done} done, ${g.failed} failed`),
        g.halt ? h('p', { class: 'halted' }, `Halted ${fmtDate(g.halt.at)} by ${g.halt.by}: ${g.halt.reason} `,
          session.readOnly ? null : h('button', { type: 'button', 'aria-label': `Resume group ${g.group} of ${r.profile}`, onclick: () => void resumeGroup(r.profile, g.group) }, 'Resume'))
          : session.readOnly ? null : haltForm(r.profile, g.group),
        dayBars(g.days))))));
  } catch (e) {
    $('rollouts-error').textContent = e.message;
  }
}

function haltForm(profile, group) {
  const id = `halt-${profile}-${group}`.replace(/[^A-Za-z0-9_-]/g, '_');
  const reason = h('input', { id, maxlength: 200, placeholder: 'halted by hand' });
  const error = h('span', { class: 'field-error', role: 'alert' });
  return h('form', { class: 'halt-form', novalidate: true, onsubmit: (ev) => { ev.preventDefault(); void haltGroup(profile, group, reason.value.trim(), error); } },
    h('label', { for: id }, `Reason for halting group ${group} of ${profile}`), ' ', reason, ' ',
    h('button', { type: 'submit', 'aria-label': `Halt group ${group} of ${profile}` }, 'Halt'), ' ', error);
}

async function haltGroup(profile, group, reason, error) {
  try {
    await api('POST', `rollouts/${encodeURIComponent(profile)}/groups/${encodeURIComponent(group)}/halt`, reason === '' ? {} : { reason });
  } catch (e) {
    error.textContent = e.message;
    return;
  }
  await loadRollouts();
}

// ---- Appliances

async function loadAppliances() {
  $('appliances-error').textContent = '';
  try {
    const { appliances } = await api('GET', 'appliances');
    $('appliances-none').hidden = appliances.length > 0;
    $('appliances-table').querySelector('tbody').replaceChildren(...appliances.map((a) => h('tr', { class: a.stale ? 'stale' : null, dataset: { name: a.name } },
      h('th', { scope: 'row' }, a.name, a.self ? h('span', { class: 'muted' }, ' (this one)') : null),
      h('td', {}, a.subnets.join(', ')),
      h('td', {}, a.version),
      h('td', {}, a.ready ? 'ready' : `not ready: ${a.readiness.join('; ')}`),
      h('td', {}, a.storeState),
      h('td', {}, `${fmtDate(a.lastSeen)} (${a.secondsSinceSeen} s ago)`, a.stale ? h('strong', {}, ' stale') : null),
      h('td', {}, String(a.bootsLastHour)))));
  } catch (e) {
    $('appliances-error').textContent = e.message;
  }
}

async function resumeGroup(profile, group) {
  try {
    await api('POST', `rollouts/${encodeURIComponent(profile)}/groups/${encodeURIComponent(group)}/resume`);
  } catch (e) {
    $('rollouts-error').textContent = e.message;
  }
  await loadRollouts();
}

// ---- Settings

function showSettings(st) {
  $('s-answering').checked = st.effective.answering;
  $('s-delay').value = String(st.effective.responseDelaySeconds);
  const from = (k) => (st.overrides[k] === undefined ? 'from the configuration' : `set here (the configuration says ${JSON.stringify(st.config[k])})`);
  $('s-answering-from').textContent = from('answering');
  $('s-delay-from').textContent = from('responseDelaySeconds');
  $('s-unknown').textContent = st.unknown.action === 'ignore' ? 'ignored (another server may answer them), set in the configuration'
    : `${st.unknown.action}${st.unknown.profile ? ` with profile ${st.unknown.profile}` : ''}, set in the configuration (policy.unknown)`;
  for (const el of document.querySelectorAll('.rw-input')) el.disabled = session.readOnly;
}

async function loadSettings() {
  showSettings(await api('GET', 'settings'));
  await loadPasswords();
}

async function saveSettings(patch) {
  $('s-delay-error').textContent = '';
  $('s-status').textContent = '';
  try {
    showSettings(await api('PATCH', 'settings', patch));
    $('s-status').textContent = 'saved';
  } catch (e) {
    $('s-delay-error').textContent = [e.message, ...e.problems.filter((p) => p !== e.message)].join('; ');
  }
}
$('settings-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const delay = $('s-delay').value.trim();
  void saveSettings({ answering: $('s-answering').checked, responseDelaySeconds: delay === '' ? null : Number(delay) });
});
if ($('s-reset')) $('s-reset').addEventListener('click', () => saveSettings({ answering: null, responseDelaySeconds: null }));

// ---- Boot passwords and lockouts (a password is typed twice, sent once, never shown or sent back)

function showPasswords(st) {
  $('pw-summary').textContent = `Gating is ${st.required ? 'on for every profile unless a profile says otherwise' : 'off unless a profile asks for it'}; `
    + `${st.maxFailures} wrong passwords lock a machine out for ${st.lockoutMinutes} min; an unlock lasts ${st.unlockMinutes} min.`;
  const rows = [{ name: null, label: 'global', gated: null, uses: '', own: st.global }, ...st.profiles.map((p) => ({ ...p, label: `profile ${p.name}` }))];
  $('pw-table').querySelector('tbody').replaceChildren(...rows.map((r) => h('tr', {},
    h('td', {}, r.label), h('td', {}, r.gated === null ? '' : r.gated ? 'yes' : 'no'), h('td', {}, r.uses),
    h('td', {}, r.own.set ? 'set' : 'not set'), h('td', {}, r.own.set ? `${fmtDate(r.own.updatedAt)} by ${r.own.updatedBy || '?'}` : ''),
    h('td', {}, r.own.set && !session.readOnly
      ? h('button', { type: 'button', 'aria-label': `Clear the ${r.label} password`, onclick: () => { if (confirm(`Clear the ${r.label} password?`)) void clearPassword(r.name); } }, 'Clear')
      : ''))));
  const sel = $('pw-profile');
  if (sel) {
    const keep = sel.value;
    sel.replaceChildren(h('option', { value: '' }, 'everything gated (the global password)'), ...st.profiles.map((p) => h('option', { value: p.name }, `profile ${p.name}`)));
    sel.value = keep;
  }
  $('lock-table').querySelector('tbody').replaceChildren(...st.lockouts.map((l) => h('tr', {},
    h('td', { class: 'mono' }, `${l.client} (${l.by})`), h('td', {}, String(l.failures)), h('td', {}, l.locked ? fmtDate(l.lockedUntil) : 'not locked'),
    h('td', {}, fmtDate(l.lastFailureAt)),
    h('td', {}, session.readOnly ? '' : h('button', { type: 'button', 'aria-label': `Lift the lockout of ${l.client}`, onclick: () => void liftLockout(l.client) }, l.locked ? 'Lift lockout' : 'Forget')))));
  $('lock-none').hidden = st.lockouts.length > 0;
}

async function loadPasswords() {
  try {
    showPasswords(await api('GET', 'passwords'));
  } catch (e) {
    $('lock-error').textContent = e.message;
  }
}

async function clearPassword(profile) {
  $('lock-error').textContent = '';
  try {
    await api('DELETE', `passwords${profile ? `?profile=${encodeURIComponent(profile)}` : ''}`);
  } catch (e) {
    $('lock-error').textContent = e.message;
  }
  await loadPasswords();
}

async function liftLockout(client) {
  $('lock-error').textContent = '';
  try {
    await api('DELETE', `passwords/lockouts/${encodeURIComponent(client)}`);
  } catch (e) {
    $('lock-error').textContent = e.message;
  }
  await loadPasswords();
}

if ($('pw-form')) {
  $('pw-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('pw-error').textContent = '';
    $('pw-status').textContent = '';
    const password = $('pw-new').value;
    const again = $('pw-again').value;
    if (password !== again) { $('pw-error').textContent = 'the two passwords differ: type the same password twice'; return; }
    const profile = $('pw-profile').value || null;
    try {
      await api('PUT', 'passwords', { profile, password, confirm: again });
      $('pw-status').textContent = 'password set';
    } catch (e) {
      $('pw-error').textContent = [e.message, ...e.problems.filter((p) => p !== e.message)].join('; ');
    } finally {
      // Never left in the page once sent.
      $('pw-new').value = '';
      $('pw-again').value = '';
    }
    await loadPasswords();
  });
}

// ---- start

(async () => {
  try {
    await signedIn(await api('GET', 'session'));
  } catch {
    showSignIn('');
  }
})();
