/**
 * A TCP proxy in front of PostgreSQL, for connection-loss tests on the shared server (which must
 * never be restarted). It can cut every connection (as a server restart does), hold the answers
 * to a chosen statement (the statement runs and commits, the client never hears: an unknown
 * outcome), and refuse new connections (a server that is down).
 */
import net from "node:net";

export interface PgProxy {
  /** `targetUrl` with the proxy's host and port. */
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Drops every open connection, both ways. */
  cut(): void;
  /**
   * Forwards the next client message that contains `text`, then holds the server's answers on
   * that connection (until `cut()`). Resolves once that message went to the server.
   */
  holdAnswersAfter(text: string): Promise<void>;
  /** Stops accepting: new connections are refused until `accept()`. */
  refuse(): Promise<void>;
  accept(): Promise<void>;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  server: net.Socket;
  holding: boolean;
}

export async function startPgProxy(targetUrl: string): Promise<PgProxy> {
  const target = new URL(targetUrl);
  const pairs = new Set<Pair>();
  let hold: { text: Buffer; forwarded: () => void } | null = null;
  let accepted = 0;

  const listener = net.createServer((client) => {
    accepted++;
    const server = net.connect(Number(target.port || 5432), target.hostname);
    const pair: Pair = { client, server, holding: false };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      server.write(chunk);
      if (hold && chunk.includes(hold.text)) {
        pair.holding = true;
        hold.forwarded();
        hold = null;
      }
    });
    server.on("data", (chunk: Buffer) => {
      if (!pair.holding) client.write(chunk);
    });
    for (const socket of [client, server]) {
      socket.on("error", drop);
      socket.on("close", drop);
    }
  });
  const listen = (port: number) => new Promise<void>((resolve) => listener.listen(port, "127.0.0.1", resolve));
  await listen(0);
  const port = (listener.address() as net.AddressInfo).port;
  const url = new URL(targetUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);

  const cut = () => {
    hold = null;
    for (const pair of pairs) {
      pair.client.destroy();
      pair.server.destroy();
    }
    pairs.clear();
  };
  return {
    url: url.toString(),
    get accepted() {
      return accepted;
    },
    cut,
    holdAnswersAfter: (text) => new Promise<void>((resolve) => (hold = { text: Buffer.from(text), forwarded: resolve })),
    // close() stops listening at once; its callback waits for the open connections to end.
    refuse: async () => void listener.close(),
    accept: () => listen(port),
    async close() {
      cut();
      if (listener.listening) await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}
