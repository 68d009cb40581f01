// The live view's page: polls /ui/api/cluster on the broker that served it
// (which reads ZooKeeper and asks every live broker for its replicas and
// event log) and /ui/api/zk for the ZooKeeper tree. Plain JS, no libraries.
"use strict";

const POLL_MS = 1000;
const MAX_EVENTS = 3000;      // kept in memory
const MAX_EVENT_ROWS = 1500;  // drawn
const KINDS = ["Watch", "Event", "Controller", "StateChange", "Election", "ZkWrite", "Request", "Response", "Broker"];
const ZK_ROOTS = ["/brokers", "/controller", "/controller_epoch", "/admin", "/isr_change_notification",
  "/config", "/cluster", "/latest_producer_id_block", "/log_dir_event_notification"];

const state = {
  cursors: {},
  events: [],
  paused: false,
  hiddenKinds: new Set(),
  openTopics: new Set(),
  closedTopics: new Set(),
  lastPartition: {},   // "t-p" -> "leader/epoch/isr" to flash changes
  zkOpen: new Set(),
  zkSelected: null,
  last: null,
};

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmtTime = (ms) => {
  const d = new Date(ms);
  const p = (n, w) => String(n).padStart(w || 2, "0");
  return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()) + "." + p(d.getMilliseconds(), 3);
};

// ------------------------------------------------------------------ polling

async function poll() {
  const since = Object.entries(state.cursors).map(([b, s]) => b + ":" + s).join(",");
  try {
    const r = await fetch("/ui/api/cluster?since=" + encodeURIComponent(since), { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status + ": " + (await r.text()));
    const v = await r.json();
    state.last = v;
    // Brokers that did not answer keep their cursor (no repeats when they do again).
    const next = Object.assign({}, state.cursors);
    for (const [b, s] of Object.entries(v.cursors)) {
      // A broker that restarted counts from 1 again: read its log from the start.
      next[b] = (state.cursors[b] !== undefined && s < state.cursors[b]) ? 0 : s;
    }
    state.cursors = next;
    addEvents(v.events);
    renderSummary(v);
    renderTopics(v);
    setStatus("live · served by broker " + v.served_by + " · " + fmtTime(v.time_ms), false);
  } catch (e) {
    setStatus("cannot reach the broker that served this page: " + e.message, true);
  }
  setTimeout(poll, POLL_MS);
}

function setStatus(text, err) {
  const s = $("status");
  s.textContent = text;
  s.className = "status" + (err ? " err" : "");
}

// ------------------------------------------------------------------ summary

function renderSummary(v) {
  const c = v.controller;
  $("controller").innerHTML = c.id == null
    ? '<span class="badge down">no controller</span> <span class="hint">/controller does not exist: an election is due</span>'
    : "broker " + esc(c.id) + ' <span class="hint">controller epoch ' + esc(c.epoch) +
      " (<code>/controller_epoch</code> zkVersion " + esc(c.epoch_zk_version) + ")</span>";
  $("controller").dataset.controllerId = c.id == null ? "" : String(c.id);
  const rows = v.brokers.map((b) => {
    const badges = (b.is_controller ? '<span class="badge">controller</span>' : "") +
      (b.reachable ? "" : '<span class="badge down" title="' + esc(b.error) + '">view unreachable</span>');
    const link = b.http ? '<a href="http://' + esc(b.http) + '/">' + esc(b.http) + "</a>" : '<span class="hint">metrics.port unset</span>';
    return '<tr data-broker-id="' + esc(b.id) + '"><td><b>' + esc(b.id) + "</b>" + badges + "</td><td>" +
      esc(b.endpoints.join(", ")) + "</td><td>" + esc(b.broker_epoch) + "</td><td>" +
      esc(new Date(b.registered_ms).toLocaleTimeString()) + "</td><td>" + link + "</td></tr>";
  });
  $("brokers").tBodies[0].innerHTML = rows.join("");
}

// ------------------------------------------------------------------ timeline

function addEvents(evs) {
  if (!evs.length) return;
  const first = state.events.length === 0;
  state.events.push(...evs);
  if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
  if (!state.paused) renderTimeline(first ? 0 : evs.length);  // flash only what arrived while watching
}

function eventVisible(e, q) {
  if (state.hiddenKinds.has(e.kind)) return false;
  if (!q) return true;
  return (e.text + " " + e.kafka_class + " " + e.source + " " + e.kind).toLowerCase().includes(q);
}

function renderTimeline(fresh) {
  const q = $("event-filter").value.trim().toLowerCase();
  const out = [];
  let n = 0;
  for (let i = state.events.length - 1; i >= 0 && out.length < MAX_EVENT_ROWS; i--, n++) {
    const e = state.events[i];
    if (!eventVisible(e, q)) continue;
    out.push('<li class="ev' + (n < (fresh || 0) ? " fresh" : "") + '" data-kind="' + esc(e.kind) + '" data-broker="' + esc(e.broker) + '">' +
      '<span class="t">' + fmtTime(e.time_ms) + '</span><span class="b" title="recorded on broker ' + esc(e.broker) + '">b' + esc(e.broker) + "</span>" +
      '<span class="k k-' + esc(e.kind) + '">' + esc(e.kind) + "</span>" +
      '<span class="x">' + esc(e.text) + '<span class="src">' + esc(e.source) + " · " + esc(e.kafka_class) + "</span></span></li>");
  }
  $("timeline").innerHTML = out.join("");
}

function setupTimelineControls() {
  $("kind-filters").innerHTML = KINDS.map((k) =>
    '<label><input type="checkbox" data-kind="' + k + '" checked><span class="k k-' + k + '">' + k + "</span></label>").join("");
  $("kind-filters").addEventListener("change", (ev) => {
    const k = ev.target.dataset.kind;
    if (ev.target.checked) state.hiddenKinds.delete(k); else state.hiddenKinds.add(k);
    renderTimeline(0);
  });
  $("event-filter").addEventListener("input", () => renderTimeline(0));
  $("pause").addEventListener("click", () => {
    state.paused = !state.paused;
    $("pause").textContent = state.paused ? "resume" : "pause";
    if (!state.paused) renderTimeline(0);
  });
  $("clear").addEventListener("click", () => { state.events = []; renderTimeline(0); });
}

// ------------------------------------------------------------------ partitions

function partitionProblem(p) {
  if (p.leader < 0) return "offline";
  if (p.isr.length < p.replicas.length) return "under-replicated";
  return "";
}

function replicaCell(r) {
  const cls = !r.live ? "dead" : r.leader ? "leader" : r.in_isr ? "isr" : "out";
  const label = !r.live ? "✗" : r.leader ? "L" : "F";
  const title = "broker " + r.id + (r.leader ? " (leader)" : "") + (r.in_isr ? ", in ISR" : ", not in ISR") + (r.live ? "" : ", broker down") +
    (r.leo_seen_by_leader != null ? "; leader saw LEO " + r.leo_seen_by_leader + ", caught up " + r.caught_up_ms_ago + " ms ago" : "");
  let nums = "";
  if (r.leo != null) {
    nums = '<span class="num">LEO ' + r.leo + " HW " + r.hw +
      (r.leader ? "" : ' lag <span class="' + (r.lag > 0 ? "lagging" : "") + '">' + (r.lag == null ? "?" : r.lag) + "</span>") + "</span>";
  } else {
    nums = '<span class="num hint">' + (r.live ? "no local replica" : "down") + "</span>";
  }
  return '<span class="replica" data-replica="' + r.id + '" title="' + esc(title) + '"><span class="rep ' + cls + '">' + label + r.id + "</span>" + nums + "</span>";
}

function partitionRow(t, p) {
  const key = t + "-" + p.partition;
  const sig = p.leader + "/" + p.leader_epoch + "/" + p.isr.join(",");
  const changed = state.lastPartition[key] !== undefined && state.lastPartition[key] !== sig;
  state.lastPartition[key] = sig;
  const prob = partitionProblem(p);
  return '<tr data-topic="' + esc(t) + '" data-partition="' + p.partition + '" data-leader="' + p.leader + '" class="' +
    (prob ? "problem " : "") + (changed ? "changed" : "") + '"><td>' + p.partition + "</td><td>" +
    (p.leader < 0 ? '<span class="badge down">none</span>' : p.leader) + "</td><td>" + esc(p.leader_epoch) + "</td><td>[" +
    p.isr.join(",") + "]</td><td>" + p.replicas.map(replicaCell).join("") +
    (p.adding.length ? ' <span class="hint">adding ' + p.adding.join(",") + "</span>" : "") +
    (p.removing.length ? ' <span class="hint">removing ' + p.removing.join(",") + "</span>" : "") +
    '</td><td class="hint">' + esc(p.zk_version) + " / " + esc(p.controller_epoch) + "</td></tr>";
}

function renderTopics(v) {
  const q = $("topic-filter").value.trim().toLowerCase();
  const onlyProblems = $("only-problems").checked;
  const total = v.topics.reduce((n, t) => n + t.partitions.length, 0);
  const openByDefault = total <= 200;
  let under = 0, offline = 0;
  const container = $("topics");
  const seen = new Set();
  for (const t of v.topics) {
    for (const p of t.partitions) {
      const pr = partitionProblem(p);
      if (pr === "offline") offline++; else if (pr) under++;
    }
    const problems = t.partitions.filter((p) => partitionProblem(p));
    const visible = (!q || t.name.toLowerCase().includes(q)) && (!onlyProblems || problems.length);
    const id = "topic-" + t.name;
    let d = document.getElementById(id);
    if (!visible) { if (d) d.remove(); continue; }
    seen.add(id);
    if (!d) {
      d = document.createElement("details");
      d.className = "topic";
      d.id = id;
      d.dataset.topic = t.name;
      d.open = state.openTopics.has(t.name) || (openByDefault && !state.closedTopics.has(t.name));
      d.addEventListener("toggle", () => {
        if (d.open) { state.openTopics.add(t.name); state.closedTopics.delete(t.name); if (state.last) renderTopics(state.last); }
        else { state.openTopics.delete(t.name); state.closedTopics.add(t.name); }
      });
      d.innerHTML = "<summary></summary><div class=\"body\"></div>";
      container.appendChild(d);
    }
    const leaders = {};
    for (const p of t.partitions) leaders[p.leader] = (leaders[p.leader] || 0) + 1;
    d.querySelector("summary").innerHTML = esc(t.name) + '<span class="meta">' + t.partitions.length + " partitions · leaders " +
      Object.entries(leaders).map(([b, n]) => (b < 0 ? "none" : "b" + b) + "×" + n).join(" ") +
      (problems.length ? ' · <span class="bad">' + problems.length + " with problems</span>" : "") +
      (t.topic_id ? " · id " + esc(t.topic_id) : "") + "</span>";
    const body = d.querySelector(".body");
    if (d.open) {
      const parts = onlyProblems ? problems : t.partitions;
      body.innerHTML = '<table class="parts"><thead><tr><th>partition</th><th>leader</th><th>leader epoch</th><th>ISR</th>' +
        "<th>replicas: LEO / HW / lag</th><th>zkVersion / ctrl epoch</th></tr></thead><tbody>" +
        parts.map((p) => partitionRow(t.name, p)).join("") + "</tbody></table>";
    } else {
      body.innerHTML = "";
      for (const p of t.partitions) state.lastPartition[t.name + "-" + p.partition] = p.leader + "/" + p.leader_epoch + "/" + p.isr.join(",");
    }
  }
  for (const d of Array.from(container.children)) if (!seen.has(d.id)) d.remove();
  $("partition-summary").textContent = v.topics.length + " topics, " + total + " partitions, " + under + " under-replicated, " + offline + " offline";
}

function setupTopicControls() {
  const rerender = () => { if (state.last) renderTopics(state.last); };
  $("topic-filter").addEventListener("input", rerender);
  $("only-problems").addEventListener("change", rerender);
  $("expand-all").addEventListener("click", () => {
    for (const d of document.querySelectorAll("details.topic")) { state.openTopics.add(d.dataset.topic); state.closedTopics.delete(d.dataset.topic); d.open = true; }
    rerender();
  });
  $("collapse-all").addEventListener("click", () => {
    for (const d of document.querySelectorAll("details.topic")) { state.openTopics.delete(d.dataset.topic); state.closedTopics.add(d.dataset.topic); d.open = false; }
  });
}

// ------------------------------------------------------------------ ZooKeeper tree

async function readZnode(path) {
  const r = await fetch("/ui/api/zk?path=" + encodeURIComponent(path), { cache: "no-store" });
  if (!r.ok) throw new Error("HTTP " + r.status);
  return r.json();
}

function zkItem(path) {
  const li = document.createElement("li");
  li.dataset.path = path;
  const name = path === "/" ? "/" : path.slice(path.lastIndexOf("/") + 1);
  li.innerHTML = '<span class="node"><span class="tw">▸</span>' + esc(path.split("/").length === 2 ? path : name) + "</span><ul></ul>";
  li.querySelector(".node").addEventListener("click", () => toggleZk(li));
  return li;
}

async function toggleZk(li) {
  const path = li.dataset.path;
  for (const s of document.querySelectorAll(".tree .node.sel")) s.classList.remove("sel");
  li.querySelector(".node").classList.add("sel");
  state.zkSelected = path;
  if (state.zkOpen.has(path)) {
    state.zkOpen.delete(path);
    li.querySelector("ul").innerHTML = "";
    li.querySelector(".tw").textContent = "▸";
    await showZnode(path);
  } else {
    state.zkOpen.add(path);
    await refreshZkNode(li, true);
  }
}

async function showZnode(path) {
  try {
    const z = await readZnode(path);
    renderZnode(z);
  } catch (e) {
    $("zk-node").textContent = "cannot read " + path + ": " + e.message;
  }
}

function renderZnode(z) {
  if (!z.exists) { $("zk-node").textContent = z.path + "\n\n(does not exist)"; return; }
  let data = z.data;
  try { if (data) data = JSON.stringify(JSON.parse(data), null, 1); } catch (e) { /* not JSON: shown as is */ }
  $("zk-node").textContent = z.path + "\n\n" + (data || "(no data)") + "\n\nversion " + z.stat.version + " · czxid " + z.stat.czxid +
    " · mzxid " + z.stat.mzxid + (z.stat.ephemeral_owner !== "0x0" ? " · ephemeral, owner session " + z.stat.ephemeral_owner : "") +
    " · " + z.stat.num_children + " children · modified " + new Date(z.stat.mtime).toLocaleTimeString();
}

async function refreshZkNode(li, show) {
  const path = li.dataset.path;
  let z;
  try { z = await readZnode(path); } catch (e) { return; }
  if (show || state.zkSelected === path) renderZnode(z);
  const ul = li.querySelector("ul");
  if (!state.zkOpen.has(path)) return;
  li.querySelector(".tw").textContent = z.exists && z.children && z.children.length ? "▾" : "·";
  const want = (z.children || []).map((c) => (path === "/" ? "" : path) + "/" + c);
  const have = new Map(Array.from(ul.children).map((c) => [c.dataset.path, c]));
  ul.innerHTML = "";
  for (const p of want) ul.appendChild(have.get(p) || zkItem(p));
  if (z.children_total > z.children.length) {
    const more = document.createElement("li");
    more.className = "hint";
    more.textContent = "… " + (z.children_total - z.children.length) + " more";
    ul.appendChild(more);
  }
}

async function refreshZkTree() {
  const lis = Array.from(document.querySelectorAll("#zk-tree li[data-path]"));
  for (const li of lis) {
    if (state.zkOpen.has(li.dataset.path) || state.zkSelected === li.dataset.path) await refreshZkNode(li, false);
  }
  setTimeout(refreshZkTree, 3000);
}

function setupZk() {
  const tree = $("zk-tree");
  for (const p of ZK_ROOTS) tree.appendChild(zkItem(p));
  setTimeout(refreshZkTree, 3000);
}

setupTimelineControls();
setupTopicControls();
setupZk();
poll();
