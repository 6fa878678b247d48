/**
 * Connection URLs without their credentials, for messages, logs, `baton config view` and the
 * unauthenticated /api/health. A PostgreSQL URL carries secrets in more places than
 * `user:password@`: libpq and pg read `?password=`, `?sslpassword=` (the client key's
 * passphrase), `?sslkey=` and `?passfile=` from the query too. The URL is parsed as pg parses it
 * (the WHATWG parser, which splits userinfo at the last `@`, so a password holding `@` is found
 * whole) instead of matched by a pattern that one unusual character defeats.
 */

/** Query parameters whose values are secrets or point at one (password, sslpassword, sslkey, passfile, and any later *token / *secret). */
const SECRET_PARAMETER = /pass|secret|token|key/i;

const MASK = "***";

/** pg's stand-in for an empty host (`postgres://user:pw@/db?host=/socket`), which the WHATWG parser refuses. */
const DUMMY_HOST = "baton-redact-empty-host";

function parse(url: string): { url: URL; emptyHost: boolean } | null {
  try {
    return { url: new URL(url), emptyHost: false };
  } catch {
    try {
      return { url: new URL(url.replace("@/", `@${DUMMY_HOST}/`)), emptyHost: true };
    } catch {
      return null;
    }
  }
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/**
 * `url` with the password of its userinfo and the value of every secret query parameter
 * replaced by `***`; unchanged when it holds none. A URL that cannot be parsed shows only its
 * scheme: where its credentials are cannot be told, so none of it is shown.
 *
 * @example
 * redactUrl("postgres://baton:s3cret@db:5432/baton?sslpassword=k") // "postgres://baton:***@db:5432/baton?sslpassword=***"
 */
export function redactUrl(url: string): string {
  const parsed = parse(url);
  if (!parsed) return `${/^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? ""}(a URL that cannot be parsed, hidden: it may hold a password)`;
  const target = parsed.url;
  let changed = false;
  if (target.password) {
    target.password = MASK;
    changed = true;
  }
  if (target.search) {
    // Rebuilt by hand: URLSearchParams would re-encode every other parameter ("/" → "%2F").
    const parts = target.search.slice(1).split("&").map((part) => {
      const eq = part.indexOf("=");
      const name = eq < 0 ? part : part.slice(0, eq);
      if (!SECRET_PARAMETER.test(decoded(name))) return part;
      changed = true;
      return `${name}=${MASK}`;
    });
    target.search = parts.join("&");
  }
  if (!changed) return url;
  const text = target.toString();
  return parsed.emptyHost ? text.replace(`@${DUMMY_HOST}/`, "@/") : text;
}
