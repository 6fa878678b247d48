/**
 * Events of variables and secrets: `baton.variable.set|deleted`, `baton.secret.set|deleted`,
 * emitted by the store in the transaction of the change. They name the variable or secret and
 * never carry a value (a variable's tags only). Pure builders.
 */
import { newId } from "./ids.ts";
import type { NewEvent } from "./event-records.ts";

export function variableEvent(change: "set" | "deleted", name: string, tags: readonly string[], now = Date.now()): NewEvent {
  return {
    id: newId(),
    occurred: now,
    event: `baton.variable.${change}`,
    resource: { id: `variable/${name}`, name, labels: { kind: "variable" } },
    related: tags.map((tag) => ({ role: "tag", id: tag, name: tag })),
    payload: change === "set" ? { tags: [...tags] } : {},
  };
}

export function secretEvent(change: "set" | "deleted", name: string, now = Date.now()): NewEvent {
  return { id: newId(), occurred: now, event: `baton.secret.${change}`, resource: { id: `secret/${name}`, name, labels: { kind: "secret" } }, related: [], payload: {} };
}
