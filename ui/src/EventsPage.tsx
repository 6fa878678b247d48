/**
 * The durable event log, live: state changes, deployment and pool changes, webhooks and what
 * flows emit. Filters (an event pattern such as `baton.flow-run.*`, a resource id) live in the
 * URL; each event opens to its JSON and links to the runs, deployments and pools it names.
 */
import { useState } from "react";
import { EventList } from "./EventList.tsx";
import { useEventFeed } from "./event-feed.ts";
import { replaceQuery } from "./router.ts";

export function EventsPage({ url }: { url: URL }) {
  const event = url.searchParams.get("event") ?? "";
  const resource = url.searchParams.get("resource") ?? "";
  const [texts, setTexts] = useState({ event, resource });
  const query = new URLSearchParams();
  if (event) query.set("event", event);
  if (resource) query.set("involves", resource);
  const feed = useEventFeed(query.toString());
  const apply = () => replaceQuery({ event: texts.event.trim() || null, resource: texts.resource.trim() || null });
  return (
    <section>
      <div className="toolbar">
        <h1>Events</h1>
        <form
          className="filters"
          onSubmit={(e) => {
            e.preventDefault();
            apply();
          }}
        >
          <input aria-label="event filter" placeholder="event: baton.flow-run.*, data.arrived" value={texts.event} onChange={(e) => setTexts({ ...texts, event: e.target.value })} size={30} />
          <input aria-label="resource filter" placeholder="resource id" value={texts.resource} onChange={(e) => setTexts({ ...texts, resource: e.target.value })} size={30} />
          <button type="submit">Filter</button>
        </form>
        <span className={`state ${feed.live ? "running" : "pending"}`} data-testid="events-live" title="new events appear as they are stored">
          {feed.live ? "Live" : "Connecting…"}
        </span>
      </div>
      {feed.error && <p className="error">{feed.error}</p>}
      <EventList
        events={feed.events}
        empty={event || resource ? "No events match these filters yet." : "No events yet. Runs, deployments, work pools, webhooks and emitEvent() in your flows record them."}
      />
      {feed.older && (
        <button className="more" onClick={feed.loadOlder}>
          Older events
        </button>
      )}
    </section>
  );
}
