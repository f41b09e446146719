// Options: the server address and personal API token. Saved only after GET /api/teams/ accepted
// the token, into chrome.storage.local (extension storage: no web page can read it).

import { ext } from "./lib/ext.js";
import { apiRequest, errorMessage, isInsecureRemote, normalizeServerUrl, originPattern } from "./lib/api.js";

const $ = (id) => document.getElementById(id);
// chrome.pageCapture (MHTML) exists in Chromium only. Firefox is told apart by runtime.getBrowserInfo,
// which only Firefox has (recent Chromium also defines `browser`, so that is no test).
const MHTML_AVAILABLE = typeof ext.runtime.getBrowserInfo !== "function";

function say(text, kind = "") {
  $("status").textContent = text;
  $("status").className = kind;
}

async function showCurrent() {
  const { settings } = await ext.storage.local.get("settings");
  $("mhtml-option").hidden = !MHTML_AVAILABLE;
  $("mhtml").checked = Boolean(settings && settings.mhtml);
  if (settings && settings.serverUrl) {
    $("server").value = settings.serverUrl;
    const teams = (settings.teams || []).map((team) => `${team.name} (${team.role})`).join(", ");
    const pages = settings.mhtml ? "pages saved as MHTML archives" : "pages saved as HTML";
    $("current").textContent = settings.token
      ? `Connected to ${settings.serverUrl} with token ${settings.token.slice(0, 8)}…${teams ? `; teams: ${teams}` : ""}; ${pages}.`
      : `Server ${settings.serverUrl}; no token saved.`;
  } else {
    $("current").textContent = "Not set up yet.";
  }
}

async function checkAndSave(serverUrl, token, granted, mhtml) {
  if (!(await granted)) {
    const what = mhtml ? `access to ${serverUrl} (and to save MHTML archives)` : `access to ${serverUrl}`;
    say(`The extension needs ${what} to send captures there. Save again and allow it.`, "error");
    return;
  }
  if (!mhtml && MHTML_AVAILABLE) await ext.permissions.remove({ permissions: ["pageCapture"] }).catch(() => false);
  say("Checking the token with the server…");
  const response = await apiRequest({ serverUrl, token }, "/api/teams/");
  if (!response.ok) {
    const reason = response.status === 0
      ? `The server could not be reached (${response.networkError}). Is the address right?`
      : errorMessage(response.status, response.data);
    say(`Not saved: ${reason}`, "error");
    return;
  }
  const rows = Array.isArray(response.data) ? response.data : (response.data && response.data.results) || [];
  const teams = rows.map((team) => ({ id: team.id, name: String(team.name), role: String(team.role || "") }));
  await ext.storage.local.set({ settings: { serverUrl, token, teams, mhtml, checkedAt: new Date().toISOString() } });
  const warning = isInsecureRemote(serverUrl) ? " Warning: http:// sends the token unencrypted; use https://." : "";
  say(`Saved. The token works: ${teams.length} team(s).${warning}`, warning ? "notice" : "");
  $("token").value = "";
  await showCurrent();
}

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  let serverUrl;
  try {
    serverUrl = normalizeServerUrl($("server").value);
  } catch (error) {
    say(error.message, "error");
    return;
  }
  const token = $("token").value.trim();
  if (!token) {
    say("Paste your personal API token.", "error");
    return;
  }
  // Asked for right here, in the click, before anything awaits: browsers only show the
  // permission prompt from a user action. Already granted -> resolves true without a prompt.
  const mhtml = MHTML_AVAILABLE && $("mhtml").checked;
  const request = mhtml ? { origins: [originPattern(serverUrl)], permissions: ["pageCapture"] } : { origins: [originPattern(serverUrl)] };
  const granted = ext.permissions.request(request).catch((error) => {
    say(error.message, "error");
    return false;
  });
  checkAndSave(serverUrl, token, granted, mhtml).catch((error) => say(error.message, "error"));
});

$("forget").addEventListener("click", async () => {
  const { settings } = await ext.storage.local.get("settings");
  await ext.storage.local.set({ settings: { ...(settings || {}), token: "", teams: [] } });
  say("The token is forgotten. Captures wait in the outbox until a new one is saved.");
  await showCurrent();
});

showCurrent();
