import { useEffect, useState } from "react";
import { useLocation, navigate } from "./router.ts";
import { RunsPage } from "./RunsPage.tsx";
import { RunPage } from "./RunPage.tsx";

export function App() {
  const url = useLocation();
  const [theme, setTheme] = useState(() => localStorage.getItem("baton-theme") ?? "light");
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("baton-theme", theme);
  }, [theme]);
  const runMatch = /^\/runs\/([^/]+)$/.exec(url.pathname);
  return (
    <div className="app">
      <header className="topbar">
        <a
          className="brand"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            navigate("/");
          }}
        >
          Baton
        </a>
        <nav>
          <a href="/" onClick={(e) => (e.preventDefault(), navigate("/"))} className={runMatch ? "" : "active"}>
            Flow runs
          </a>
        </nav>
        <button className="theme" onClick={() => setTheme(theme === "dark" ? "light" : "dark")} aria-label="toggle theme">
          {theme === "dark" ? "☀ Light" : "☾ Dark"}
        </button>
      </header>
      <main>{runMatch ? <RunPage id={decodeURIComponent(runMatch[1]!)} /> : <RunsPage url={url} />}</main>
    </div>
  );
}
