/** The events of a run (about it or related to it: its transitions, its tasks', what its code emitted), live. */
import { EventList } from "./EventList.tsx";
import { useEventFeed } from "./event-feed.ts";

export function RunEvents({ runId }: { runId: string }) {
  const feed = useEventFeed(`involves=${encodeURIComponent(runId)}`, 50);
  return (
    <div data-testid="run-events">
      {feed.error && <p className="error">{feed.error}</p>}
      <EventList events={feed.events} empty="No events of this run yet." />
      {feed.older && (
        <button className="more" onClick={feed.loadOlder}>
          Older events
        </button>
      )}
    </div>
  );
}
