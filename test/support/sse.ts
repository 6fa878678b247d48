/** A minimal server-sent-events reader for tests: every message (event, data, id) and the last id seen. */
import { until } from "./processes.ts";

export interface SseMessage {
  id: string | null;
  event: string | null;
  data: string | null;
}

export interface SseReader {
  status: number;
  /** Messages with data, in order. */
  messages: SseMessage[];
  /** The id of the last message that had one (data or not), as EventSource keeps it. */
  lastId(): string | null;
  /** Waits until `count` messages with data arrived. */
  waitFor(count: number, ms?: number): Promise<SseMessage[]>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: controller.signal });
  const messages: SseMessage[] = [];
  let last: string | null = null;
  if (response.ok && response.body) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const message: SseMessage = { id: null, event: null, data: null };
            for (const line of frame.split("\n")) {
              if (line.startsWith("id: ")) message.id = line.slice(4);
              else if (line.startsWith("event: ")) message.event = line.slice(7);
              else if (line.startsWith("data: ")) message.data = (message.data === null ? "" : `${message.data}\n`) + line.slice(6);
            }
            if (message.id !== null) last = message.id;
            if (message.data !== null) messages.push(message);
          }
        }
      } catch {
        // aborted
      }
    })();
  }
  return {
    status: response.status,
    messages,
    lastId: () => last,
    waitFor: (count, ms = 10_000) => until(() => messages.length >= count && messages, `${count} stream messages (got ${messages.length})`, ms),
    close: () => controller.abort(),
  };
}
