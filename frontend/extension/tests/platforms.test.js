// URL -> platform/handle, on the table the server's tests share (tests/fixtures/capture_urls.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { parseAccountUrl, PLATFORMS, splitUrl } from "../lib/platforms.js";

const FIXTURE = fileURLToPath(new URL("../../../tests/fixtures/capture_urls.json", import.meta.url));
const CASES = JSON.parse(readFileSync(FIXTURE, "utf8"));

for (const row of CASES) {
  test(`shared table: ${JSON.stringify(row.url)}`, () => {
    const expected = row.platform ? { platform: row.platform, handle: row.handle } : null;
    assert.deepEqual(parseAccountUrl(row.url), expected);
  });
}

test("the table covers every platform the extension knows, and each has a tricky case", () => {
  const named = new Set(CASES.filter((row) => row.platform).map((row) => row.platform));
  assert.deepEqual([...named].sort(), [...PLATFORMS].sort());
  const urls = CASES.map((row) => row.url);
  assert.ok(urls.some((url) => url.includes("?")), "a query string");
  assert.ok(urls.some((url) => url.includes("#")), "a fragment");
  assert.ok(urls.some((url) => url.includes("m.facebook.com")), "m.facebook.com");
  assert.ok(urls.some((url) => url.includes("mobile.twitter.com")), "mobile.twitter.com");
  assert.ok(urls.some((url) => /profile\.php\?id=\d+/.test(url)), "a numeric id");
  assert.ok(CASES.length >= 90);
});

test("the platform values are the model's Platform choices", () => {
  assert.deepEqual([...PLATFORMS].sort(), ["facebook", "instagram", "reddit", "telegram", "tiktok", "x", "youtube"]);
});

test("post URLs give the author, not the post", () => {
  assert.deepEqual(parseAccountUrl("https://x.com/Author_1/status/1790000000000000000"), { platform: "x", handle: "Author_1" });
  assert.deepEqual(parseAccountUrl("https://www.tiktok.com/@author/video/1"), { platform: "tiktok", handle: "author" });
  assert.deepEqual(parseAccountUrl("https://facebook.com/author.page/posts/pfbid02"), { platform: "facebook", handle: "author.page" });
});

test("non-strings and garbage are not accounts", () => {
  for (const value of [undefined, null, 42, {}, "https://", "https://x.com", "about:blank", "chrome://extensions"]) {
    assert.equal(parseAccountUrl(value), null);
  }
});

test("splitUrl reads like Python's urlsplit", () => {
  assert.deepEqual(splitUrl("HTTPS://User@Example.COM:8443/a/../b?q=1#f"), {
    scheme: "https",
    host: "example.com",
    path: "/a/../b",
    query: "q=1",
  });
  assert.equal(splitUrl("x.com/jack"), null);
  assert.deepEqual(splitUrl("https://x.com/ja\tck\n"), { scheme: "https", host: "x.com", path: "/jack", query: "" });
});

test("the context menu's page patterns cover every host of the table", async () => {
  const { ACCOUNT_PAGE_PATTERNS } = await import("../lib/platforms.js");
  const hosts = new Set(ACCOUNT_PAGE_PATTERNS.map((pattern) => pattern.slice("*://".length, -"/*".length)));
  for (const row of CASES.filter((item) => item.platform)) {
    const host = splitUrl(row.url).host.replace(/\.+$/, "");
    assert.ok(hosts.has(host), `${host} (${row.url})`);
  }
});
