// Entry of a Baton worker thread. Plain JavaScript on purpose: it registers tsx first, so the
// task modules it imports (and Baton's own sources when run from a checkout) may be TypeScript,
// then the flow-module hooks, so that they load as in the main thread (flow-module-hooks.mjs).
import fs from "node:fs";
import { register } from "tsx/esm/api";
import { registerFlowModuleHooks } from "./flow-module-hooks.mjs";

register();
const here = new URL(".", import.meta.url);
const built = fs.existsSync(new URL("thread-task.js", here));
registerFlowModuleHooks(new URL(built ? "../index.js" : "../index.ts", here).href);
const impl = built ? "thread-task.js" : "thread-task.ts";
const { runTaskInThread } = await import(new URL(impl, here).href);

export default runTaskInThread;
