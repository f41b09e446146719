// Which platform account a page URL is about: "https://x.com/Name/status/1?s=20" -> {platform: "x",
// handle: "Name"}, or null when the URL is not about one account.
//
// The server parses the URL again with cases/capture_urls.py (parse_account_url) and refuses a
// capture whose platform or handle disagree, so the two implementations follow the same rules and
// are both tested against one table, tests/fixtures/capture_urls.json. Change both or neither.
//
// The URL is split the way Python's urllib.parse.urlsplit splits it (not with `new URL`, which
// would resolve "/a/../b" and re-encode the path, and so disagree with the server on odd URLs).

const HOSTS = {
  x: ["x.com", "twitter.com", "mobile.twitter.com", "mobile.x.com"],
  facebook: ["facebook.com", "m.facebook.com", "mbasic.facebook.com", "web.facebook.com", "touch.facebook.com"],
  instagram: ["instagram.com", "m.instagram.com"],
  tiktok: ["tiktok.com", "m.tiktok.com"],
  youtube: ["youtube.com", "m.youtube.com"],
  telegram: ["t.me", "telegram.me"],
  reddit: ["reddit.com", "old.reddit.com", "new.reddit.com", "m.reddit.com"],
};
const PLATFORM_BY_HOST = new Map(
  Object.entries(HOSTS).flatMap(([platform, hosts]) => hosts.map((host) => [host, platform])),
);

const X_HANDLE = /^[A-Za-z0-9_]{1,15}$/;
const X_RESERVED = new Set([
  "home", "explore", "search", "i", "settings", "messages", "notifications", "intent", "hashtag",
  "share", "login", "logout", "signup", "tos", "privacy", "compose", "jobs", "lists", "topics",
]);
const FB_HANDLE = /^[A-Za-z0-9.-]{1,80}$/;
const FB_RESERVED = new Set([
  "login", "logout", "watch", "groups", "events", "pages", "marketplace", "gaming", "reel", "reels",
  "hashtag", "search", "help", "settings", "share", "sharer", "sharer.php", "photo.php", "story.php",
  "permalink.php", "home.php", "plugins", "policies", "privacy", "stories", "friends", "messages",
  "notifications", "bookmarks", "ads", "business",
]);
const IG_HANDLE = /^[A-Za-z0-9._]{1,30}$/;
const IG_RESERVED = new Set(["p", "reel", "reels", "explore", "accounts", "direct", "tv", "about", "legal", "developer"]);
const TIKTOK_HANDLE = /^@([A-Za-z0-9._]{1,40})$/;
const YT_HANDLE = /^@([A-Za-z0-9._-]{1,100})$/;
const YT_CHANNEL = /^UC[A-Za-z0-9_-]{22}$/;
const TG_HANDLE = /^[A-Za-z][A-Za-z0-9_]{2,31}$/;
const TG_RESERVED = new Set(["joinchat", "addstickers", "addemoji", "share", "proxy", "socks", "c", "s", "iv", "login"]);
const REDDIT_HANDLE = /^[A-Za-z0-9_-]{1,30}$/;
const DIGITS = /^[0-9]{1,30}$/;

// scheme "://" netloc path ["?" query] ["#" fragment], as urlsplit reads an absolute URL.
const SPLIT = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/s;

/** Splits a URL into {scheme, host, path, query} like Python's urlsplit + .hostname; null if it cannot. */
export function splitUrl(url) {
  if (typeof url !== "string") return null;
  // urlsplit drops tabs and line breaks anywhere in the URL; the server strips surrounding space.
  const cleaned = url.trim().replace(/[\t\r\n]/g, "");
  const match = SPLIT.exec(cleaned);
  if (!match) return null;
  const [, scheme, netloc, path, query = ""] = match;
  const hostinfo = netloc.slice(netloc.lastIndexOf("@") + 1);
  let host;
  if (hostinfo.startsWith("[")) {
    const end = hostinfo.indexOf("]");
    host = end === -1 ? hostinfo.slice(1) : hostinfo.slice(1, end);
  } else {
    const colon = hostinfo.indexOf(":");
    host = colon === -1 ? hostinfo : hostinfo.slice(0, colon);
  }
  return { scheme: scheme.toLowerCase(), host: host.toLowerCase(), path, query };
}

/** The first value of a query parameter, decoded; blank values count as absent (like parse_qs). */
function queryValue(query, name) {
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    const key = decodeQuery(part.slice(0, eq));
    const value = decodeQuery(part.slice(eq + 1));
    if (key === name && value !== "") return value;
  }
  return null;
}

function decodeQuery(text) {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

const PARSERS = {
  x(segments) {
    const first = segments[0];
    return first && !X_RESERVED.has(first.toLowerCase()) && X_HANDLE.test(first) ? first : null;
  },
  facebook(segments, query) {
    if (!segments.length) return null;
    const first = segments[0];
    if (first === "profile.php") {
      const id = queryValue(query, "id");
      return id !== null && DIGITS.test(id) ? id : null;
    }
    if (first === "people" && segments.length >= 3 && DIGITS.test(segments[2])) return segments[2];
    if (FB_RESERVED.has(first.toLowerCase()) || first === "people") return null;
    return FB_HANDLE.test(first) ? first : null;
  },
  instagram(segments) {
    if (!segments.length) return null;
    if (segments[0] === "stories" && segments.length >= 2) {
      const name = segments[1];
      return name !== "highlights" && IG_HANDLE.test(name) ? name : null;
    }
    if (IG_RESERVED.has(segments[0].toLowerCase()) || segments[0] === "stories") return null;
    return IG_HANDLE.test(segments[0]) ? segments[0] : null;
  },
  tiktok(segments) {
    const match = segments.length ? TIKTOK_HANDLE.exec(segments[0]) : null;
    return match ? match[1] : null;
  },
  youtube(segments) {
    if (!segments.length) return null;
    const match = YT_HANDLE.exec(segments[0]);
    if (match) return match[1];
    if (segments[0] === "channel" && segments.length >= 2 && YT_CHANNEL.test(segments[1])) return segments[1];
    return null;
  },
  telegram(segments) {
    if (!segments.length) return null;
    const rest = segments[0] === "s" && segments.length >= 2 ? segments.slice(1) : segments;
    const name = rest[0];
    return TG_RESERVED.has(name.toLowerCase()) || !TG_HANDLE.test(name) ? null : name;
  },
  reddit(segments) {
    if (segments.length >= 2 && (segments[0] === "user" || segments[0] === "u") && REDDIT_HANDLE.test(segments[1])) {
      return segments[1];
    }
    return null;
  },
};

/** {platform, handle} for a profile or post URL of a supported platform, otherwise null. */
export function parseAccountUrl(url) {
  const parts = splitUrl(url);
  if (!parts || (parts.scheme !== "http" && parts.scheme !== "https")) return null;
  let host = parts.host.replace(/\.+$/, "");
  if (host.startsWith("www.")) host = host.slice(4);
  const platform = PLATFORM_BY_HOST.get(host);
  if (!platform) return null;
  const segments = parts.path.split("/").filter(Boolean);
  const handle = PARSERS[platform](segments, parts.query);
  return handle ? { platform, handle } : null;
}

/** Match patterns of the pages that can name an account (for context menus' documentUrlPatterns). */
export const ACCOUNT_PAGE_PATTERNS = Object.freeze(
  Object.values(HOSTS).flatMap((hosts) => hosts.flatMap((host) => [`*://${host}/*`, `*://www.${host}/*`])),
);

/** The platform values of cases/models/accounts.py Platform that a URL can name (not "other"). */
export const PLATFORMS = Object.freeze(Object.keys(HOSTS));
