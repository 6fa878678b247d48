/**
 * The audit of API calls: every mutating call (any method but GET, HEAD and OPTIONS) under /api,
 * sign-ins and sign-outs included, whatever its outcome — a refused or denied call is worth as
 * much to an auditor as a successful one. Who comes from `request.principal` (access.ts), what
 * from the route and its parameters, the ids named in the body and the id of what the call
 * created (read from the answer).
 *
 * Off the request's critical path: the entry is appended once the answer has been sent (the
 * onResponse hook), by a writer that waits a few milliseconds for more and commits them all in
 * one transaction (a group commit: one lock and one sync of the database serve many calls —
 * committing each alone doubled a mutating call's cost on SQLite, measured). A failed
 * append is tried again, and if it still fails the entry is written to the server's log at error
 * level with everything it held; closing the server waits for the entries in flight.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { outcomeOfStatus, type NewAuditEntry } from "../core/audit-chain.ts";
import type { KyselyAuditLog } from "../store/audit-log.ts";
import { ANONYMOUS } from "./principal.ts";

/** Entries per transaction at most. */
const BATCH = 500;
/** How long the first entry of a group waits for more before they are committed (ms). */
const GROUP_WAIT_MS = 50;
/** Attempts of a batch before its entries go to the error log. */
const ATTEMPTS = 3;
/** Answers larger than this are not read for the id of what a call created (a batch's). */
const CREATED_ID_MAX_BYTES = 64 * 1024;
/** Targets kept per entry, and characters per target. */
const MAX_TARGETS = 20;
const MAX_TARGET_CHARS = 200;

interface Waiting {
  entry: NewAuditEntry;
  done: () => void;
}

/** Appends entries in group commits (see the header). */
export class AuditWriter {
  private waiting: Waiting[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly log: Pick<KyselyAuditLog, "append">,
    private readonly onLost: (error: unknown, entries: readonly NewAuditEntry[]) => void,
    private readonly retryDelayMs = 500,
    private readonly groupWaitMs = GROUP_WAIT_MS,
  ) {}

  /** Resolves once the entry is committed (or, after every attempt failed, logged as lost). */
  append(entry: NewAuditEntry): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push({ entry, done: resolve });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    await new Promise((r) => setTimeout(r, this.groupWaitMs));
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, BATCH);
      const entries = batch.map((w) => w.entry);
      for (let attempt = 1; ; attempt++) {
        try {
          await this.log.append(entries);
          break;
        } catch (error) {
          if (attempt >= ATTEMPTS) {
            this.onLost(error, entries);
            break;
          }
          await new Promise((r) => setTimeout(r, this.retryDelayMs * attempt));
        }
      }
      for (const w of batch) w.done();
    }
    this.flushing = null;
  }

  /** Waits until every entry appended so far is committed. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}

const UNAUDITED_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function isAudited(request: FastifyRequest): boolean {
  return !UNAUDITED_METHODS.has(request.method) && (request.url === "/api" || request.url.startsWith("/api/") || request.url.startsWith("/api?"));
}

/** `sign-in` and `sign-out` for the session routes; `METHOD /api/route/:param` for the rest (the path itself when no route matched). */
export function auditAction(method: string, routeUrl: string | undefined, url: string): string {
  if (routeUrl === "/api/session") {
    if (method === "POST") return "sign-in";
    if (method === "DELETE") return "sign-out";
  }
  return `${method} ${routeUrl ?? url.split("?")[0]!.slice(0, 300)}`;
}

/** The ids a call names: its path parameters, the body's top-level `id` and `…Id` strings, and what it created. */
export function auditTargets(params: unknown, body: unknown, createdId: string | undefined): string[] {
  const out = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === "string" && value.length > 0 && out.size < MAX_TARGETS) out.add(value.slice(0, MAX_TARGET_CHARS));
  };
  if (params && typeof params === "object") for (const value of Object.values(params)) add(value);
  if (body && typeof body === "object" && !Array.isArray(body))
    for (const [key, value] of Object.entries(body)) if (key === "id" || key.endsWith("Id")) add(value);
  add(createdId);
  return [...out];
}

/** The `id` of the object a successful call answered with (what it created or changed), if small enough to read. */
function answeredId(payload: unknown): string | undefined {
  if (typeof payload !== "string" || payload.length > CREATED_ID_MAX_BYTES || !payload.startsWith("{")) return undefined;
  try {
    const id = (JSON.parse(payload) as { id?: unknown }).id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Installs the hooks that audit every mutating API call through `writer`. */
export function installAuditHooks(app: FastifyInstance, writer: AuditWriter): void {
  const answered = new WeakMap<FastifyRequest, string>();
  app.addHook("onSend", (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) => {
    if (isAudited(request) && reply.statusCode < 300) {
      const id = answeredId(payload);
      if (id) answered.set(request, id);
    }
    done(null, payload);
  });
  app.addHook("onResponse", (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (isAudited(request)) {
      const principal = request.principal ?? ANONYMOUS;
      void writer.append({
        at: Date.now(),
        actor: { kind: principal.kind, id: principal.id, name: principal.name, role: principal.role },
        action: auditAction(request.method, request.routeOptions.url, request.url),
        targets: auditTargets(request.params, request.body, answered.get(request)),
        status: reply.statusCode,
        outcome: outcomeOfStatus(reply.statusCode),
        clientIp: request.ip ?? null,
        requestId: String(request.id),
        detail: null,
      });
    }
    done();
  });
}
