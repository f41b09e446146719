// The popup (also opened as a small window aimed at a tab: popup.html?tab=ID&action=repost).
// Everything that comes from the page or the server is shown with textContent, never as HTML:
// the pages investigators capture are hostile by definition.

import { ext } from "./lib/ext.js";
import { apiRequest, appLink, errorMessage } from "./lib/api.js";
import { describeResponse } from "./lib/capture.js";
import { parseAccountUrl } from "./lib/platforms.js";

const storage = ext.storage.local;
const RECENT_LIMIT = 5;
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const ACTION_LABELS = { page: "Page", account: "Account", repost: "Repost" };

const state = { settings: null, tab: null, selection: "", cases: new Map(), searchTimer: null, searchSeq: 0 };

function el(tag, { text, className, attrs } = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

async function send(message) {
  const answer = await ext.runtime.sendMessage(message);
  if (!answer || !answer.ok) throw new Error(answer ? answer.error : "The extension's background did not answer.");
  return answer.result;
}

// --- the tab ------------------------------------------------------------------------------------

async function targetTab() {
  const tabId = Number(params.get("tab"));
  if (Number.isInteger(tabId) && tabId > 0) return ext.tabs.get(tabId);
  const [tab] = await ext.tabs.query({ active: true, currentWindow: true });
  return tab;
}

async function readSelection(tab) {
  try {
    const [injection] = await ext.scripting.executeScript({
      target: { tabId: tab.id },
      func: () => String(window.getSelection ? window.getSelection() : ""),
    });
    return injection && typeof injection.result === "string" ? injection.result : "";
  } catch {
    return ""; // e.g. a browser page, where nothing can be captured anyway
  }
}

function showTab() {
  const { tab } = state;
  const url = tab && tab.url ? tab.url : "";
  $("page-title").textContent = tab && tab.title ? tab.title : "(no title)";
  $("page-url").textContent = url || "This tab cannot be captured.";
  const account = parseAccountUrl(url);
  $("page-account").textContent = account
    ? `Account: ${account.platform} @${account.handle}`
    : "No account in this URL (Flag account needs a profile or post page).";
  const capturable = /^https?:\/\//i.test(url);
  $("do-page").disabled = !capturable;
  $("do-account").disabled = !capturable || !account;
  $("selection").textContent = state.selection ? state.selection : "Select the suspect post's text on the page to add it as a repost.";
  $("do-repost").disabled = !capturable || !state.selection.trim();
}

// --- cases --------------------------------------------------------------------------------------

function teamName(teamId) {
  const teams = (state.settings && state.settings.teams) || [];
  if (teams.length < 2) return "";
  const team = teams.find((item) => item.id === teamId);
  return team ? team.name : "";
}

function caseLabel(item) {
  const team = teamName(item.team);
  const status = item.status && item.status !== "open" ? ` [${item.status.replace("_", " ")}]` : "";
  return `${item.title}${status}${team ? ` · ${team}` : ""}`;
}

async function loadCases(search) {
  const seq = (state.searchSeq += 1);
  const query = new URLSearchParams({ ordering: "-updated_at", page_size: "20" });
  if (search) query.set("search", search);
  $("case-status").textContent = "Loading cases…";
  const response = await apiRequest(state.settings, `/api/cases/?${query}`);
  if (seq !== state.searchSeq) return; // a newer search has started
  const { recentCases = [], lastCase = null } = await storage.get(["recentCases", "lastCase"]);
  const select = $("case");
  const previous = select.value || (lastCase ? String(lastCase.id) : "");
  select.replaceChildren();
  state.cases.clear();
  const needle = (search || "").toLowerCase();
  const recent = recentCases.filter((item) => !needle || item.title.toLowerCase().includes(needle));
  if (recent.length) {
    const group = el("optgroup", { attrs: { label: "Used recently" } });
    for (const item of recent) {
      state.cases.set(String(item.id), item);
      group.append(el("option", { text: caseLabel(item), attrs: { value: String(item.id), title: caseLabel(item) } }));
    }
    select.append(group);
  }
  if (!response.ok) {
    $("case-status").textContent =
      response.status === 0 ? `The server could not be reached: ${response.networkError}` : errorMessage(response.status, response.data);
    $("case-status").className = "error";
  } else {
    $("case-status").className = "muted";
    const results = (response.data && response.data.results) || [];
    const fresh = results.filter((item) => !state.cases.has(String(item.id)));
    if (fresh.length) {
      const group = el("optgroup", { attrs: { label: search ? "Matching cases" : "Recently updated" } });
      for (const item of fresh) {
        state.cases.set(String(item.id), item);
        group.append(el("option", { text: caseLabel(item), attrs: { value: String(item.id), title: caseLabel(item) } }));
      }
      select.append(group);
    }
    $("case-status").textContent = state.cases.size ? "" : search ? "No case matches." : "No case yet: create one in the app.";
  }
  if (previous && state.cases.has(previous)) select.value = previous;
  else if (state.cases.size) select.selectedIndex = 0;
}

async function rememberCase(item) {
  const { recentCases = [] } = await storage.get("recentCases");
  const entry = { id: item.id, title: item.title, team: item.team, status: item.status };
  const next = [entry, ...recentCases.filter((other) => other.id !== item.id)].slice(0, RECENT_LIMIT);
  await storage.set({ recentCases: next, lastCase: { id: item.id, title: item.title } });
}

// --- capture ------------------------------------------------------------------------------------

function showResult(result) {
  const box = $("result");
  box.hidden = false;
  box.className = `result ${result.state}`;
  box.replaceChildren(el("div", { text: result.message }));
  for (const link of result.links || []) {
    const anchor = el("a", { text: link.label, attrs: { href: link.href, target: "_blank", rel: "noopener noreferrer" } });
    box.append(anchor);
  }
  for (const file of result.files || []) {
    box.append(el("div", { text: `${file.name}: ${file.size} bytes, SHA-256 ${file.sha256}`, className: "hashes" }));
  }
}

/** What a Retry from the outbox came to ({kind, data | message}), in the result box. */
function showOutcome(outcome) {
  if (!outcome) return;
  if (outcome.kind === "ok") showResult({ state: "sent", ...describeResponse(outcome.data, state.settings) });
  else if (outcome.kind === "rejected") showResult({ state: "rejected", message: outcome.message });
  else showResult({ state: "waiting", message: `Still in the outbox: ${outcome.message}` });
}

async function runAction(action) {
  const item = state.cases.get($("case").value);
  if (!item) {
    showResult({ state: "rejected", message: "Pick a case first." });
    return;
  }
  const buttons = document.querySelectorAll("button[data-action]");
  buttons.forEach((button) => (button.disabled = true));
  showResult({ state: "waiting", message: "Capturing…" });
  try {
    const persona = $("persona").value;
    await storage.set({ persona });
    await rememberCase(item);
    const result = await send({
      type: "capture",
      tabId: state.tab.id,
      action,
      caseId: item.id,
      caseTitle: item.title,
      persona,
      sourceUrl: action === "repost" ? $("source-url").value : "",
    });
    showResult(result);
  } catch (error) {
    showResult({ state: "rejected", message: error.message });
  } finally {
    showTab();
    await renderOutbox();
  }
}

// --- outbox and history -------------------------------------------------------------------------

function summaryLine(summary) {
  const what = ACTION_LABELS[summary.action] || summary.action;
  const account = summary.account ? ` @${summary.account.handle}` : "";
  return `${what}${account} → ${summary.caseTitle || `case ${summary.caseId}`}: ${summary.title || summary.url}`;
}

async function renderOutbox() {
  const { outbox = [], history = [] } = await storage.get(["outbox", "history"]);
  const list = $("outbox");
  list.replaceChildren();
  for (const entry of outbox) {
    const item = el("li", { className: `state-${entry.state}` });
    item.append(el("div", { text: summaryLine(entry.summary) }));
    const when = entry.state === "waiting" && entry.nextAttemptAt
      ? `waiting, next try ${new Date(Math.max(entry.nextAttemptAt, Date.now())).toLocaleTimeString()}`
      : entry.state === "rejected" ? `refused by the server${entry.status ? ` (HTTP ${entry.status})` : ""}` : entry.state;
    item.append(el("div", { text: `${when}; ${entry.attempts} attempt(s)` }));
    if (entry.lastError) item.append(el("div", { text: entry.lastError }));
    const retry = el("button", { text: "Retry", attrs: { type: "button" } });
    retry.addEventListener("click", async () => {
      retry.disabled = true;
      try {
        showOutcome(await send({ type: "outbox-retry", id: entry.id }));
      } catch (error) {
        showResult({ state: "rejected", message: error.message });
      }
      await renderOutbox();
    });
    const discard = el("button", { text: "Discard", attrs: { type: "button" } });
    discard.addEventListener("click", async () => {
      await send({ type: "outbox-discard", id: entry.id });
      await renderOutbox();
    });
    item.append(retry, discard);
    list.append(item);
  }
  $("outbox-empty").hidden = outbox.length > 0;
  $("outbox-flush").hidden = outbox.length === 0;

  const past = $("history");
  past.replaceChildren();
  for (const entry of history.slice(0, 5)) {
    const item = el("li");
    item.append(el("div", { text: `${new Date(entry.at).toLocaleTimeString()} ${summaryLine(entry.summary)}` }));
    for (const link of describeResponse(entry.response, state.settings).links) {
      item.append(el("a", { text: link.label, attrs: { href: link.href, target: "_blank", rel: "noopener noreferrer" } }));
    }
    past.append(item);
  }
}

// --- start --------------------------------------------------------------------------------------

async function start() {
  $("open-options").addEventListener("click", () => ext.runtime.openOptionsPage());
  $("setup-options").addEventListener("click", () => ext.runtime.openOptionsPage());
  $("outbox-flush").addEventListener("click", async () => {
    await send({ type: "outbox-flush" });
    await renderOutbox();
  });
  ext.storage.onChanged.addListener((changes, area) => {
    if (area === "local" && (changes.outbox || changes.history)) renderOutbox();
  });
  const { settings, persona = "" } = await storage.get(["settings", "persona"]);
  state.settings = settings && settings.serverUrl && settings.token ? settings : null;
  await renderOutbox();
  if (!state.settings) {
    $("setup").hidden = false;
    return;
  }
  $("main").hidden = false;
  $("persona").value = persona;
  state.tab = await targetTab();
  state.selection = state.tab ? await readSelection(state.tab) : "";
  showTab();
  for (const button of document.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", () => runAction(button.dataset.action));
  }
  $("case-search").addEventListener("input", () => {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(() => loadCases($("case-search").value.trim()), 250);
  });
  if (params.get("action") === "repost") $("source-url").focus();
  else $("case-search").focus();
  await loadCases("");
}

start().catch((error) => showResult({ state: "rejected", message: error.message }));
