// Building a capture: form fields, files with the SHA-256 of the exact bytes uploaded, the
// multipart body, and how the server's answers are classified.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import {
  base64ToBytes,
  buildFormData,
  bytesToBase64,
  captureFields,
  dataUrlToBytes,
  htmlBytes,
  prepareFile,
  sendCapture,
  sha256Hex,
} from "../lib/capture.js";
import { appLink, errorMessage, isInsecureRemote, normalizeServerUrl, originPattern } from "../lib/api.js";

const nodeSha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
// Every byte value, twice: nothing may be re-encoded on the way into the body.
const ALL_BYTES = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
const PNG_1PX =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

test("sha256Hex is lowercase hex SHA-256 of the bytes (crypto.subtle)", async () => {
  assert.equal(await sha256Hex(new TextEncoder().encode("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(await sha256Hex(ALL_BYTES), nodeSha256(ALL_BYTES));
  assert.equal(await sha256Hex(new Blob([ALL_BYTES])), nodeSha256(ALL_BYTES));
});

test("base64 round-trips every byte value, including large buffers", () => {
  assert.deepEqual(base64ToBytes(bytesToBase64(ALL_BYTES)), ALL_BYTES);
  const big = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256);
  assert.deepEqual(base64ToBytes(bytesToBase64(big)), big);
  assert.equal(bytesToBase64(big), Buffer.from(big).toString("base64"));
});

test("a captureVisibleTab data: URL becomes the PNG's bytes", () => {
  const { type, bytes } = dataUrlToBytes(`data:image/png;base64,${PNG_1PX}`);
  assert.equal(type, "image/png");
  assert.deepEqual([...bytes.slice(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.throws(() => dataUrlToBytes("data:image/png,notbase64"), /base64/);
});

test("prepareFile records size and hash of the bytes it stores", async () => {
  const file = await prepareFile("screenshot", "screenshot.png", "image/png", ALL_BYTES);
  assert.equal(file.size, 512);
  assert.equal(file.sha256, nodeSha256(ALL_BYTES));
  assert.deepEqual(base64ToBytes(file.base64), ALL_BYTES);
  const html = await prepareFile("page", "page.html", "text/html", htmlBytes("<p>é 🙂</p>"));
  assert.equal(html.sha256, nodeSha256(Buffer.from("<p>é 🙂</p>", "utf8")));
});

test("the multipart body carries the fields, the exact file bytes and their hashes", async () => {
  const screenshot = await prepareFile("screenshot", "screenshot.png", "image/png", base64ToBytes(PNG_1PX));
  const page = await prepareFile("page", "page.html", "text/html", ALL_BYTES);
  const fields = captureFields({
    action: "account",
    caseId: 12,
    url: "https://x.com/Suspect_01/status/1",
    title: "Suspect <b>01</b>",
    persona: "  sock-7 ",
    capturedAt: "2026-11-28T10:00:00.000Z",
    userAgent: "UA/1.0",
  });
  const request = new Request("http://server.test/", { method: "POST", body: buildFormData({ fields, files: [screenshot, page] }) });
  assert.match(request.headers.get("Content-Type"), /^multipart\/form-data; boundary=/);
  const raw = new Uint8Array(await request.clone().arrayBuffer());
  assert.ok(Buffer.from(raw).includes(Buffer.from(ALL_BYTES)), "the page's bytes appear unchanged in the body");

  const parsed = await request.formData();
  assert.equal(parsed.get("case"), "12");
  assert.equal(parsed.get("action"), "account");
  assert.equal(parsed.get("platform"), "x");
  assert.equal(parsed.get("handle"), "Suspect_01");
  assert.equal(parsed.get("persona"), "sock-7");
  assert.equal(parsed.get("method"), "extension");
  assert.equal(parsed.get("captured_at"), "2026-11-28T10:00:00.000Z");
  assert.equal(parsed.get("title"), "Suspect <b>01</b>");
  for (const [field, name, type] of [["screenshot", "screenshot.png", "image/png"], ["page", "page.html", "text/html"]]) {
    const file = parsed.get(field);
    assert.equal(file.name, name);
    assert.equal(file.type, type);
    const bytes = new Uint8Array(await file.arrayBuffer());
    assert.equal(parsed.get(`${field}_sha256`), nodeSha256(bytes), `${field}_sha256 is the hash of the uploaded bytes`);
  }
  assert.deepEqual(new Uint8Array(await parsed.get("page").arrayBuffer()), ALL_BYTES);
});

test("captureFields refuses what the server would refuse", () => {
  const base = { caseId: 3, url: "https://example.org/article", capturedAt: "2026-01-01T00:00:00Z" };
  assert.equal(captureFields({ ...base, action: "page" }).platform, undefined);
  assert.throws(() => captureFields({ ...base, action: "account" }), /not a profile or post/);
  assert.throws(() => captureFields({ ...base, action: "delete" }), /Unknown capture action/);
  assert.throws(() => captureFields({ ...base, action: "page", caseId: "" }), /Pick a case/);
  assert.throws(() => captureFields({ ...base, action: "page", url: "chrome://settings" }), /http or https/);
  assert.throws(() => captureFields({ ...base, action: "page", url: "javascript:alert(1)" }), /http or https/);
  assert.throws(() => captureFields({ ...base, action: "repost", selection: "   " }), /Select the suspect post/);
  assert.throws(() => captureFields({ ...base, action: "repost", selection: "copy", sourceUrl: "javascript:x" }), /source post URL/);
  const repost = captureFields({ ...base, action: "repost", selection: "copied text", sourceUrl: " https://x.com/real/status/1 " });
  assert.equal(repost.source_url, "https://x.com/real/status/1");
  assert.equal(repost.selection, "copied text");
  const long = captureFields({ ...base, action: "page", selection: "x".repeat(200_000) });
  assert.equal(long.selection.length, 100_000);
});

function fakeFetch(respond) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url, init });
    return respond(url, init);
  };
  return { calls, fetchImpl };
}

const json = (status, body) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const SETTINGS = { serverUrl: "https://annotator.test", token: "oa_secret" };
const CAPTURE = { fields: { case: "1", action: "page", url: "https://example.org/" }, files: [] };

test("sendCapture posts the form with the token and no cookies", async () => {
  const answer = { evidence: [{ id: 5, app_url: "/cases/1/#evidence-5" }], account: null, case: { id: 1, title: "C" } };
  const { calls, fetchImpl } = fakeFetch(() => json(201, answer));
  const outcome = await sendCapture(SETTINGS, CAPTURE, fetchImpl);
  assert.deepEqual(outcome, { kind: "ok", data: answer });
  assert.equal(calls[0].url, "https://annotator.test/api/captures/");
  assert.equal(calls[0].init.method, "POST");
  assert.equal(calls[0].init.headers.Authorization, "Bearer oa_secret");
  assert.equal(calls[0].init.credentials, "omit");
  assert.ok(calls[0].init.body instanceof FormData);
});

test("sendCapture: unreachable or 5xx/429 -> retry later; 4xx -> rejected with the server's message", async () => {
  let outcome = await sendCapture(SETTINGS, CAPTURE, fakeFetch(() => Promise.reject(new TypeError("Failed to fetch"))).fetchImpl);
  assert.equal(outcome.kind, "retry");
  assert.match(outcome.message, /could not be reached/);

  for (const status of [500, 502, 503, 429, 408]) {
    outcome = await sendCapture(SETTINGS, CAPTURE, fakeFetch(() => new Response("busy", { status })).fetchImpl);
    assert.equal(outcome.kind, "retry", `HTTP ${status}`);
  }

  const mismatch = { error: { code: "hash_mismatch", message: "The screenshot's SHA-256 does not match what was sent.", fields: {} } };
  outcome = await sendCapture(SETTINGS, CAPTURE, fakeFetch(() => json(400, mismatch)).fetchImpl);
  assert.deepEqual(outcome, { kind: "rejected", status: 400, message: "The screenshot's SHA-256 does not match what was sent." });

  for (const status of [401, 403, 404, 413]) {
    outcome = await sendCapture(SETTINGS, CAPTURE, fakeFetch(() => json(status, { error: { code: "x", message: `no ${status}` } })).fetchImpl);
    assert.deepEqual(outcome, { kind: "rejected", status, message: `no ${status}` });
  }

  outcome = await sendCapture({ serverUrl: "", token: "" }, CAPTURE, fakeFetch(() => json(201, {})).fetchImpl);
  assert.equal(outcome.kind, "rejected");
  assert.match(outcome.message, /options/);
});

test("error messages come from the project's error shape, with field details", () => {
  assert.equal(
    errorMessage(400, { error: { code: "invalid", message: "Invalid input.", fields: { url: ["Enter a valid URL."] } } }),
    "Invalid input. (url: Enter a valid URL.)",
  );
  assert.equal(errorMessage(401, null), "The server refused the API token (HTTP 401). Check it in the extension's options.");
  assert.equal(errorMessage(418, "teapot"), "The server answered HTTP 418.");
});

test("server URL, permission pattern and evidence links", () => {
  assert.equal(normalizeServerUrl(" https://Annotator.Example.org/cases/1/ "), "https://annotator.example.org");
  assert.equal(normalizeServerUrl("annotator.example.org"), "https://annotator.example.org");
  assert.equal(normalizeServerUrl("http://127.0.0.1:8000"), "http://127.0.0.1:8000");
  assert.throws(() => normalizeServerUrl("ftp://example.org"), /https/);
  assert.throws(() => normalizeServerUrl("https://user:pw@example.org"), /user name/);
  assert.equal(originPattern("http://127.0.0.1:8000"), "http://127.0.0.1/*");
  assert.equal(isInsecureRemote("http://annotator.example.org"), true);
  assert.equal(isInsecureRemote("http://localhost:8000"), false);
  assert.equal(isInsecureRemote("https://annotator.example.org"), false);
  assert.equal(appLink("https://a.test", "/cases/1/#evidence-2"), "https://a.test/cases/1/#evidence-2");
  assert.equal(appLink("https://a.test", "https://evil.test/phish"), null);
  assert.equal(appLink("https://a.test", "javascript:alert(1)"), null);
  assert.equal(appLink("https://a.test", null), null);
});

test("a screenshot over Chromium's two-a-second quota waits and tries again", async () => {
  const { takeScreenshot } = await import("../lib/capture.js");
  let calls = 0;
  const fakeExt = {
    tabs: {
      async captureVisibleTab(windowId, options) {
        calls += 1;
        assert.equal(windowId, 3);
        assert.deepEqual(options, { format: "png" });
        if (calls < 3) throw new Error("This request exceeds the MAX_CAPTURE_VISIBLE_TAB_CALLS_PER_SECOND quota.");
        return `data:image/png;base64,${PNG_1PX}`;
      },
    },
  };
  assert.equal(await takeScreenshot(fakeExt, 3, { waitMs: 1 }), `data:image/png;base64,${PNG_1PX}`);
  assert.equal(calls, 3);

  calls = 0;
  fakeExt.tabs.captureVisibleTab = async () => {
    calls += 1;
    throw new Error("Either the '<all_urls>' or 'activeTab' permission is required.");
  };
  await assert.rejects(takeScreenshot(fakeExt, 3, { waitMs: 1 }), /activeTab/);
  assert.equal(calls, 1, "other errors are not retried");
});

/** A fake WebExtension API around one tab, for collectFromTab. */
function fakeTabApi({ archive = null, archiveFailures = 0, html = "<!DOCTYPE html>\n<html><body>hi</body></html>" } = {}) {
  const calls = { mhtml: 0 };
  const api = {
    scripting: {
      async executeScript({ target, func }) {
        assert.equal(target.tabId, 7);
        assert.equal(func.name, "readPageInTab");
        return [{ result: { html, title: "Page <b>title</b>", selection: "picked" } }];
      },
    },
    tabs: { captureVisibleTab: async () => `data:image/png;base64,${PNG_1PX}` },
  };
  if (archive !== null) {
    api.pageCapture = {
      async saveAsMHTML({ tabId }) {
        assert.equal(tabId, 7);
        calls.mhtml += 1;
        if (calls.mhtml <= archiveFailures) {
          return { arrayBuffer: async () => Promise.reject(new Error("A requested file or directory could not be found")) };
        }
        return new Blob([archive]);
      },
    };
  }
  return { api, calls };
}

const TAB = { id: 7, windowId: 2, active: true, url: "https://x.com/someone", title: "t" };

test("collectFromTab: screenshot plus the page as HTML, or as MHTML when asked for and possible", async () => {
  const { collectFromTab } = await import("../lib/capture.js");
  const mhtml = "From: <Saved by Blink>\r\nMIME-Version: 1.0\r\n\r\narchive";

  let { api } = fakeTabApi({ archive: mhtml });
  let got = await collectFromTab(api, TAB);
  assert.deepEqual(got.files.map((file) => [file.field, file.name]), [["screenshot", "screenshot.png"], ["page", "page.html"]]);
  assert.equal(got.title, "Page <b>title</b>");
  assert.equal(got.selection, "picked");
  assert.equal(got.files[1].sha256, nodeSha256(Buffer.from("<!DOCTYPE html>\n<html><body>hi</body></html>")));

  got = await collectFromTab(api, TAB, { mhtml: true });
  assert.equal(got.files[1].name, "page.mhtml");
  assert.equal(got.files[1].sha256, nodeSha256(Buffer.from(mhtml)));

  // The archive's temporary file vanished once: saved again.
  let calls;
  ({ api, calls } = fakeTabApi({ archive: mhtml, archiveFailures: 1 }));
  got = await collectFromTab(api, TAB, { mhtml: true });
  assert.equal(got.files[1].name, "page.mhtml");
  assert.equal(calls.mhtml, 2);

  // Failing twice, or no pageCapture (Firefox): the HTML instead, never no page at all.
  ({ api } = fakeTabApi({ archive: mhtml, archiveFailures: 2 }));
  assert.equal((await collectFromTab(api, TAB, { mhtml: true })).files[1].name, "page.html");
  ({ api } = fakeTabApi());
  assert.equal((await collectFromTab(api, TAB, { mhtml: true })).files[1].name, "page.html");
});

test("collectFromTab refuses browser pages and background tabs", async () => {
  const { collectFromTab } = await import("../lib/capture.js");
  const { api } = fakeTabApi();
  await assert.rejects(collectFromTab(api, { ...TAB, url: "chrome://settings/" }), /http or https/);
  await assert.rejects(collectFromTab(api, { ...TAB, active: false }), /Switch to the tab/);
});

test("a server that never answers counts as unreachable: the capture waits for a retry", async () => {
  const hanging = (url, init) =>
    new Promise((resolve, reject) => init.signal.addEventListener("abort", () => reject(init.signal.reason)));
  const { apiRequest } = await import("../lib/api.js");
  // AbortSignal.timeout's timer does not keep Node's event loop alive; this one does.
  const keepAlive = setInterval(() => {}, 1000);
  const response = await apiRequest(SETTINGS, "/api/teams/", { timeoutMs: 20 }, hanging).finally(() =>
    clearInterval(keepAlive),
  );
  assert.deepEqual(response, { ok: false, status: 0, data: null, networkError: "no answer within 0 s" });

  const own = new AbortController();
  const pending = apiRequest(SETTINGS, "/api/cases/", { signal: own.signal }, hanging);
  own.abort();
  await assert.rejects(pending, { name: "AbortError" }, "the caller's own abort is not a network failure");
});

test("what the popup says about a capture: links only to the server, the account line, the state", async () => {
  const { describeOutcome, describeResponse } = await import("../lib/capture.js");
  const settings = { serverUrl: "https://a.test", token: "t" };
  const summary = { files: [{ field: "page", name: "page.html", size: 3, sha256: "ab" }] };
  const data = {
    evidence: [
      { id: 4, kind: "page_capture", app_url: "https://a.test/evidence/4/" },
      { id: 5, kind: "note", app_url: "https://evil.test/" },
    ],
    account: { id: 1, platform: "x", handle: "Someone", created: true },
    case: { id: 9, title: "Case <b>9</b>" },
  };
  const sent = describeOutcome({ kind: "ok", data }, summary, settings);
  assert.equal(sent.state, "sent");
  assert.equal(sent.message, "Captured into “Case <b>9</b>”. Account x @Someone added to the case.");
  assert.deepEqual(sent.links, [{ label: "Evidence #4 (page_capture)", href: "https://a.test/evidence/4/" }]);
  assert.deepEqual(sent.files, summary.files);
  assert.match(describeResponse({ ...data, account: { ...data.account, created: false } }, settings).message, /already known/);

  const waiting = describeOutcome({ kind: "retry", message: "The server answered HTTP 503." }, summary, settings);
  assert.equal(waiting.state, "waiting");
  assert.match(waiting.message, /^Kept in the outbox.*HTTP 503\.$/);
  const refused = describeOutcome({ kind: "rejected", status: 404, message: "Not found." }, summary, settings);
  assert.deepEqual([refused.state, refused.status, refused.message], ["rejected", 404, "Not found."]);
});
