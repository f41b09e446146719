// The extension's background: context menu entries and the keyboard shortcut, the capture itself
// (screenshot, page, hashes) and the outbox that sends captures and retries them.
//
// Chromium runs this file as the MV3 service worker, Firefox as its (non-persistent) background
// script; both may stop it when idle, so every listener is registered at the top level and all
// state lives in chrome.storage.local.

import { ext } from "./lib/ext.js";
import { appLink } from "./lib/api.js";
import { captureFields, collectFromTab, describeOutcome, sendCapture } from "./lib/capture.js";
import { createOutbox } from "./lib/outbox.js";
import { ACCOUNT_PAGE_PATTERNS, parseAccountUrl } from "./lib/platforms.js";

const ALARM = "outbox-retry";
const MIN_ALARM_DELAY_MS = 30_000; // Chromium refuses alarms sooner than 30 s
const MENU = { "capture-page": "page", "flag-account": "account", "add-repost": "repost" };
const storage = ext.storage.local;

async function loadSettings() {
  const { settings } = await storage.get("settings");
  return settings && settings.serverUrl && settings.token ? settings : null;
}

const outbox = createOutbox({
  storage,
  send: async (capture) => sendCapture(await loadSettings(), capture),
});

// --- capturing ---------------------------------------------------------------------------------

/** Captures a tab into a case and sends it (through the outbox). Resolves to what the popup or a
 * notification shows: {state: "sent" | "waiting" | "rejected", message, links, account}. */
async function captureTab({ tabId, action, caseId, caseTitle = "", persona = "", sourceUrl = "" }) {
  const tab = await ext.tabs.get(tabId);
  const capturedAt = new Date().toISOString();
  // Refuse early (before the screenshot) what cannot become a capture, e.g. a page with no account.
  captureFields({ action, caseId, url: tab.url, selection: action === "repost" ? "-" : "", sourceUrl, capturedAt });
  const settings = await loadSettings();
  const collected = await collectFromTab(ext, tab, { mhtml: Boolean(settings && settings.mhtml) });
  const fields = captureFields({
    action,
    caseId,
    url: tab.url,
    title: collected.title,
    selection: collected.selection,
    sourceUrl,
    persona,
    capturedAt,
    userAgent: navigator.userAgent,
  });
  const account = action === "account" ? parseAccountUrl(tab.url) : null;
  const summary = {
    action,
    caseId: Number(caseId),
    caseTitle,
    url: tab.url,
    title: collected.title,
    account,
    capturedAt,
    files: collected.files.map(({ field, name, size, sha256 }) => ({ field, name, size, sha256 })),
  };
  const id = await outbox.add(summary, { fields, files: collected.files });
  const outcomes = await outbox.flush({ ids: [id] });
  await afterFlush();
  return describeOutcome(outcomes[id], summary, settings);
}

// --- the outbox: alarms and badge --------------------------------------------------------------

async function afterFlush() {
  const next = await outbox.nextAttemptAt();
  if (next === null) {
    await ext.alarms.clear(ALARM);
  } else {
    await ext.alarms.create(ALARM, { when: Math.max(next, Date.now() + MIN_ALARM_DELAY_MS) });
  }
  const entries = await outbox.list();
  await ext.action.setBadgeText({ text: entries.length ? String(entries.length) : "" });
  if (entries.length) {
    const rejected = entries.some((entry) => entry.state === "rejected");
    await ext.action.setBadgeBackgroundColor({ color: rejected ? "#b3261e" : "#9a6700" });
  }
}

async function flushDue({ now = false } = {}) {
  await outbox.flush({ now });
  await afterFlush();
}

ext.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === ALARM) flushDue();
});
ext.runtime.onStartup.addListener(() => {
  // Alarms may not survive a browser restart, and Firefox may not keep the menus: redo both.
  createMenus();
  flushDue();
});

// --- messages from the popup -------------------------------------------------------------------

async function handleMessage(message) {
  switch (message && message.type) {
    case "capture":
      return captureTab(message);
    case "outbox-retry": {
      const outcome = await outbox.retry(message.id);
      await afterFlush();
      return outcome;
    }
    case "outbox-discard":
      await outbox.discard(message.id);
      await afterFlush();
      return { discarded: message.id };
    case "outbox-flush":
      await flushDue({ now: true });
      return { flushed: true };
    default:
      throw new Error("Unknown message.");
  }
}

ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
  // Only this extension's own pages talk to the background; web pages cannot reach this listener
  // (no externally_connectable), and content scripts are not used.
  if (sender.id !== ext.runtime.id || (sender.url && !sender.url.startsWith(ext.runtime.getURL("")))) return false;
  handleMessage(message).then(
    (result) => sendResponse({ ok: true, result }),
    (error) => sendResponse({ ok: false, error: String(error && error.message ? error.message : error) }),
  );
  return true; // the answer comes asynchronously
});

// --- context menu, keyboard shortcut, notifications --------------------------------------------

async function createMenus() {
  const { lastCase } = await storage.get("lastCase");
  const into = lastCase ? ` into “${lastCase.title}”` : "…";
  await ext.contextMenus.removeAll();
  ext.contextMenus.create({ id: "capture-page", title: `Capture page${into}`, contexts: ["page", "selection", "image", "link"] });
  ext.contextMenus.create({
    id: "flag-account",
    title: `Flag this account${into}`,
    contexts: ["page"],
    documentUrlPatterns: ACCOUNT_PAGE_PATTERNS, // only on the supported platforms' pages
  });
  ext.contextMenus.create({ id: "add-repost", title: "Add selection as repost evidence…", contexts: ["selection"] });
}

ext.runtime.onInstalled.addListener(() => {
  createMenus();
  flushDue(); // an update clears alarms; captures waiting from before are sent or rescheduled
});
ext.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && changes.lastCase) createMenus();
});

/** The popup in a window of its own, aimed at a tab: for a repost (it needs the source URL) and
 * when no case has been picked yet. */
async function openCaptureWindow(tab, action) {
  const url = ext.runtime.getURL(`popup.html?tab=${encodeURIComponent(tab.id)}&action=${encodeURIComponent(action)}`);
  await ext.windows.create({ url, type: "popup", width: 440, height: 680 });
}

async function quickCapture(tab, action) {
  const { lastCase, persona } = await storage.get(["lastCase", "persona"]);
  if (!lastCase || action === "repost") {
    await openCaptureWindow(tab, action);
    return;
  }
  let result;
  try {
    result = await captureTab({ tabId: tab.id, action, caseId: lastCase.id, caseTitle: lastCase.title, persona: persona || "" });
  } catch (error) {
    result = { state: "rejected", message: String(error && error.message ? error.message : error) };
  }
  await notify(result);
}

async function notify(result) {
  const titles = { sent: "Captured", waiting: "Capture waiting in the outbox", rejected: "Capture refused" };
  const link = result.links && result.links.length ? result.links[0].href : "";
  await ext.notifications.create(link ? `evidence|${link}` : `capture|${Date.now()}`, {
    type: "basic",
    iconUrl: ext.runtime.getURL("icons/icon-128.png"),
    title: titles[result.state] || "Capture",
    message: result.message || "",
  });
}

ext.notifications.onClicked.addListener(async (id) => {
  if (!id.startsWith("evidence|")) return;
  const settings = await loadSettings();
  const href = settings ? appLink(settings.serverUrl, id.slice("evidence|".length)) : null;
  if (href) await ext.tabs.create({ url: href });
  await ext.notifications.clear(id);
});

ext.contextMenus.onClicked.addListener((info, tab) => {
  const action = MENU[info.menuItemId];
  if (action && tab) quickCapture(tab, action);
});

ext.commands.onCommand.addListener(async (command, tab) => {
  if (command !== "capture-page") return;
  const target = tab || (await ext.tabs.query({ active: true, lastFocusedWindow: true }))[0];
  if (target) quickCapture(target, "page");
});
