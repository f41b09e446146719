// Talking to the OSINT Annotator server: its URL and the user's personal API token (kept in
// extension storage only), and the project's one error shape {"error": {"code", "message", "fields"}}.

/** "https://annotator.example.org/some/page" -> "https://annotator.example.org"; throws on anything
 * that is not an http(s) URL with a host. */
export function normalizeServerUrl(input) {
  const text = String(input ?? "").trim();
  let url;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw new Error("Enter the server's address, e.g. https://annotator.example.org");
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) {
    throw new Error("The server's address must start with https:// (or http:// for a local server).");
  }
  if (url.username || url.password) throw new Error("Leave the user name and password out of the address.");
  return url.origin;
}

/** The host permission pattern for a server origin. Without a port: Firefox's match patterns take
 * none, and in Chromium a pattern without a port matches every port. */
export function originPattern(origin) {
  const url = new URL(origin);
  return `${url.protocol}//${url.hostname}/*`;
}

/** True when the token would travel unencrypted to a host other than this machine. */
export function isInsecureRemote(origin) {
  const url = new URL(origin);
  return url.protocol === "http:" && !["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

/** The message to show for a failed response: the server's own message where it sent one. */
export function errorMessage(status, data) {
  const error = data && typeof data === "object" ? data.error : null;
  if (error && typeof error.message === "string" && error.message) {
    const fields = error.fields && typeof error.fields === "object" ? error.fields : {};
    const details = Object.entries(fields)
      .filter(([, messages]) => Array.isArray(messages) && messages.length)
      .map(([name, messages]) => `${name}: ${messages.join(" ")}`);
    const extra = details.filter((line) => !error.message.includes(line));
    return extra.length ? `${error.message} (${extra.join("; ")})` : error.message;
  }
  if (status === 401) return "The server refused the API token (HTTP 401). Check it in the extension's options.";
  if (status === 413) return "The capture is larger than the server accepts (HTTP 413).";
  return `The server answered HTTP ${status}.`;
}

/** Whether a failed request is worth sending again later on its own: the server was unreachable,
 * overloaded or broken. A 4xx is the server refusing this request; sending it again would not help. */
export function isRetryableStatus(status) {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

/** fetch() against the server with the token. Resolves to {ok, status, data, networkError}; never
 * throws for network failures (status 0, networkError set) so callers can queue and retry. */
export async function apiRequest(
  settings,
  path,
  { method = "GET", body, signal, timeoutMs = 30_000 } = {},
  fetchImpl = globalThis.fetch,
) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${settings.token}` };
  let response;
  try {
    response = await fetchImpl(`${settings.serverUrl}${path}`, {
      method,
      body,
      headers,
      // A server that accepts the connection and never answers counts as unreachable.
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      // The token is the only credential: no cookies of a session in this browser ride along.
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
    });
  } catch (error) {
    if (error && error.name === "AbortError") throw error; // the caller's own signal
    if (error && error.name === "TimeoutError") {
      return { ok: false, status: 0, data: null, networkError: `no answer within ${Math.round(timeoutMs / 1000)} s` };
    }
    return { ok: false, status: 0, data: null, networkError: String(error && error.message ? error.message : error) };
  }
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  return { ok: response.ok, status: response.status, data, networkError: null };
}

/** Resolves an evidence link from the server against the server's origin; null unless it stays
 * on that origin (a link in the popup must not lead anywhere a response could point it). */
export function appLink(serverUrl, appUrl) {
  if (typeof appUrl !== "string" || !appUrl) return null;
  try {
    const url = new URL(appUrl, serverUrl);
    return url.origin === new URL(serverUrl).origin ? url.href : null;
  } catch {
    return null;
  }
}
