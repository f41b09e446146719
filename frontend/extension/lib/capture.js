// Builds a capture for POST /api/captures/: the form fields, and each file with the SHA-256 of the
// exact bytes that will be uploaded (the server hashes what it receives and refuses a mismatch).
//
// A capture is kept as plain JSON (files as base64) so that it can wait in chrome.storage.local
// when the server is unreachable; buildFormData() turns it into the multipart body at send time,
// from the same bytes that were hashed.

import { parseAccountUrl } from "./platforms.js";
import { appLink, apiRequest, errorMessage, isRetryableStatus } from "./api.js";

export const ACTIONS = Object.freeze(["page", "account", "repost"]);
// The server's default limit for the page file (CAPTURE_MAX_PAGE_BYTES): an MHTML archive larger
// than this is replaced by the page's HTML, which is usually far smaller.
export const MAX_PAGE_BYTES = 15 * 1024 * 1024;
const MAX_TEXT_CHARS = 100_000;
// Up to ~25 MB over a slow uplink; after that the capture waits in the outbox and is sent again.
export const UPLOAD_TIMEOUT_MS = 5 * 60 * 1000;

/** Lowercase hex SHA-256 of bytes (ArrayBuffer, a typed array or a Blob), with crypto.subtle. */
export async function sha256Hex(data) {
  const buffer = data instanceof Blob ? await data.arrayBuffer() : data;
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function bytesToBase64(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (let start = 0; start < view.length; start += 0x8000) {
    binary += String.fromCharCode.apply(null, view.subarray(start, start + 0x8000));
  }
  return btoa(binary);
}

export function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** "data:image/png;base64,...." (what captureVisibleTab returns) -> {type, bytes}. */
export function dataUrlToBytes(dataUrl) {
  const match = /^data:([^;,]+)(;base64)?,(.*)$/s.exec(String(dataUrl));
  if (!match || !match[2]) throw new Error("The screenshot is not a base64 data: URL.");
  return { type: match[1], bytes: base64ToBytes(match[3]) };
}

/** One file of a capture: {field, name, type, size, sha256, base64}. `field` is "screenshot" or
 * "page"; the hash goes into the form as `<field>_sha256`. */
export async function prepareFile(field, name, type, data) {
  const bytes = data instanceof Blob ? new Uint8Array(await data.arrayBuffer()) : new Uint8Array(data);
  return { field, name, type, size: bytes.length, sha256: await sha256Hex(bytes), base64: bytesToBase64(bytes) };
}

/** The page's HTML as UTF-8 bytes, with its doctype, ready for prepareFile. */
export function htmlBytes(html) {
  return new TextEncoder().encode(html);
}

function clip(text, limit = MAX_TEXT_CHARS) {
  const value = typeof text === "string" ? text : "";
  return value.length > limit ? value.slice(0, limit) : value;
}

/** The form fields of a capture, checked the way the server will check them. Throws an Error with
 * a message for the user when the capture cannot be made (e.g. "Flag account" on a page that is no
 * profile). */
export function captureFields({
  action,
  caseId,
  url,
  title = "",
  selection = "",
  sourceUrl = "",
  sourceText = "",
  sourceAuthor = "",
  persona = "",
  capturedAt,
  userAgent = "",
}) {
  if (!ACTIONS.includes(action)) throw new Error(`Unknown capture action: ${action}`);
  if (!Number.isInteger(Number(caseId)) || Number(caseId) <= 0) throw new Error("Pick a case first.");
  if (!/^https?:\/\//i.test(String(url || ""))) {
    throw new Error("Only web pages (http or https) can be captured.");
  }
  const fields = {
    case: String(Number(caseId)),
    action,
    url,
    title: clip(title, 500), // the server's limits: title and user agent 500, persona 200
    selection: clip(selection),
    captured_at: capturedAt || new Date().toISOString(),
    user_agent: clip(userAgent, 500),
    persona: clip(String(persona || "").trim(), 200),
    method: "extension",
  };
  if (action === "account") {
    const account = parseAccountUrl(url);
    if (!account) {
      throw new Error("This page is not a profile or post of a supported platform, so there is no account to flag.");
    }
    fields.platform = account.platform;
    fields.handle = account.handle;
  }
  if (action === "repost") {
    if (!fields.selection.trim()) throw new Error("Select the suspect post's text on the page first.");
    const source = String(sourceUrl || "").trim();
    if (source && !/^https?:\/\/[^/\s]+/i.test(source)) throw new Error("The source post URL must start with http:// or https://.");
    fields.source_url = source;
    fields.source_text = clip(sourceText);
    fields.source_author = clip(String(sourceAuthor || "").trim(), 300);
  }
  return fields;
}

/** The multipart body: every field, then each file with its `<field>_sha256`. */
export function buildFormData(capture) {
  const form = new FormData();
  for (const [name, value] of Object.entries(capture.fields)) form.append(name, value);
  for (const file of capture.files || []) {
    form.append(file.field, new Blob([base64ToBytes(file.base64)], { type: file.type }), file.name);
    form.append(`${file.field}_sha256`, file.sha256);
  }
  return form;
}

/** Sends one capture. Resolves to {kind: "ok", data} | {kind: "retry", message} (unreachable,
 * 408/429/5xx: try again later) | {kind: "rejected", status, message} (the server refused it). */
export async function sendCapture(settings, capture, fetchImpl = globalThis.fetch) {
  if (!settings || !settings.serverUrl || !settings.token) {
    return { kind: "rejected", status: 0, message: "Set the server address and API token in the extension's options, then retry." };
  }
  const request = { method: "POST", body: buildFormData(capture), timeoutMs: UPLOAD_TIMEOUT_MS };
  const response = await apiRequest(settings, "/api/captures/", request, fetchImpl);
  if (response.ok) return { kind: "ok", data: response.data };
  if (response.networkError !== null) {
    return { kind: "retry", message: `The server could not be reached (${response.networkError}).` };
  }
  const message = errorMessage(response.status, response.data);
  return isRetryableStatus(response.status) ? { kind: "retry", message } : { kind: "rejected", status: response.status, message };
}

/** The links and account line for a 201 answer: {"evidence": [...], "account": ..., "case": ...}. */
export function describeResponse(data, settings) {
  const serverUrl = settings ? settings.serverUrl : "";
  const evidence = data && Array.isArray(data.evidence) ? data.evidence : [];
  const links = evidence
    .map((item) => ({ label: `Evidence #${item.id} (${item.kind})`, href: appLink(serverUrl, item.app_url) }))
    .filter((link) => link.href);
  const caseTitle = data && data.case ? data.case.title : "";
  const account = data && data.account ? data.account : null;
  let message = `Captured into “${caseTitle}”.`;
  if (account) {
    message += account.created
      ? ` Account ${account.platform} @${account.handle} added to the case.`
      : ` Account ${account.platform} @${account.handle} was already known; the capture is attached to it.`;
  }
  return { message, links, account };
}

/** What the popup or a notification shows for a capture's first sending: {state: "sent" |
 * "waiting" | "rejected", message, links, account, files}. */
export function describeOutcome(outcome, summary, settings) {
  const files = summary.files;
  if (!outcome || outcome.kind === "retry") {
    return {
      state: "waiting",
      message: `Kept in the outbox; it will be sent when the server answers. ${outcome ? outcome.message : ""}`.trim(),
      files,
    };
  }
  if (outcome.kind === "rejected") return { state: "rejected", message: outcome.message, status: outcome.status, files };
  return { state: "sent", ...describeResponse(outcome.data, settings), files };
}

// --- in the browser: what the page gives us ------------------------------------------------

/** Runs in the captured page (chrome.scripting): its HTML with doctype, title and selection. */
export function readPageInTab() {
  const doctype = document.doctype ? new XMLSerializer().serializeToString(document.doctype) + "\n" : "";
  return {
    html: doctype + document.documentElement.outerHTML,
    title: document.title,
    selection: String(window.getSelection ? window.getSelection() : ""),
  };
}

/** captureVisibleTab as PNG. Chromium allows two calls a second (MAX_CAPTURE_VISIBLE_TAB_CALLS_PER_SECOND);
 * a capture right after another waits for the quota instead of failing. */
export async function takeScreenshot(ext, windowId, { attempts = 4, waitMs = 600 } = {}) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await ext.tabs.captureVisibleTab(windowId, { format: "png" });
    } catch (error) {
      const quota = /MAX_CAPTURE_VISIBLE_TAB_CALLS_PER_SECOND/.test(String(error && error.message));
      if (!quota || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/** The tab as an MHTML archive's bytes (chrome.pageCapture), or null where that is unavailable
 * or fails. The Blob is read at once and the save tried twice: Chromium backs it with a temporary
 * file that is sometimes gone by the time it is read ("A requested file or directory could not be
 * found"). */
export async function saveArchive(ext, tabId, attempts = 2) {
  if (!ext.pageCapture || typeof ext.pageCapture.saveAsMHTML !== "function") return null;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    try {
      const blob = await ext.pageCapture.saveAsMHTML({ tabId });
      if (blob) return new Uint8Array(await blob.arrayBuffer());
    } catch {
      // e.g. the permission was removed, or the temporary file vanished: try again, then HTML
    }
  }
  return null;
}

/** Reads the tab's title, selection and page, and takes the visible-tab screenshot. `ext` is the
 * WebExtension API. The page is MHTML (chrome.pageCapture, Chromium) when `mhtml` is asked for,
 * the permission was granted and the archive is not larger than MAX_PAGE_BYTES; otherwise the HTML
 * of the DOM. */
export async function collectFromTab(ext, tab, { mhtml = false } = {}) {
  if (!tab || !/^https?:\/\//i.test(tab.url || "")) throw new Error("Only web pages (http or https) can be captured.");
  const [injection] = await ext.scripting.executeScript({ target: { tabId: tab.id }, func: readPageInTab });
  const page = injection && injection.result ? injection.result : { html: "", title: tab.title || "", selection: "" };
  const files = [];
  if (!tab.active) throw new Error("Switch to the tab you want to capture first: only the visible tab can be photographed.");
  const screenshot = dataUrlToBytes(await takeScreenshot(ext, tab.windowId));
  files.push(await prepareFile("screenshot", "screenshot.png", screenshot.type, screenshot.bytes));
  const archive = mhtml ? await saveArchive(ext, tab.id) : null;
  if (archive && archive.length > 0 && archive.length <= MAX_PAGE_BYTES) {
    files.push(await prepareFile("page", "page.mhtml", "multipart/related", archive));
  } else {
    files.push(await prepareFile("page", "page.html", "text/html", htmlBytes(page.html)));
  }
  return { title: page.title || tab.title || "", selection: page.selection || "", files };
}
