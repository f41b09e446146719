// The WebExtension API object: `browser` (Firefox; recent Chromium has it too), else `chrome` (whose MV3
// APIs return promises too when no callback is passed). Everything else imports `ext` from here.
export const ext = globalThis.browser ?? globalThis.chrome;
