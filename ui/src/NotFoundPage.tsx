/** What an address the dashboard has no page for shows (a mistyped or outdated link), instead of another page. */
import { Link } from "./router.ts";

export function NotFoundPage({ url }: { url: URL }) {
  return (
    <section className="empty" data-testid="not-found">
      <h1>Page not found</h1>
      <p className="muted">
        The dashboard has no page at <code>{url.pathname}</code>.
      </p>
      <p>
        <Link to="/">Flow runs</Link> · <Link to="/dashboard">Dashboard</Link>
      </p>
    </section>
  );
}
