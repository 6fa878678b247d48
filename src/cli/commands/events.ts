/** `baton events ls|watch`: the durable event log, listed or followed live. */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { parseEventPatterns, type EventFilter } from "../../core/event-filter.ts";
import type { EventRecord } from "../../core/event-records.ts";
import { followEventLog } from "../../client/event-log-feed.ts";
import { loadSettings } from "../../config/settings.ts";
import { withStore } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";

interface FilterOptions {
  event?: string;
  resource?: string;
  related?: string;
  involves?: string;
  since?: string;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `1h`, `7d` ago, or an ISO date/time; the error names the flag. */
export function parseSince(text: string, now = Date.now()): number {
  const relative = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (relative) return Math.round(now - Number(relative[1]) * UNITS[relative[2]!]!);
  const absolute = Date.parse(text);
  if (!Number.isNaN(absolute) && /^\d{4}-\d{2}-\d{2}/.test(text.trim())) return absolute;
  throw new BatonError(`--since must be a duration ago (90s, 15m, 1h, 7d) or an ISO date/time (2026-12-01T08:00Z), got "${text}"`);
}

function filterOf(opts: FilterOptions): EventFilter {
  let event: string[] | undefined;
  try {
    event = opts.event === undefined ? undefined : parseEventPatterns(opts.event, "--event");
  } catch (error) {
    throw new BatonError((error as Error).message);
  }
  return { event, resource: opts.resource, related: opts.related, involves: opts.involves, since: opts.since === undefined ? undefined : parseSince(opts.since) };
}

/** "flow-run:0193…, tag:nightly" (roles and ids, shortened). */
function relatedText(event: EventRecord): string {
  const text = event.related.map((r) => `${r.role}:${r.name ?? r.id}`).join(", ");
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

const resourceText = (event: EventRecord) => (event.resource.name && event.resource.name !== event.resource.id ? `${event.resource.name} (${event.resource.id})` : event.resource.id);

export function eventLine(event: EventRecord): string {
  const related = relatedText(event);
  return `${time(event.occurred)} | ${event.event} | ${resourceText(event)}${related ? ` | ${related}` : ""}`;
}

/**
 * Writes to stdout; when the reader has gone (`baton events watch | head`) the command ends
 * quietly instead of failing on EPIPE.
 */
function exitOnClosedStdout(stop: () => void): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") stop();
    else throw error;
  });
}

const addFilters = (cmd: Command) =>
  cmd
    .option("--event <patterns>", "event names or prefixes ending in *, comma-separated (e.g. baton.flow-run.*,data.arrived)")
    .option("--resource <id>", "only events about this resource")
    .option("--related <id>", "only events related to this resource (a flow run, a deployment, a tag...)")
    .option("--involves <id>", "only events about or related to this resource")
    .option("--since <when>", "only events that occurred since: 15m, 1h, 7d ago, or an ISO date/time");

export function registerEvents(program: Command): void {
  const cmd = program.command("events").description("the durable event log: state changes, deployments, pools, webhooks, your code's emitEvent()");

  addFilters(cmd.command("ls").description("list events, newest first"))
    .option("--limit <n>", "how many (1 to 1000)", "50")
    .option("--json", "print JSON")
    .action(async (opts: FilterOptions & { limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BatonError(`--limit must be an integer from 1 to 1000, got "${opts.limit}"`);
      const filter = filterOf(opts);
      await withStore(async (store) => {
        const page = await store.listEvents({ ...filter, limit });
        if (opts.json) return printJson(page.items);
        if (!page.items.length) return console.log("No events match. Baton records state changes, deployment and pool changes, webhooks and emitEvent() calls.");
        console.log(
          table(
            ["occurred", "event", "resource", "related"],
            page.items.map((e) => [time(e.occurred), e.event, resourceText(e), relatedText(e)]),
          ),
        );
      });
    });

  addFilters(cmd.command("watch").description("print new events as they are stored, until interrupted (follows server restarts)"))
    .option("--json", "print each event as a JSON line")
    .action(async (opts: FilterOptions & { json?: boolean }) => {
      const filter = filterOf(opts);
      const stop = new AbortController();
      exitOnClosedStdout(() => stop.abort());
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        await withStore((store) =>
          followEventLog(store, {
            filter,
            signal: stop.signal,
            retryWindowMs: loadSettings().apiRetryMs.value,
            // On stderr: with --json, stdout holds events only.
            onStart: () => process.stderr.write("Watching events (Ctrl-C to stop)\n"),
            onEvent: (event) => {
              if (!stop.signal.aborted) process.stdout.write(`${opts.json ? JSON.stringify(event) : eventLine(event)}\n`);
            },
          }),
        );
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
