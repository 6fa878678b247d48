/** A list of events: time, name, what it is about and what it concerns (linked where Baton has a page for it), each expandable to its JSON. */
import { useState } from "react";
import { time } from "./format.ts";
import { Link } from "./router.ts";
import type { EventRecord } from "./types.ts";

/** The dashboard's page for a resource of this kind or role, if it has one. */
export function pageOf(kind: string | undefined, id: string): string | null {
  switch (kind) {
    case "flow-run":
    case "parent-flow-run":
      return `/runs/${encodeURIComponent(id)}`;
    case "task-run":
      return `/task-runs/${encodeURIComponent(id)}`;
    case "deployment":
      return `/deployments/${encodeURIComponent(id)}`;
    case "worker":
      return `/workers/${encodeURIComponent(id)}`;
    case "work-pool":
    case "work-queue":
    case "concurrency-limit":
      return "/work-pools";
    case "flow":
      return `/flows/${encodeURIComponent(id)}`;
    default:
      return null;
  }
}

function Named({ kind, id, name }: { kind: string | undefined; id: string; name?: string | null }) {
  const to = pageOf(kind, kind === "flow" ? (name ?? id) : id);
  const text = name && name !== id ? name : id;
  return to ? (
    <Link to={to} title={id}>
      {text}
    </Link>
  ) : (
    <span title={id}>{text}</span>
  );
}

function EventRow({ event }: { event: EventRecord }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <tr data-event={event.event} data-event-id={event.id} onClick={() => setOpen(!open)} className={open ? "selected" : ""}>
        <td className="muted">{time(event.occurred)}</td>
        <td>
          <code>{event.event}</code>
        </td>
        <td data-testid="event-resource" onClick={(e) => e.stopPropagation()}>
          <Named kind={event.resource.labels?.kind} id={event.resource.id} name={event.resource.name} />
        </td>
        <td className="related" onClick={(e) => e.stopPropagation()}>
          {event.related.map((r) => (
            <span key={`${r.role}:${r.id}`} className="chip related-chip">
              <span className="muted">{r.role}</span> <Named kind={r.role} id={r.id} name={r.name} />
            </span>
          ))}
        </td>
      </tr>
      {open && (
        <tr className="event-json">
          <td colSpan={4}>
            <pre data-testid="event-json">{JSON.stringify(event, null, 2)}</pre>
          </td>
        </tr>
      )}
    </>
  );
}

export function EventList({ events, empty }: { events: EventRecord[]; empty: string }) {
  if (!events.length) return <div className="empty">{empty}</div>;
  return (
    <table className="runs events" data-testid="events">
      <thead>
        <tr>
          <th>Occurred</th>
          <th>Event</th>
          <th>Resource</th>
          <th>Related</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <EventRow key={e.id} event={e} />
        ))}
      </tbody>
    </table>
  );
}
