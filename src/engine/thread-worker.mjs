// Entry of a Baton worker thread. Plain JavaScript on purpose: it registers tsx first, so the
// task modules it imports (and Baton's own sources when run from a checkout) may be TypeScript.
import fs from "node:fs";
import { register } from "tsx/esm/api";

register();
const here = new URL(".", import.meta.url);
const impl = fs.existsSync(new URL("thread-task.js", here)) ? "thread-task.js" : "thread-task.ts";
const { runTaskInThread } = await import(new URL(impl, here).href);

export default runTaskInThread;
