// The outbox: every capture is stored here before it is sent, and stays until the server has
// accepted it. Nothing is lost silently:
//   - unreachable server, 408, 429, 5xx -> "waiting": sent again later with exponential backoff
//     (30 s, 1 min, 2 min, ... up to 1 h), for as long as it takes, until the user discards it;
//   - any other 4xx -> "rejected": kept with the server's message, not sent again on its own
//     (the same request would be refused again) until the user presses Retry or discards it;
//   - 2xx -> removed from the outbox and added to the history with the server's answer.
//
// `storage` is chrome.storage.local or anything with the same promise API (get/set/remove); the
// index lives under one key and each capture's (large) payload under its own key.

const INDEX_KEY = "outbox";
const HISTORY_KEY = "history";
const PAYLOAD_PREFIX = "outbox:";
export const HISTORY_LENGTH = 20;
export const MAX_ENTRIES = 100;
export const BASE_DELAY_MS = 30_000;
export const MAX_DELAY_MS = 60 * 60 * 1000;

/** Milliseconds to wait after the given number of failed attempts (1, 2, ...). `random` in [0, 1)
 * adds up to 10% so that many extensions do not all come back at the same second. */
export function backoffDelay(attempts, random = 0) {
  const exponent = Math.max(0, Math.min(attempts - 1, 20));
  const delay = Math.min(BASE_DELAY_MS * 2 ** exponent, MAX_DELAY_MS);
  return Math.round(delay * (1 + 0.1 * random));
}

export function createOutbox({ storage, send, now = () => Date.now(), random = () => Math.random(), newId }) {
  let counter = 0;
  // Two chains: one lets a single flush run at a time (a capture is never sent twice in
  // parallel), the other serialises every read-modify-write of the index, so that a capture added
  // while another is being sent is not lost when the sender writes the index back.
  let sending = Promise.resolve();
  let writing = Promise.resolve();
  const serialise = (chain, task) => {
    const run = chain.then(task);
    return [run, run.catch(() => undefined)];
  };
  const exclusive = (task) => {
    let run;
    [run, writing] = serialise(writing, task);
    return run;
  };
  const makeId = newId || (() => `${now().toString(36)}-${(counter += 1)}-${Math.floor(random() * 1e9).toString(36)}`);

  async function readIndex() {
    const stored = await storage.get(INDEX_KEY);
    return Array.isArray(stored[INDEX_KEY]) ? stored[INDEX_KEY] : [];
  }

  async function writeIndex(index) {
    await storage.set({ [INDEX_KEY]: index });
  }

  async function addHistory(item) {
    const stored = await storage.get(HISTORY_KEY);
    const history = Array.isArray(stored[HISTORY_KEY]) ? stored[HISTORY_KEY] : [];
    await storage.set({ [HISTORY_KEY]: [item, ...history].slice(0, HISTORY_LENGTH) });
  }

  /** Stores a capture to be sent; returns its id. `summary` is what the popup shows about it. */
  async function add(summary, payload) {
    return exclusive(() => addNow(summary, payload));
  }

  async function addNow(summary, payload) {
    const index = await readIndex();
    if (index.length >= MAX_ENTRIES) {
      throw new Error(`The outbox already holds ${index.length} captures; send or discard some first.`);
    }
    const id = makeId();
    await storage.set({ [PAYLOAD_PREFIX + id]: payload });
    index.push({ id, summary, createdAt: now(), attempts: 0, state: "waiting", nextAttemptAt: now(), lastError: null, status: null });
    await writeIndex(index);
    return id;
  }

  /** Sends the waiting captures that are due (all waiting ones with `now: true`, the user's "Send
   * now"), or only `ids`, whatever their state. Returns {id: outcome} for the ones it tried. */
  function flush({ ids = null, now: everyWaiting = false } = {}) {
    let run;
    [run, sending] = serialise(sending, () => flushOnce(ids, everyWaiting));
    return run;
  }

  async function flushOnce(ids, everyWaiting) {
    const outcomes = {};
    const due = (await readIndex()).filter((entry) =>
      ids ? ids.includes(entry.id) : entry.state === "waiting" && (everyWaiting || entry.nextAttemptAt <= now()),
    );
    for (const entry of due) {
      const stored = await storage.get(PAYLOAD_PREFIX + entry.id);
      const payload = stored[PAYLOAD_PREFIX + entry.id];
      let outcome;
      if (!payload) {
        outcome = { kind: "rejected", status: 0, message: "The stored capture is missing; discard it." };
      } else {
        try {
          outcome = await send(payload);
        } catch (error) {
          outcome = { kind: "retry", message: String(error && error.message ? error.message : error) };
        }
      }
      outcomes[entry.id] = outcome;
      await exclusive(() => settle(entry.id, outcome));
    }
    return outcomes;
  }

  async function settle(id, outcome) {
    const index = await readIndex();
    const position = index.findIndex((entry) => entry.id === id);
    if (position === -1) return; // discarded while it was being sent
    const entry = index[position];
    if (outcome.kind === "ok") {
      index.splice(position, 1);
      await writeIndex(index);
      await storage.remove(PAYLOAD_PREFIX + id);
      await addHistory({ id, summary: entry.summary, at: now(), ok: true, response: outcome.data ?? null });
      return;
    }
    const attempts = entry.attempts + 1;
    if (outcome.kind === "rejected") {
      index[position] = { ...entry, attempts, state: "rejected", status: outcome.status ?? null, lastError: outcome.message, nextAttemptAt: null };
    } else {
      index[position] = { ...entry, attempts, state: "waiting", status: null, lastError: outcome.message, nextAttemptAt: now() + backoffDelay(attempts, random()) };
    }
    await writeIndex(index);
  }

  /** The entries, oldest first (without their payloads). */
  async function list() {
    return readIndex();
  }

  /** Sends one entry again now, whatever its state (the user pressed Retry). */
  async function retry(id) {
    const outcomes = await flush({ ids: [id] });
    return outcomes[id] ?? null;
  }

  /** Removes an entry and its payload for good (the user pressed Discard). */
  async function discard(id) {
    return exclusive(async () => {
      const index = await readIndex();
      await writeIndex(index.filter((entry) => entry.id !== id));
      await storage.remove(PAYLOAD_PREFIX + id);
    });
  }

  /** When the next waiting entry is due (ms since the epoch), or null if none waits. */
  async function nextAttemptAt() {
    const times = (await readIndex()).filter((entry) => entry.state === "waiting").map((entry) => entry.nextAttemptAt);
    return times.length ? Math.min(...times) : null;
  }

  async function history() {
    const stored = await storage.get(HISTORY_KEY);
    return Array.isArray(stored[HISTORY_KEY]) ? stored[HISTORY_KEY] : [];
  }

  return { add, flush, list, retry, discard, nextAttemptAt, history };
}
