// Whether a checkout's build (dist/) is current: stamped (dist/.built, written last by
// `npm run build`) no earlier than the last change to any file under src/. Read by bin/baton.js
// at each start, by scripts/build.mjs --if-stale and by the tests; plain JavaScript, no imports
// beyond node:fs, so that it costs bin/baton.js a few milliseconds of stat calls.
import fs from "node:fs";

/** Whether some file under the folder `dir` (a file: URL ending in /) changed after `ms`. */
function changedAfter(dir, ms) {
  return fs.readdirSync(dir, { withFileTypes: true }).some((entry) => {
    const child = new URL(entry.name + (entry.isDirectory() ? "/" : ""), dir);
    return entry.isDirectory() ? changedAfter(child, ms) : fs.statSync(child).mtimeMs > ms;
  });
}

/** Whether `root`'s (a file: URL ending in /) dist/ was stamped after every file under its src/ last changed. */
export function buildIsCurrent(root) {
  let stamped;
  try {
    stamped = fs.statSync(new URL("dist/.built", root)).mtimeMs;
  } catch {
    return false;
  }
  return !changedAfter(new URL("src/", root), stamped);
}
