/**
 * Saved filters of the runs list: a name for a set of filters, kept in this browser as the
 * list's URL (so a saved filter is also a link to share). The filters themselves live in the
 * URL; this only remembers some of them under names.
 */
import { useState } from "react";
import { Link } from "./router.ts";

const KEY = "baton-saved-run-filters";

interface Saved {
  name: string;
  /** The list's query string, without the page cursor. */
  search: string;
}

function load(): Saved[] {
  try {
    const parsed = JSON.parse(localStorage.getItem(KEY) ?? "[]") as unknown;
    return Array.isArray(parsed) ? parsed.filter((s): s is Saved => typeof s?.name === "string" && typeof s?.search === "string") : [];
  } catch {
    return [];
  }
}

/** The query string of a list URL without its page (a saved filter starts at the newest runs). */
function withoutPage(search: string): string {
  const params = new URLSearchParams(search);
  params.delete("cursor");
  params.delete("prev");
  return params.toString();
}

export function SavedFilters({ search, active }: { search: string; active: boolean }) {
  const [saved, setSaved] = useState<Saved[]>(load);
  const [naming, setNaming] = useState(false);
  const [name, setName] = useState("");
  const store = (next: Saved[]) => {
    setSaved(next);
    localStorage.setItem(KEY, JSON.stringify(next));
  };
  const current = withoutPage(search);
  const save = () => {
    const trimmed = name.trim();
    if (!trimmed) return;
    store([...saved.filter((s) => s.name !== trimmed), { name: trimmed, search: current }]);
    setNaming(false);
    setName("");
  };
  if (saved.length === 0 && !active) return null;
  return (
    <div className="toolbar saved-filters" data-testid="saved-filters">
      <span className="muted">Saved filters:</span>
      {saved.map((s) => (
        <span key={s.name} className={`chip${s.search === current ? " active" : ""}`} data-saved={s.name}>
          <Link to={`/${s.search ? `?${s.search}` : ""}`}>{s.name}</Link>
          <button onClick={() => store(saved.filter((x) => x.name !== s.name))} aria-label={`forget saved filter ${s.name}`}>
            ✕
          </button>
        </span>
      ))}
      {active &&
        (naming ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              save();
            }}
          >
            <input autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder="name" aria-label="saved filter name" maxLength={60} />{" "}
            <button type="submit" disabled={!name.trim()}>
              Save
            </button>{" "}
            <button type="button" onClick={() => setNaming(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <button onClick={() => setNaming(true)} data-testid="save-filter">
            Save these filters…
          </button>
        ))}
    </div>
  );
}
