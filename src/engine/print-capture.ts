/**
 * `logPrints: true`: console output made inside such a flow run (and its tasks) is also stored
 * as run logs. The console methods are wrapped once per process, whichever copy of Baton wraps
 * them (process-wide.ts): a wrapper per copy would store every line once per copy. Outside a
 * capturing run the wrapper only forwards.
 */
import { format } from "node:util";
import { processWide } from "./process-wide.ts";
import { currentEngineContext } from "./run-context.ts";
import { redact } from "../core/redaction.ts";

const METHODS = { log: 30, info: 30, debug: 20, warn: 40, error: 50 } as const;
const capture = processWide("print-capture", () => ({ installed: false }), (value): value is { installed: boolean } => typeof (value as { installed?: unknown } | null)?.installed === "boolean");

export function installPrintCapture(): void {
  if (capture.installed) return;
  capture.installed = true;
  for (const [method, level] of Object.entries(METHODS) as [keyof typeof METHODS, number][]) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      // A line holding a secret value this process read is printed redacted, like the stored one.
      const text = format(...args);
      const redacted = redact(text);
      if (redacted === text) original(...args);
      else original(redacted);
      const ctx = currentEngineContext();
      if (!ctx?.flow.options.logPrints || level < 30) return;
      ctx.flow.runtime.batcher.post([
        {
          kind: "log",
          log: { flowRunId: ctx.flow.flowRun.id, taskRunId: ctx.task?.id ?? null, level, message: redacted, timestamp: Date.now(), extra: { source: "print" } },
        },
      ]);
    };
  }
}
