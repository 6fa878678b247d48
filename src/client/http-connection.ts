/**
 * A lean HTTP/1.1 client for the API's JSON requests: a pool of keep-alive connections to one
 * origin, each carrying one exchange at a time. It exists for speed. On a flow's hot path (one
 * round trip per sequential task) node:http's ClientRequest / IncomingMessage machinery cost
 * ~75 µs per request on top of a ~100 µs localhost round trip (measured with `--cpu-prof`);
 * here a request is one socket write and its answer is parsed straight from the bytes.
 *
 * What it speaks: a request line, a few headers and an optional body (Content-Length); answers
 * framed by Content-Length, by chunked transfer coding, or by the end of the connection; 1xx
 * interim answers are skipped. A connection is reused unless the server said `Connection:
 * close`, the answer ran to the connection's end, or anything went wrong.
 *
 * A connection's life: connecting (the request is written at once; the socket sends it once
 * connected) → busy (reading the answer) → idle in the pool (unref'd, so it does not keep the
 * process alive, as with node:http's keep-alive agent) → busy again, or closed after
 * `timeoutMs` idle. A reused connection that the server had closed meanwhile fails before any
 * byte of the answer: that exchange is sent again once on a fresh connection (the API's
 * requests are safe to repeat: batches carry an id, states their timestamp).
 */
import net from "node:net";
import tls from "node:tls";

export interface HttpAnswer {
  status: number;
  text: string;
}

export interface HttpOrigin {
  secure: boolean;
  hostname: string;
  port: number;
}

export interface HttpPoolOptions {
  /** Connections open at most; further requests wait for one to be free. */
  maxSockets?: number;
  /** A busy connection silent this long fails its request; an idle one is closed. */
  timeoutMs?: number;
  /** Headers sent with every request (Host, Content-Type and Content-Length are added). */
  headers?: Record<string, string>;
  /** Extra TLS options (a private CA, for instance) for https origins. */
  tls?: tls.ConnectionOptions;
}

/** Largest status line and headers accepted (node:http's default is 16 KB). */
const MAX_HEAD_BYTES = 64 * 1024;
const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");

interface Exchange {
  method: string;
  message: string;
  resolve(answer: HttpAnswer): void;
  reject(error: Error): void;
  /** Sent again already after a stale keep-alive connection. */
  resent: boolean;
}

export class HttpPool {
  private readonly idle: Connection[] = [];
  private readonly waiting: Exchange[] = [];
  private open = 0;
  /** The header lines every request carries (Host first). */
  private readonly head: string;
  readonly maxSockets: number;
  readonly timeoutMs: number;

  constructor(
    readonly origin: HttpOrigin,
    private readonly options: HttpPoolOptions = {},
  ) {
    this.maxSockets = options.maxSockets ?? 16;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const hostname = origin.hostname.includes(":") ? `[${origin.hostname}]` : origin.hostname;
    let head = `host: ${origin.port === (origin.secure ? 443 : 80) ? hostname : `${hostname}:${origin.port}`}\r\n`;
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      // A CR or LF would let a value (an API key from the environment) split the request.
      if (!/^[!#$%&'*+.^`|~\w-]+$/.test(name) || /[\r\n\0]/.test(value)) throw new TypeError(`invalid HTTP header ${JSON.stringify(name)}: it may not contain line breaks or NUL`);
      head += `${name}: ${value}\r\n`;
    }
    this.head = head;
  }

  /**
   * Sends one request (with a JSON body, if given); resolves with the answer's status and body
   * text, whatever the status. Rejects when the server cannot be reached or the exchange breaks
   * off.
   */
  request(method: string, path: string, body?: string): Promise<HttpAnswer> {
    // What node:http refuses too: a path that would split the request line.
    if (!/^\/[\x21-\x7e]*$/.test(path)) return Promise.reject(new TypeError(`request path contains unescaped characters: ${JSON.stringify(path)}`));
    const message =
      body === undefined
        ? `${method} ${path} HTTP/1.1\r\n${this.head}\r\n`
        : `${method} ${path} HTTP/1.1\r\n${this.head}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise((resolve, reject) => this.dispatch({ method, message, resolve, reject, resent: false }));
  }

  /** Closes the idle connections (requests in flight finish; later ones open new ones). */
  close(): void {
    for (const connection of this.idle.splice(0)) connection.destroy();
  }

  /** Hands an exchange to an idle connection, a new one, or the queue. */
  dispatch(exchange: Exchange): void {
    const connection = this.idle.pop();
    if (connection) return connection.send(exchange);
    if (this.open < this.maxSockets) {
      this.open++;
      return new Connection(this, this.connect()).send(exchange);
    }
    this.waiting.push(exchange);
  }

  /** A connection finished its exchange and may carry another. */
  released(connection: Connection): void {
    const next = this.waiting.shift();
    if (next) return connection.send(next);
    connection.park();
    this.idle.push(connection);
  }

  /** A connection is gone: forget it, and open another for a waiting request. */
  closed(connection: Connection): void {
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    this.open--;
    const next = this.waiting.shift();
    if (next) this.dispatch(next);
  }

  private connect(): net.Socket {
    const { hostname, port, secure } = this.origin;
    if (!secure) return net.connect({ host: hostname, port });
    return tls.connect({ host: hostname, port, servername: net.isIP(hostname) ? undefined : hostname, ...this.options.tls });
  }
}

/** How the body of the answer being read is delimited. */
type Framing = "head" | "length" | "chunk-size" | "chunk-data" | "chunk-end" | "trailers" | "until-close";

class Connection {
  private exchange: Exchange | null = null;
  /** Exchanges completed on this connection (a reused one may find it closed by the server). */
  private served = 0;
  private gone = false;
  /** Bytes received and not yet consumed by the parser. */
  private pending: Buffer | null = null;
  private framing: Framing = "head";
  private status = 0;
  private remaining = 0;
  private body: Buffer[] = [];
  private reusable = true;
  private answered = false;

  constructor(
    private readonly pool: HttpPool,
    private readonly socket: net.Socket,
  ) {
    socket.setNoDelay(true);
    socket.setTimeout(pool.timeoutMs);
    socket.on("data", (chunk: Buffer) => this.received(chunk));
    socket.on("timeout", () => this.fail(new Error(`no answer within ${pool.timeoutMs < 1000 ? `${pool.timeoutMs} ms` : `${Math.round(pool.timeoutMs / 1000)} s`}`)));
    socket.on("error", (error: NodeJS.ErrnoException) => this.fail(error, error.code === "ECONNRESET" || error.code === "EPIPE"));
    socket.on("end", () => this.ended());
    socket.on("close", () => this.ended());
  }

  send(exchange: Exchange): void {
    this.exchange = exchange;
    this.framing = "head";
    this.answered = false;
    this.socket.ref();
    this.socket.write(exchange.message);
  }

  park(): void {
    this.socket.unref();
  }

  destroy(): void {
    this.fail(null);
  }

  private received(chunk: Buffer): void {
    if (!this.exchange) return this.fail(null); // unsolicited bytes (a 408 before an idle close): not trusted
    this.answered = true;
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    try {
      this.parse();
    } catch (error) {
      this.fail(error as Error);
    }
  }

  /** Consumes `pending` as far as it goes; completes the exchange at the end of the answer. */
  private parse(): void {
    while (this.pending && this.exchange) {
      const buf = this.pending;
      switch (this.framing) {
        case "head": {
          const end = buf.indexOf(HEAD_END);
          if (end < 0) {
            if (buf.length > MAX_HEAD_BYTES) throw new Error("the answer's headers are too large");
            return;
          }
          this.consume(end + 4);
          this.readHead(buf.toString("latin1", 0, end));
          break;
        }
        case "length": {
          const take = Math.min(this.remaining, buf.length);
          this.body.push(take === buf.length ? buf : buf.subarray(0, take));
          this.remaining -= take;
          this.consume(take);
          if (this.remaining === 0) this.complete();
          break;
        }
        case "chunk-size":
        case "chunk-end":
        case "trailers": {
          const end = buf.indexOf(CRLF);
          if (end < 0) {
            if (buf.length > MAX_HEAD_BYTES) throw new Error("malformed chunked answer");
            return;
          }
          const line = buf.toString("latin1", 0, end);
          this.consume(end + 2);
          if (this.framing === "chunk-end") {
            if (line !== "") throw new Error("malformed chunked answer: a chunk does not end with CRLF");
            this.framing = "chunk-size";
          } else if (this.framing === "trailers") {
            if (line === "") this.complete();
          } else {
            const size = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
            if (!size) throw new Error(`malformed chunked answer: chunk size ${JSON.stringify(line.slice(0, 40))}`);
            this.remaining = parseInt(size[1]!, 16);
            this.framing = this.remaining === 0 ? "trailers" : "chunk-data";
          }
          break;
        }
        case "chunk-data": {
          const take = Math.min(this.remaining, buf.length);
          this.body.push(buf.subarray(0, take));
          this.remaining -= take;
          this.consume(take);
          if (this.remaining === 0) this.framing = "chunk-end";
          break;
        }
        case "until-close":
          this.body.push(buf);
          this.consume(buf.length);
          break;
      }
    }
  }

  private consume(bytes: number): void {
    this.pending = bytes >= this.pending!.length ? null : this.pending!.subarray(bytes);
  }

  /** Reads the status line and the headers that frame the body. */
  private readHead(head: string): void {
    const statusEnd = head.indexOf("\r\n");
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(statusEnd < 0 ? head : head.slice(0, statusEnd));
    if (!statusLine) throw new Error(`not an HTTP/1.1 answer: ${JSON.stringify(head.slice(0, Math.min(60, statusEnd < 0 ? 60 : statusEnd)))}`);
    const status = Number(statusLine[2]);
    let length: number | null = null;
    let chunked = false;
    let close = statusLine[1] === "0";
    // Only three headers frame the answer; the others are skipped without being copied.
    const lower = head.toLowerCase();
    for (let start = statusEnd + 2; statusEnd >= 0 && start < head.length; ) {
      const next = lower.indexOf("\r\n", start);
      const end = next < 0 ? head.length : next;
      const colon = lower.indexOf(":", start);
      if (colon <= start || colon > end) throw new Error(`malformed header line in the answer: ${JSON.stringify(head.slice(start, Math.min(end, start + 60)))}`);
      const first = lower.charCodeAt(start);
      // c(ontent-length, onnection) and t(ransfer-encoding)
      if (first === 99 || first === 116) {
        const name = lower.slice(start, colon).trim();
        const value = lower.slice(colon + 1, end).trim();
        if (name === "content-length") {
          if (!/^\d{1,15}$/.test(value) || (length !== null && length !== Number(value))) throw new Error(`invalid Content-Length in the answer: ${JSON.stringify(value)}`);
          length = Number(value);
        } else if (name === "transfer-encoding") chunked = value.split(",").pop()!.trim() === "chunked";
        else if (name === "connection") {
          const tokens = value.split(",").map((t) => t.trim());
          if (tokens.includes("close")) close = true;
          else if (tokens.includes("keep-alive")) close = false;
        }
      }
      start = end + 2;
    }
    // An interim answer (100 Continue, 103 Early Hints): the real one follows.
    if (status >= 100 && status < 200) {
      if (status === 101) throw new Error("the server switched protocols, which was not asked for");
      return;
    }
    this.status = status;
    this.body = [];
    if (close) this.reusable = false;
    if (this.exchange!.method === "HEAD" || status === 204 || status === 304) return this.complete();
    if (chunked) this.framing = "chunk-size";
    else if (length !== null) {
      this.remaining = length;
      this.framing = "length";
      if (length === 0) this.complete();
    } else {
      this.framing = "until-close";
      this.reusable = false;
    }
  }

  /** The answer is whole: hand it over and free (or close) the connection. */
  private complete(): void {
    const exchange = this.exchange!;
    const text = this.body.length === 0 ? "" : this.body.length === 1 ? this.body[0]!.toString("utf8") : Buffer.concat(this.body).toString("utf8");
    this.exchange = null;
    this.body = [];
    this.served++;
    // Bytes after the answer were not asked for (no pipelining): the connection is not trusted.
    if (this.pending) this.reusable = false;
    if (this.reusable) this.pool.released(this);
    else this.fail(null);
    exchange.resolve({ status: this.status, text });
  }

  /** The server ended the connection: the end of a close-delimited answer, or a failure. */
  private ended(): void {
    if (this.exchange && this.framing === "until-close") return this.complete();
    this.fail(this.exchange ? Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) : null, true);
  }

  /**
   * Closes the connection; the exchange in flight (if any) fails with `error`, or is resent when
   * the connection was `reset` by the server (see the header).
   */
  private fail(error: Error | null, reset = false): void {
    const exchange = this.exchange;
    this.exchange = null;
    if (!this.gone) {
      this.gone = true;
      this.socket.destroy();
      this.pool.closed(this);
    }
    if (!exchange) return;
    // The server closed this kept-alive connection before it saw the request (its idle timeout
    // raced our reuse): not a failure of the server; try once on a fresh connection.
    if (reset && this.served > 0 && !this.answered && !exchange.resent) {
      exchange.resent = true;
      return this.pool.dispatch(exchange);
    }
    exchange.reject(error ?? new Error("connection closed"));
  }
}
