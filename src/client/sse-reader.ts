/** Reading a server-sent-event response: each message's id, event name and data, in order. */
import type { IncomingMessage } from "node:http";

export interface SseMessage {
  /** The message's `id:` (the resume point to send back as Last-Event-ID), or null. */
  id: string | null;
  event: string | null;
  /** The `data:` lines joined, or null for a message without data (an id-only one). */
  data: string | null;
}

/** Calls `onMessage` for every message until the response ends (comments are skipped). */
export async function readSse(response: IncomingMessage, onMessage: (message: SseMessage) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of response as AsyncIterable<Buffer>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: SseMessage = { id: null, event: null, data: null };
      for (const line of frame.split("\n")) {
        if (line.startsWith("id: ")) message.id = line.slice(4);
        else if (line.startsWith("event: ")) message.event = line.slice(7);
        else if (line.startsWith("data: ")) message.data = message.data === null ? line.slice(6) : `${message.data}\n${line.slice(6)}`;
      }
      if (message.id !== null || message.data !== null) onMessage(message);
    }
  }
}
