// clp's status page: polls clpd's published status and draws it.
//
// Every piece of text from the server (names come from clp.conf, messages
// from scripts) reaches the document through el() or show(), which make
// text nodes: no markup is ever built from a string. The server's policy
// (Trusted Types with no policy) makes the browser refuse it anyway.
'use strict';

const API = '/api/clp/v1';
const POLL_MS = 1000;
// Alerts are read again when the status changed, or at least this often.
const ALERTS_EVERY_POLLS = 5;

const view = {
  generation: null,
  snapshot: null,
  service: '',
  operate: false,
  busy: false,
  polls: 0,
  moveTarget: new Map(),
};

// Attributes el() may set: none of them can carry script or a URL.
const ATTRIBUTES = new Set(['class', 'data-server', 'data-group', 'data-resource',
  'data-monitor', 'data-op', 'value', 'title', 'aria-label']);

// An element with attributes and children; strings become text nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (!ATTRIBUTES.has(name)) throw new Error('attribute not allowed: ' + name);
    node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Replaces the text of the element with id `id`.
function show(id, text) {
  const node = document.getElementById(id);
  node.replaceChildren(document.createTextNode(String(text)));
  return node;
}

// The colour class of a CLUSTERPRO status word.
function tone(word) {
  switch (word) {
    case 'Online': case 'Normal': return 'ok';
    case 'Caution': case 'Warning': case 'Online Pending': case 'Offline Pending':
    case 'Suspend': return 'warn';
    case 'Error': case 'Online Failure': case 'Offline Failure': return 'bad';
    default: return 'off';
  }
}

function stateCell(word) {
  return el('td', { class: 'state ' + tone(word) }, word);
}

async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store', credentials: 'same-origin' });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) {
    const message = body && body.result ? body.result.message : response.statusText;
    throw new Error(response.status + ': ' + message);
  }
  return body;
}

function problem(text) {
  const node = document.getElementById('problem');
  if (text) show('problem', text);
  node.hidden = !text;
}

function serverRows(snapshot) {
  return snapshot.servers.map((s) => el('tr', { 'data-server': s.name },
    el('td', {}, (s.local ? '*' : '') + s.name),
    stateCell(s.status),
    el('td', {}, el('ul', {}, ...s.heartbeats.map((hb) =>
      el('li', {}, hb.name + ' (' + hb.kind + '): ', el('span', { class: 'state ' + tone(hb.status) }, hb.status)))))));
}

function button(label, op, action) {
  const b = el('button', { 'data-op': op }, label);
  b.disabled = view.busy;
  b.addEventListener('click', action);
  return b;
}

function groupOperations(group, servers) {
  if (!view.operate) return null;
  const path = '/api/v1/groups/' + encodeURIComponent(group.name) + '/';
  const others = servers.filter((s) => s !== group.current);
  const select = el('select', { 'aria-label': 'destination of ' + group.name },
    ...others.map((s) => el('option', { value: s }, s)));
  const kept = view.moveTarget.get(group.name);
  if (kept && others.includes(kept)) select.value = kept;
  select.addEventListener('change', () => view.moveTarget.set(group.name, select.value));
  select.disabled = view.busy || others.length === 0;
  const move = button('move', 'move', () =>
    operate('move group ' + group.name + ' to ' + select.value, path + 'move', { target: select.value }));
  move.disabled = move.disabled || others.length === 0;
  return el('td', { class: 'ops' },
    button('start', 'start', () => operate('start group ' + group.name, path + 'start')),
    button('stop', 'stop', () => operate('stop group ' + group.name, path + 'stop')),
    select, move);
}

function groupRows(snapshot) {
  const servers = snapshot.servers.map((s) => s.name);
  return snapshot.groups.map((g) => el('tr', { 'data-group': g.name },
    el('td', {}, g.name),
    stateCell(g.status),
    el('td', { class: 'current' }, g.current || '-'),
    el('td', {}, el('ul', {}, ...g.resources.map((r) =>
      el('li', { 'data-resource': r.name }, r.name + ' (' + r.kind + '): ',
        el('span', { class: 'state ' + tone(r.status) }, r.status))))),
    groupOperations(g, servers)));
}

function monitorOperations(monitor) {
  if (!view.operate) return null;
  const path = '/api/v1/monitors/' + encodeURIComponent(monitor.name) + '/';
  return el('td', { class: 'ops' },
    button('suspend', 'suspend', () => operate('suspend monitor ' + monitor.name, path + 'suspend')),
    button('resume', 'resume', () => operate('resume monitor ' + monitor.name, path + 'resume')));
}

function monitorRows(snapshot) {
  // With one server the snapshot has no per-server rows: the answering one.
  const local = snapshot.servers.filter((s) => s.local).map((s) => s.name)[0] || '';
  const perServer = (m) => (m.servers && m.servers.length > 0
    ? m.servers : [{ server: local, status: m.status }]);
  return snapshot.monitors.map((m) => el('tr', { 'data-monitor': m.name },
    el('td', {}, m.name),
    el('td', {}, m.kind),
    stateCell(m.status),
    el('td', {}, el('ul', {}, ...perServer(m).map((s) =>
      el('li', {}, s.server + ': ', el('span', { class: 'state ' + tone(s.status) }, s.status))))),
    monitorOperations(m)));
}

function alertRows(alerts) {
  return alerts.slice().reverse().map((a) => el('tr', {},
    el('td', {}, a.time), el('td', {}, a.server), el('td', {}, a.module),
    el('td', {}, a.event_id), el('td', { class: 'level ' + tone(a.level) }, a.level),
    el('td', {}, a.message)));
}

function fill(tableId, rows) {
  document.querySelector('#' + tableId + ' tbody').replaceChildren(...rows);
}

function draw() {
  const snapshot = view.snapshot;
  if (!snapshot) return;
  show('cluster', snapshot.cluster.name);
  show('service', view.service).className = 'state ' + tone(view.service);
  fill('servers', serverRows(snapshot));
  fill('groups', groupRows(snapshot));
  fill('monitors', monitorRows(snapshot));
  for (const cell of document.querySelectorAll('th.ops')) cell.hidden = !view.operate;
}

async function refreshAlerts() {
  const answer = await getJson(API + '/alerts?count=30');
  show('alert-server', '(server ' + answer.server + ')');
  fill('alerts', alertRows(answer.alerts));
}

async function poll() {
  try {
    const known = view.generation === null ? '' : '?known=' + view.generation;
    const answer = await getJson(API + '/status' + known);
    const changed = !answer.unchanged;
    if (changed) {
      view.generation = answer.generation;
      view.snapshot = answer.status;
      view.service = answer.service;
      draw();
    }
    if (changed || view.polls % ALERTS_EVERY_POLLS === 0) await refreshAlerts();
    view.polls += 1;
    show('updated', 'updated ' + new Date().toLocaleTimeString());
    problem('');
  } catch (error) {
    problem('clpd does not answer: ' + error.message);
  } finally {
    window.setTimeout(poll, POLL_MS);
  }
}

// Runs one operation through clpd's REST API; it answers once settled.
async function operate(what, path, body) {
  view.busy = true;
  draw();
  const outcome = show('outcome', what + ' ...');
  outcome.hidden = false;
  outcome.className = '';
  try {
    const response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body || {}),
    });
    let answer = null;
    try { answer = await response.json(); } catch (_) { answer = null; }
    const message = answer && answer.result ? answer.result.message : response.statusText;
    if (response.ok) {
      show('outcome', what + ': done');
    } else {
      show('outcome', what + ': ' + message).className = 'failed';
    }
  } catch (error) {
    show('outcome', what + ': ' + error.message).className = 'failed';
  } finally {
    view.busy = false;
    view.generation = null;
    draw();
  }
}

async function start() {
  try {
    const me = await getJson(API + '/whoami');
    view.operate = me.operate === true;
    show('who', me.user + (view.operate ? ' (may operate)' : ' (read only)'));
  } catch (error) {
    problem('cannot tell who you are: ' + error.message);
  }
  poll();
}

document.addEventListener('DOMContentLoaded', start);
