// The betcore-sandbox dashboard: the admin API and its event stream, shown and steered from a browser.
// Everything that came from a request (headers, bodies, ids) is put in the page as text, never as HTML.

const ADMIN = "/__admin";
const FEED_ROWS = 500; // rows kept in the feed table; older ones leave the page (the journal keeps them)
const BET_CARDS = 200; // bets drawn at once

const $ = (selector, root = document) => root.querySelector(selector);

/** An element with attributes (on* as listeners) and children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(ADMIN + path, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401 && !path.startsWith("/ui/")) showLogin();
  if (!response.ok) throw new ApiError(response.status, (data && data.error) || `HTTP ${response.status}`);
  return data;
}

function notify(message) {
  const notice = $("#notice");
  notice.textContent = message;
  notice.hidden = !message;
}

/** Run an admin action from a control; its error is shown instead of lost. */
async function act(action) {
  notify("");
  await quietly(action);
}

/** A refresh nobody asked for (a live update): it shows a failure but leaves the notice otherwise alone. */
async function quietly(action) {
  try {
    await action();
  } catch (error) {
    notify(error.message);
  }
}

function query(params) {
  const kept = Object.entries(params).filter(([, value]) => value);
  return kept.length ? "?" + new URLSearchParams(kept).toString() : "";
}

/** Calls `fn` `ms` after the first of a run of calls, then again for later ones: at most once per `ms`, even
 * while calls never stop (a busy sandbox still gets its views refreshed). */
function throttle(fn, ms) {
  let timer = null;
  return () => {
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}

// -- tabs -----------------------------------------------------------------------------------------------------

const views = {
  feed: { load: loadFeed },
  bets: { load: loadBets },
  wallets: { load: loadWallets },
  faults: { load: loadFaults },
  audit: { load: loadAudit },
  report: { load: loadReport },
};
let current = "feed";

function tabs() {
  return [...document.querySelectorAll("#tabs [role=tab]")].filter((tab) => !tab.hidden);
}

function select(name, focus = false) {
  current = name;
  for (const tab of document.querySelectorAll("#tabs [role=tab]")) {
    const chosen = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(chosen));
    tab.tabIndex = chosen ? 0 : -1;
    $("#" + tab.getAttribute("aria-controls")).hidden = !chosen;
    if (chosen && focus) tab.focus();
  }
  act(views[name].load);
}

function wireTabs() {
  for (const tab of document.querySelectorAll("#tabs [role=tab]")) {
    tab.addEventListener("click", () => select(tab.id.slice(4)));
    tab.addEventListener("keydown", (event) => {
      // Arrow keys move between tabs, as in every tab list.
      const shown = tabs();
      const at = shown.indexOf(tab);
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step === undefined) return;
      event.preventDefault();
      select(shown[(at + step + shown.length) % shown.length].id.slice(4), true);
    });
  }
}

// At most a few reloads a second however fast requests arrive (an audit reads the whole ledger). A reload asked
// for by a view the user has left since is dropped: selecting a view loads it anyway.
let reloadWanted = null;
const reloadThrottled = throttle(() => {
  if (reloadWanted === current) quietly(views[current].load);
}, 400);

function reloadCurrent() {
  reloadWanted = current;
  reloadThrottled();
}

// -- the live feed --------------------------------------------------------------------------------------------

const feed = new Map(); // id -> summary, for the rows on the page

/** An outgoing call (Games, Launch) journaled when sent, its answer not in yet. */
function pending(summary) {
  return summary.direction === "outgoing" && summary.status === null && !summary.error;
}

function failed(summary) {
  if (pending(summary)) return false;
  return summary.status === null || summary.status >= 400 || (summary.code !== null && summary.code !== 1 && summary.code !== 104);
}

function feedRow(s) {
  const fault = s.fault ? `${s.fault.kind} (${s.fault.phase})` : "";
  const outgoing = s.direction === "outgoing";
  const row = h(
    "tr",
    {
      tabindex: 0,
      "data-id": s.id,
      class: [failed(s) ? "failed" : "", outgoing ? "outgoing" : ""].join(" ").trim() || null,
      title: outgoing ? `the sandbox called ${s.url}` : null,
      "aria-selected": "false",
      onclick: () => showRequest(s.id, row),
      onkeydown: (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          showRequest(s.id, row);
        }
      },
    },
    h("td", {}, s.id),
    h("td", {}, (s.time || "").slice(11, 23)),
    // A path that is no endpoint: the row names the path it was sent to, and why it was refused.
    s.endpoint === "unknown"
      ? h("td", { class: "endpoint", title: s.reason || null }, `unknown: ${s.method} ${s.path}`)
      : h("td", { class: "endpoint" }, outgoing ? h("span", { class: "direction" }, "outgoing ") : null, s.endpoint),
    h("td", { class: "session" }, s.sessionId ?? ""),
    h("td", { class: "bet-id" }, s.betId ?? ""),
    h("td", { class: "code" }, s.code ?? (s.signature === "invalid" ? "8" : "—")),
    h("td", { class: "http" }, s.status ?? (pending(s) ? "waiting…" : "no answer")),
    h("td", { class: "fault" }, fault),
    h("td", {}, Number(s.durationMs).toFixed(1)),
  );
  row.dataset.search = [outgoing ? "outgoing" : "", s.endpoint, s.endpoint === "unknown" ? s.path : "", s.sessionId, s.betId, s.url, s.code, s.status, fault].join(" ").toLowerCase();
  return row;
}

function addToFeed(summary) {
  if (feed.has(summary.id)) return;
  feed.set(summary.id, summary);
  const body = $("#feed tbody");
  const row = feedRow(summary);
  filterRow(row);
  body.prepend(row);
  while (body.rows.length > FEED_ROWS) {
    feed.delete(Number(body.lastElementChild.dataset.id));
    body.lastElementChild.remove();
  }
}

/** An outgoing call's answer came: its row (and its details, when shown) are redrawn in place. */
function updateFeed(summary) {
  const old = $(`#feed tbody tr[data-id="${summary.id}"]`);
  if (!old) return; // no longer on the page
  feed.set(summary.id, summary);
  const row = feedRow(summary);
  row.setAttribute("aria-selected", old.getAttribute("aria-selected"));
  filterRow(row);
  const focused = document.activeElement === old;
  old.replaceWith(row);
  if (focused) row.focus();
  if (shownRequest === summary.id) showRequest(summary.id, row);
}

function filterRow(row) {
  const wanted = $("#feed-filter").value.trim().toLowerCase();
  row.hidden = Boolean(wanted) && !row.dataset.search.includes(wanted);
}

let feedLoaded = false;

async function loadFeed() {
  const entries = await api("GET", `/requests?limit=${FEED_ROWS}`);
  // Requests whose events came while the journal was being read are newer than what it gave: they stay.
  const newest = entries.length ? entries[entries.length - 1].id : 0;
  const later = [...feed.values()].filter((s) => s.id > newest).sort((a, b) => a.id - b.id);
  // An outgoing call read while it waited, whose answer came meanwhile, stays answered.
  const known = new Map(feed);
  const freshest = (s) => (pending(s) && known.has(s.id) && !pending(known.get(s.id)) ? known.get(s.id) : s);
  feed.clear();
  $("#feed tbody").replaceChildren();
  for (const entry of entries) addToFeed(freshest(summaryOf(entry)));
  for (const summary of later) addToFeed(summary);
  feedLoaded = true;
}

/** A journal entry in the shape of a `request` event. */
function summaryOf(e) {
  let code = null;
  try {
    const parsed = e.response && e.response.body ? JSON.parse(e.response.body) : null;
    if (parsed && Number.isInteger(parsed._responseCode)) code = parsed._responseCode;
  } catch {
    code = null; // a malformed-body fault: no code to show
  }
  return {
    id: e.id, time: e.time, method: e.method, path: e.path, endpoint: e.endpoint, sessionId: e.sessionId,
    betId: e.betId, counterpartyId: e.counterpartyId, status: e.response ? e.response.status : null, code, fault: e.fault,
    signature: e.signature.verdict, durationMs: e.durationMs, error: e.error, warnings: e.warnings,
    direction: e.direction, url: e.url ?? null, sandboxTime: e.sandboxTime ?? null, reason: e.reason ?? null,
  };
}

function pretty(text) {
  if (text === null || text === undefined) return "(none)";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

let shownRequest = null; // the id whose details are shown

async function showRequest(id, row) {
  shownRequest = id;
  for (const other of document.querySelectorAll("#feed tbody tr[aria-selected=true]")) {
    other.setAttribute("aria-selected", "false");
  }
  if (row) row.setAttribute("aria-selected", "true");
  const detail = $("#detail");
  let e;
  try {
    e = await api("GET", `/requests/${id}`);
  } catch (error) {
    detail.replaceChildren(h("p", { class: "error" }, error.message));
    return;
  }
  const outgoing = e.direction === "outgoing";
  const parts = [
    h("h3", {}, `#${e.id} ${e.method} ${outgoing ? e.url : e.path}`),
    outgoing ? h("p", { class: "direction" }, "Outgoing: a call the sandbox made to your server.") : null,
    h("p", {}, `${e.time} · ${e.durationMs.toFixed(1)} ms · signature ${e.signature.verdict}`),
  ];
  if (e.fault) parts.push(h("p", { class: "fault" }, `fault ${e.fault.id}: ${e.fault.kind}, ${e.fault.phase}`));
  if (e.error) parts.push(h("p", { class: "error" }, e.error));
  for (const warning of e.warnings) parts.push(h("p", { class: "fault" }, `lenient rule: ${warning}`));
  if (e.signature.verdict === "invalid") parts.push(signaturePanel(e.signature));
  parts.push(
    h("h4", {}, "Headers"),
    h("table", { class: "headers" }, h("tbody", {}, e.headers.map(([name, value]) => h("tr", {}, h("th", {}, name), h("td", { class: "wrap" }, value))))),
    h("h4", {}, "Body"),
    h("pre", { class: "request-body" }, pretty(e.body)),
    h("h4", {}, `Answer${e.response ? ` (HTTP ${e.response.status})` : ""}`),
    h("pre", { class: "response-body" }, e.response ? pretty(e.response.body) : outgoing && !e.error ? "waiting for the answer…" : "no answer was sent"),
  );
  if (e.truncated) parts.push(h("p", { class: "muted" }, `truncated: ${JSON.stringify(e.truncated)}`));
  detail.replaceChildren(...parts.filter(Boolean));
}

function signaturePanel(signature) {
  const debug = signature.debug || {};
  const parts = debug.parts || {};
  const line = (name, value) => h("tr", {}, h("th", {}, name), h("td", { class: "wrap" }, value ?? "(none)"));
  return h(
    "section",
    { id: "signature", "aria-label": "Signature diagnostics" },
    h("h4", { class: "bad" }, `Signature refused: ${signature.error || "mismatch"}`),
    debug.hints && debug.hints.length ? h("ul", { class: "hints" }, debug.hints.map((hint) => h("li", {}, hint))) : null,
    h(
      "div",
      { class: "sig-compare" },
      h(
        "div",
        { class: "sig-sandbox" },
        h("h5", {}, "What the sandbox signed"),
        h("pre", { class: "string-to-sign" }, debug.stringToSign ?? "(not computed)"),
        h("table", {}, h("tbody", {}, line("body", parts.body), line("counterpartyId", parts.counterpartyId), line("timestamp", parts.timestamp), line("requestId", parts.requestId))),
        debug.expectedSign ? h("p", {}, "expected X-Sign ", h("code", { class: "expected-sign" }, debug.expectedSign)) : null,
      ),
      h(
        "div",
        { class: "sig-client" },
        h("h5", {}, "What your request carried"),
        h("p", {}, "received X-Sign ", h("code", { class: "received-sign" }, debug.receivedSign ?? "(none)")),
        h("p", { class: "muted" }, "Sign exactly: <raw body>.<X-Counterparty-Id>.<X-Timestamp>.<X-Request-Id> (GET: without the body and its dot), HMAC-SHA256 with the secret's UTF-8 bytes, lowercase hex."),
      ),
    ),
  );
}

// -- bets -----------------------------------------------------------------------------------------------------

async function loadBets() {
  if (!feedLoaded) await loadFeed(); // the bets' attempts are the feed's requests
  const form = $("#bets-filter");
  const bets = await api("GET", "/bets" + query(Object.fromEntries(new FormData(form))));
  // Attempts come from the requests the feed holds (the newest FEED_ROWS): no second read of the journal.
  const attempts = new Map();
  for (const summary of [...feed.values()].sort((a, b) => a.id - b.id)) {
    if (!summary.betId) continue;
    const key = `${summary.counterpartyId} ${summary.betId}`;
    if (!attempts.has(key)) attempts.set(key, []);
    attempts.get(key).push(summary);
  }
  // Open bets first (they are the ones that need attention), then the newest.
  bets.sort((a, b) => (b.status === "open") - (a.status === "open") || String(b.createdAt).localeCompare(String(a.createdAt)));
  const shown = bets.slice(0, BET_CARDS);
  const list = shown.map((bet) => betCard(bet, attempts.get(`${bet.counterpartyId} ${bet.betId}`) || []));
  if (bets.length > shown.length) list.push(h("p", { class: "muted" }, `Showing ${shown.length} of ${bets.length} bets: filter to narrow.`));
  $("#bets").replaceChildren(...(list.length ? list : [h("p", { class: "muted" }, "No bets match.")]));
}

function betCard(bet, attempts) {
  return h(
    "article",
    { class: `bet ${bet.status}`, "data-bet": bet.betId },
    h("h3", {}, `${bet.betId} — ${bet.status}`),
    h("p", {}, `session ${bet.sessionId} · player ${bet.playerId} · ${bet.kind} · stake ${bet.stake}`, bet.win !== null ? ` · win ${bet.win}` : ""),
    h(
      "ol",
      { class: "timeline", "aria-label": `Attempts for ${bet.betId}` },
      attempts.map((a) =>
        h(
          "li",
          { class: failed(a) ? "bad" : null },
          `${(a.time || "").slice(11, 23)} ${a.endpoint} → HTTP ${a.status ?? "no answer"}, code ${a.code ?? "—"}`,
          a.fault ? h("span", { class: "fault" }, ` · fault ${a.fault.kind} (${a.fault.phase})`) : null,
        ),
      ),
    ),
    h("p", { class: "muted" }, "ledger: ", bet.history.map((step) => `${step.operation} #${step.transactionId} → ${step.balance}`).join(" · ") || "none"),
  );
}

// -- players and sessions -------------------------------------------------------------------------------------

async function loadWallets() {
  const [players, sessions] = await Promise.all([api("GET", "/players"), api("GET", "/sessions")]);
  $("#players tbody").replaceChildren(...players.map(playerRow));
  $("#sessions tbody").replaceChildren(...sessions.map(sessionRow));
}

function playerRow(p) {
  const input = h("input", { class: "balance-input", inputmode: "decimal", "aria-label": `New balance for ${p.id}`, value: p.balance });
  return h(
    "tr",
    { "data-id": p.id },
    h("th", { scope: "row" }, p.id),
    h("td", {}, p.currency),
    h("td", { class: "balance", "data-player": p.id }, p.balance),
    h("td", {}, p.blocked ? "yes" : "no"),
    h(
      "td",
      {},
      h("form", { class: "inline", onsubmit: (event) => {
        event.preventDefault();
        act(async () => {
          await api("PATCH", `/players/${encodeURIComponent(p.id)}`, { balance: input.value.trim() });
          await loadWallets();
        });
      } }, input, " ", h("button", { type: "submit", class: "save-balance", "aria-label": `Save the balance of ${p.id}` }, "Save")),
    ),
    h("td", {}, h("button", { class: "block", onclick: () => act(async () => {
      await api("PATCH", `/players/${encodeURIComponent(p.id)}`, { blocked: !p.blocked });
      await loadWallets();
    }) }, p.blocked ? `Unblock ${p.id}` : `Block ${p.id}`)),
  );
}

function sessionRow(s) {
  const active = s.status === "active";
  return h(
    "tr",
    { "data-id": s.id },
    h("th", { scope: "row" }, s.id),
    h("td", {}, s.playerId),
    h("td", { class: active ? "good" : "bad" }, s.status),
    h("td", {}, s.expiresAt ?? "never"),
    h("td", {}, s.minBet ?? "—"),
    h("td", {}, s.maxBet ?? "—"),
    h("td", { class: "balance", "data-player": s.playerId }, `${s.balance} ${s.currency}`),
    h("td", {}, h("button", { class: "session-status", onclick: () => act(async () => {
      await api("PATCH", `/sessions/${encodeURIComponent(s.id)}`, { status: active ? "expired" : "active" });
      await loadWallets();
    }) }, active ? `Expire ${s.id}` : `Activate ${s.id}`)),
  );
}

/** A form's non-empty fields; numbers where the field is a number input. */
function fields(form) {
  const found = {};
  for (const el of form.elements) {
    if (!el.name || el.value.trim() === "") continue;
    found[el.name] = el.type === "number" ? Number(el.value) : el.value.trim();
  }
  return found;
}

function wireWallets() {
  $("#session-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(async () => {
      const created = await api("POST", "/sessions", fields(event.target));
      event.target.reset();
      notify(`created session ${created.id}`);
      await loadWallets();
    });
  });
}

function updateBalance(data) {
  for (const cell of document.querySelectorAll(`.balance[data-player="${CSS.escape(data.playerId)}"]`)) {
    cell.textContent = cell.closest("#sessions") ? `${data.balance} ${data.currency}` : data.balance;
  }
}

// -- faults ---------------------------------------------------------------------------------------------------

async function loadFaults() {
  const rules = await api("GET", "/faults");
  const filters = (r) => ["sessionId", "playerId", "betId"].filter((k) => r[k]).map((k) => `${k}=${r[k]}`).join(" ");
  $("#faults tbody").replaceChildren(
    ...rules.map((r) =>
      h(
        "tr",
        { "data-id": r.id },
        h("th", { scope: "row" }, r.id),
        h("td", {}, r.endpoint),
        h("td", {}, r.kind),
        h("td", {}, r.phase),
        h("td", {}, filters(r)),
        h("td", { class: "fired" }, r.fired),
        h("td", { class: "remaining" }, r.remaining ?? "∞"),
        h("td", { class: "matched" }, r.matched),
        h("td", { class: "state" }, r.state ?? ""),
        h("td", {}, h("button", { class: "remove-fault", onclick: () => act(async () => {
          await api("DELETE", `/faults/${encodeURIComponent(r.id)}`);
          await loadFaults();
        }) }, `Remove ${r.id}`)),
      ),
    ),
  );
  if (!rules.length) $("#faults tbody").append(h("tr", {}, h("td", { colspan: 10, class: "muted" }, "No fault rules.")));
}

function wireFaults() {
  $("#fault-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(async () => {
      const rule = fields(event.target);
      if (!("times" in rule)) rule.times = null; // empty: until removed
      // A field left filled in for another kind is not sent: it would not apply to this one.
      if (rule.kind !== "http_error") delete rule.status;
      if (rule.kind !== "response_code") delete rule.responseCode;
      if (rule.kind !== "delay" && rule.kind !== "timeout") delete rule.delayMs;
      await api("POST", "/faults", rule);
      await loadFaults();
    });
  });
  $("#faults-clear").addEventListener("click", () => act(async () => {
    await api("DELETE", "/faults");
    await loadFaults();
  }));
  $("#scenario-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(async () => {
      const { name, ...options } = fields(event.target);
      const applied = await api("POST", `/scenarios/${encodeURIComponent(name)}`, options);
      await loadFaults();
      notify(`Applied ${applied.name}: ${applied.faultIds.join(", ")}. Play a round, then read the Report.`);
    });
  });
  $("#scenario-name").addEventListener("change", describeScenario);
}

let scenarioList = [];

/** The sandbox's named scenarios, in the form's list (read once: they are part of the sandbox's code). */
async function loadScenarios() {
  scenarioList = await api("GET", "/scenarios");
  $("#scenario-name").replaceChildren(...scenarioList.map((s) => h("option", { value: s.name }, s.name)));
  describeScenario();
}

function describeScenario() {
  const chosen = scenarioList.find((s) => s.name === $("#scenario-name").value);
  $("#scenario-description").replaceChildren(
    ...(chosen ? [chosen.description, h("br"), h("span", { class: "muted" }, `checks: ${chosen.expects.join(", ")}`)] : []),
  );
}

// -- audit and report -----------------------------------------------------------------------------------------

async function loadAudit() {
  const audit = await api("GET", "/audit");
  $("#audit").replaceChildren(
    h("p", { class: audit.ok ? "good" : "bad", id: "audit-verdict" }, audit.ok ? "The money adds up." : "The audit found problems."),
    audit.violations.length ? h("ul", {}, audit.violations.map((v) => h("li", { class: "bad" }, typeof v === "string" ? v : JSON.stringify(v)))) : null,
    h("h3", {}, `Open bets (${audit.openBets.length})`),
    audit.openBets.length
      ? h("div", { class: "table-wrap" }, h("table", {}, h("tbody", {}, audit.openBets.map((b) => h("tr", {}, Object.entries(b).map(([k, v]) => h("td", {}, `${k}: ${v}`)))))))
      : h("p", { class: "muted" }, "No stake is left hanging."),
  );
}

const STATUS_CLASS = { fail: "bad", warn: "fault", pass: "good", not_applicable: "muted" };

/** The report's admin path in a format, with the grace period asked for. */
function reportPath(format) {
  return "/report" + query({ format, graceSeconds: $("#report-grace").value.trim() });
}

async function loadReport() {
  const report = await api("GET", reportPath("json"));
  $("#report-html").href = ADMIN + reportPath("html");
  $("#report-junit").href = ADMIN + reportPath("junit");
  const s = report.summary;
  const failedIds = report.checks.filter((c) => c.status === "fail").map((c) => c.id);
  $("#report").replaceChildren(
    ...[
      h("p", { id: "report-verdict", class: report.passed ? "good" : "bad" }, report.passed ? "Passed: no check failed." : `Failed: ${failedIds.join(", ")}`),
      h(
        "p",
        { class: "muted" },
        `${s.fail} failed · ${s.warn} warnings · ${s.pass} passed · ${s.notApplicable} not applicable, over ${s.requests} requests and ${s.bets} bets; open bets younger than ${s.graceSeconds} s are still in play.`,
        s.journalDropped ? ` The journal dropped ${s.journalDropped} requests: the evidence is incomplete.` : null,
        s.unknownPaths ? ` ${s.unknownPaths} requests went to a path that is no endpoint (not judged; see the feed).` : null,
      ),
      report.scenarios.length ? h("h3", {}, "Scenarios applied") : null,
      report.scenarios.length ? h("ul", { id: "report-scenarios" }, report.scenarios.map(scenarioItem)) : null,
      h("h3", {}, "Checks (failures first)"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { id: "report-checks" },
          h("thead", {}, h("tr", {}, h("th", {}, "status"), h("th", {}, "check"), h("th", {}, "finding and evidence"))),
          h("tbody", {}, report.checks.map(checkRow)),
        ),
      ),
    ].filter(Boolean),
  );
}

function scenarioItem(applied) {
  const on = ["sessionId", "playerId"].filter((k) => applied[k]).map((k) => `${k}=${applied[k]}`).join(" ");
  return h(
    "li",
    { "data-scenario": applied.name },
    h("span", { class: STATUS_CLASS[applied.status] }, applied.status),
    ` ${applied.name}${on ? ` (${on})` : ""}: faults fired ${applied.fired}`,
    applied.betIds.length ? ` on ${applied.betIds.join(", ")}` : null,
    " · ",
    applied.checks.map((c) => `${c.id} ${c.status}`).join(", "),
  );
}

function checkRow(check) {
  return h(
    "tr",
    { "data-check": check.id, class: `check ${check.status}` },
    h("td", { class: `status ${STATUS_CLASS[check.status]}` }, check.status),
    h("th", { scope: "row" }, check.id, h("br"), h("span", { class: "muted rule" }, check.rule)),
    h(
      "td",
      { class: "wrap" },
      h("span", { class: "summary" }, check.summary),
      check.evidence.length ? h("ul", { class: "evidence" }, check.evidence.map(evidenceItem)) : null,
    ),
  );
}

function evidenceItem(e) {
  return h(
    "li",
    {},
    e.betId ? h("span", { class: "bet-id" }, `bet ${e.betId}: `) : null,
    e.message,
    " ",
    // Each journal entry opens in the Requests view, with its headers, bodies and answer.
    e.entries.map((id) => h("button", { type: "button", class: "entry", "aria-label": `Open request ${id}`, onclick: () => openRequest(id) }, `#${id}`)),
    Object.keys(e.details).length ? h("details", {}, h("summary", {}, "details"), h("pre", {}, JSON.stringify(e.details, null, 2))) : null,
  );
}

function openRequest(id) {
  select("feed");
  showRequest(id, $(`#feed tbody tr[data-id="${id}"]`));
}

// -- the sandbox clock ----------------------------------------------------------------------------------------

let clock = { virtual: false, offsetMs: 0 }; // offsetMs: sandbox time minus this browser's time

async function loadClock() {
  const now = await api("GET", "/clock");
  clock = { virtual: now.mode === "virtual", offsetMs: now.nowMs - Date.now() };
  showClock();
}

/** A virtual clock runs on from where it was set: the badge ticks with it, without asking the sandbox again. */
function showClock() {
  const badge = $("#clock");
  badge.hidden = !clock.virtual;
  if (clock.virtual) badge.textContent = `virtual clock ${new Date(Date.now() + clock.offsetMs).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

const reloadClock = throttle(() => quietly(loadClock), 400);

// -- events ---------------------------------------------------------------------------------------------------

let stream = null;

function connect() {
  if (stream) stream.close();
  stream = new EventSource(`${ADMIN}/events`);
  const live = $("#live");
  stream.addEventListener("hello", () => {
    live.textContent = "live";
    live.className = "badge live";
    quietly(loadFeed); // catch up with what arrived while not connected
    reloadClock();
  });
  stream.addEventListener("error", () => {
    live.textContent = "reconnecting…";
    live.className = "badge down";
  });
  stream.addEventListener("request", (event) => {
    const summary = JSON.parse(event.data);
    addToFeed(summary);
    // A clock changed from Python (no admin HTTP call, so no `changed` event) shows in the requests' times.
    if (summary.direction === "incoming" && Boolean(summary.sandboxTime) !== clock.virtual) reloadClock();
    // Not the report: judging a full journal takes a while, so it is judged when asked (or the state changes).
    if (current === "faults" || current === "bets" || current === "audit") reloadCurrent();
  });
  stream.addEventListener("completed", (event) => updateFeed(JSON.parse(event.data)));
  stream.addEventListener("balance", (event) => updateBalance(JSON.parse(event.data)));
  stream.addEventListener("changed", () => {
    reloadClock();
    if (current !== "feed") reloadCurrent();
  });
  stream.addEventListener("cleared", () => {
    feed.clear();
    $("#feed tbody").replaceChildren();
  });
  stream.addEventListener("missed", (event) => {
    notify(`The feed fell behind and skipped ${JSON.parse(event.data).missed} events; reloaded from the journal.`);
    quietly(loadFeed);
  });
}

// -- login, reset, start ----------------------------------------------------------------------------------------

function showLogin() {
  if (stream) stream.close();
  $("#login").hidden = false;
  $("#tabs").hidden = true;
  $("#reset").hidden = true;
  for (const panel of document.querySelectorAll("[role=tabpanel]")) panel.hidden = true;
  $("#live").textContent = "logged out";
  $("#login-token").focus();
}

async function open({ tokenRequired }) {
  $("#login").hidden = true;
  $("#tabs").hidden = false;
  $("#reset").hidden = false;
  $("#logout").hidden = !tokenRequired;
  select(current);
  connect();
  await Promise.all([quietly(loadScenarios), quietly(loadClock)]);
}

function wireLogin() {
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("#login-error");
    try {
      await api("POST", "/ui/login", { token: $("#login-token").value });
      error.hidden = true;
      $("#login-token").value = "";
      await open(await api("GET", "/ui/session"));
    } catch (problem) {
      error.textContent = problem.status === 401 ? "Wrong admin token." : problem.message;
      error.hidden = false;
    }
  });
  $("#logout").addEventListener("click", () => act(async () => {
    await api("POST", "/ui/logout");
    $("#logout").hidden = true;
    showLogin();
  }));
}

function wireReset() {
  const dialog = $("#reset-dialog");
  $("#reset").addEventListener("click", () => dialog.showModal());
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "reset") return;
    act(async () => {
      await api("POST", "/reset");
      notify("The sandbox was reset.");
      await views[current].load();
    });
  });
}

async function start() {
  wireTabs();
  wireLogin();
  wireReset();
  wireWallets();
  wireFaults();
  $("#bets-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    act(loadBets);
  });
  $("#feed-filter").addEventListener("input", () => document.querySelectorAll("#feed tbody tr").forEach(filterRow));
  $("#feed-clear").addEventListener("click", () => act(() => api("DELETE", "/requests")));
  $("#audit-refresh").addEventListener("click", () => act(loadAudit));
  $("#report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(loadReport);
  });
  setInterval(showClock, 1000);
  const session = await api("GET", "/ui/session");
  if (session.loggedIn) await open(session);
  else showLogin();
}

start().catch((error) => notify(`The dashboard could not start: ${error.message}`));
