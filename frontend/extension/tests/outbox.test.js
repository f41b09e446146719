// The outbox: stored before sending, retried with backoff on network/5xx, kept with the server's
// message on a 4xx, removed (into the history) on success.
import { test } from "node:test";
import assert from "node:assert/strict";

import { backoffDelay, BASE_DELAY_MS, createOutbox, HISTORY_LENGTH, MAX_DELAY_MS, MAX_ENTRIES } from "../lib/outbox.js";

/** chrome.storage.local's promise API over a Map, JSON round-tripping values like the real one. */
function fakeStorage() {
  const data = new Map();
  return {
    data,
    async get(keys) {
      const names = typeof keys === "string" ? [keys] : keys;
      const out = {};
      for (const name of names) if (data.has(name)) out[name] = JSON.parse(data.get(name));
      return out;
    },
    async set(items) {
      for (const [name, value] of Object.entries(items)) data.set(name, JSON.stringify(value));
    },
    async remove(keys) {
      for (const name of typeof keys === "string" ? [keys] : keys) data.delete(name);
    },
  };
}

function setup(answers) {
  const storage = fakeStorage();
  const clock = { now: 1_000_000 };
  const sent = [];
  const send = async (payload) => {
    sent.push(payload);
    const answer = answers.shift();
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const outbox = createOutbox({ storage, send, now: () => clock.now, random: () => 0 });
  return { storage, clock, sent, outbox };
}

test("backoff doubles from 30 s and stops at one hour", () => {
  assert.equal(backoffDelay(1), BASE_DELAY_MS);
  assert.equal(backoffDelay(2), 2 * BASE_DELAY_MS);
  assert.equal(backoffDelay(3), 4 * BASE_DELAY_MS);
  assert.equal(backoffDelay(8), MAX_DELAY_MS);
  assert.equal(backoffDelay(500), MAX_DELAY_MS);
  assert.equal(backoffDelay(1, 0.5), Math.round(BASE_DELAY_MS * 1.05));
});

test("a capture is stored before it is sent, and removed into the history once accepted", async () => {
  const { storage, outbox, sent } = setup([{ kind: "ok", data: { evidence: [{ id: 7 }] } }]);
  const id = await outbox.add({ action: "page", url: "https://x.com/a" }, { fields: { case: "1" }, files: [] });
  assert.equal((await outbox.list()).length, 1);
  assert.ok(storage.data.has(`outbox:${id}`), "the payload waits under its own key");

  const outcomes = await outbox.flush();
  assert.equal(outcomes[id].kind, "ok");
  assert.deepEqual(sent, [{ fields: { case: "1" }, files: [] }]);
  assert.deepEqual(await outbox.list(), []);
  assert.ok(!storage.data.has(`outbox:${id}`));
  const [item] = await outbox.history();
  assert.equal(item.ok, true);
  assert.deepEqual(item.response, { evidence: [{ id: 7 }] });
  assert.equal(item.summary.url, "https://x.com/a");
});

test("an unreachable server keeps the capture and retries it with growing delays", async () => {
  const { clock, outbox, sent } = setup([
    { kind: "retry", message: "The server could not be reached (Failed to fetch)." },
    new Error("socket hang up"),
    { kind: "retry", message: "The server answered HTTP 503." },
    { kind: "ok", data: {} },
  ]);
  const id = await outbox.add({}, { fields: {} });

  await outbox.flush();
  let [entry] = await outbox.list();
  assert.equal(entry.state, "waiting");
  assert.equal(entry.attempts, 1);
  assert.match(entry.lastError, /could not be reached/);
  assert.equal(entry.nextAttemptAt, clock.now + BASE_DELAY_MS);
  assert.equal(await outbox.nextAttemptAt(), clock.now + BASE_DELAY_MS);

  // Not due yet: nothing is sent.
  clock.now += BASE_DELAY_MS - 1;
  await outbox.flush();
  assert.equal(sent.length, 1);

  clock.now += 1;
  await outbox.flush();
  [entry] = await outbox.list();
  assert.equal(entry.attempts, 2);
  assert.equal(entry.lastError, "socket hang up", "a send that throws is a network failure, not a loss");
  assert.equal(entry.nextAttemptAt, clock.now + 2 * BASE_DELAY_MS);

  clock.now += 2 * BASE_DELAY_MS;
  await outbox.flush();
  [entry] = await outbox.list();
  assert.equal(entry.attempts, 3);
  assert.equal(entry.nextAttemptAt, clock.now + 4 * BASE_DELAY_MS);

  clock.now += 4 * BASE_DELAY_MS;
  const outcomes = await outbox.flush();
  assert.equal(outcomes[id].kind, "ok");
  assert.equal(sent.length, 4);
  assert.deepEqual(await outbox.list(), []);
});

test("a 4xx is kept with the server's message and not sent again on its own", async () => {
  const { clock, outbox, sent } = setup([
    { kind: "rejected", status: 400, message: "The screenshot's SHA-256 does not match." },
    { kind: "ok", data: {} },
  ]);
  const id = await outbox.add({}, { fields: {} });
  await outbox.flush();
  const [entry] = await outbox.list();
  assert.equal(entry.state, "rejected");
  assert.equal(entry.status, 400);
  assert.equal(entry.lastError, "The screenshot's SHA-256 does not match.");
  assert.equal(entry.nextAttemptAt, null);
  assert.equal(await outbox.nextAttemptAt(), null, "no alarm needed for it");

  clock.now += 10 * MAX_DELAY_MS;
  await outbox.flush();
  assert.equal(sent.length, 1, "never retried automatically");

  // The user fixed the cause (e.g. the token) and pressed Retry.
  const outcome = await outbox.retry(id);
  assert.equal(outcome.kind, "ok");
  assert.equal(sent.length, 2);
  assert.deepEqual(await outbox.list(), []);
});

test("discard removes the entry and its payload", async () => {
  const { storage, outbox } = setup([{ kind: "rejected", status: 404, message: "Not found." }]);
  const id = await outbox.add({}, { fields: {} });
  await outbox.flush();
  await outbox.discard(id);
  assert.deepEqual(await outbox.list(), []);
  assert.equal(storage.data.size, 1, "only the (empty) index is left");
});

test("a capture added while another is being sent is not lost", async () => {
  const storage = fakeStorage();
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const outbox = createOutbox({
    storage,
    send: async () => {
      await gate;
      return { kind: "retry", message: "offline" };
    },
    now: () => 5,
    random: () => 0,
  });
  await outbox.add({ n: 1 }, {});
  const flushing = outbox.flush();
  await new Promise((resolve) => setTimeout(resolve, 5));
  await outbox.add({ n: 2 }, {});
  release();
  await flushing;
  const entries = await outbox.list();
  assert.deepEqual(entries.map((entry) => entry.summary.n), [1, 2]);
  assert.equal(entries[0].attempts, 1);
  assert.equal(entries[1].attempts, 0);
});

test("two flushes at once send each capture once", async () => {
  const storage = fakeStorage();
  let count = 0;
  const outbox = createOutbox({
    storage,
    send: async () => {
      count += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { kind: "ok", data: {} };
    },
  });
  await outbox.add({}, {});
  await Promise.all([outbox.flush(), outbox.flush(), outbox.flush()]);
  assert.equal(count, 1);
});

test("the outbox refuses more than MAX_ENTRIES captures instead of dropping old ones", async () => {
  const { outbox } = setup([]);
  for (let i = 0; i < MAX_ENTRIES; i += 1) await outbox.add({ i }, {});
  await assert.rejects(outbox.add({}, {}), /already holds/);
  assert.equal((await outbox.list()).length, MAX_ENTRIES);
});

test("the history keeps the latest results only", async () => {
  const answers = Array.from({ length: HISTORY_LENGTH + 5 }, () => ({ kind: "ok", data: {} }));
  const { outbox } = setup(answers);
  for (let i = 0; i < HISTORY_LENGTH + 5; i += 1) {
    await outbox.add({ i }, {});
    await outbox.flush();
  }
  const history = await outbox.history();
  assert.equal(history.length, HISTORY_LENGTH);
  assert.equal(history[0].summary.i, HISTORY_LENGTH + 4, "newest first");
});

test("'Send now' sends every waiting capture at once, but not the refused ones", async () => {
  const { outbox, sent } = setup([
    { kind: "retry", message: "offline" },
    { kind: "rejected", status: 400, message: "bad" },
    { kind: "ok", data: {} },
  ]);
  const waiting = await outbox.add({ n: 1 }, { n: 1 });
  const refused = await outbox.add({ n: 2 }, { n: 2 });
  await outbox.flush(); // 1 -> waiting (30 s), 2 -> rejected
  assert.equal(sent.length, 2);
  await outbox.flush();
  assert.equal(sent.length, 2, "not due yet");
  const outcomes = await outbox.flush({ now: true });
  assert.deepEqual(Object.keys(outcomes), [waiting]);
  assert.equal(outcomes[waiting].kind, "ok");
  assert.deepEqual((await outbox.list()).map((entry) => entry.id), [refused]);
});
