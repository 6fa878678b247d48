import { useEffect, useState } from "react";
import { useLocation, navigate } from "./router.ts";
import { RunsPage } from "./RunsPage.tsx";
import { RunPage } from "./RunPage.tsx";
import { DeploymentsPage } from "./DeploymentsPage.tsx";
import { OperationsPage } from "./OperationsPage.tsx";
import { DashboardPage } from "./DashboardPage.tsx";
import { TaskRunPage } from "./TaskRunPage.tsx";

export function App() {
  const url = useLocation();
  const [theme, setTheme] = useState(() => localStorage.getItem("baton-theme") ?? "light");
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("baton-theme", theme);
  }, [theme]);
  const runMatch = /^\/runs\/([^/]+)$/.exec(url.pathname);
  const taskMatch = /^\/task-runs\/([^/]+)$/.exec(url.pathname);
  const page = runMatch || taskMatch ? "/" : url.pathname;
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
          {[
            ["/dashboard", "Dashboard"],
            ["/", "Flow runs"],
            ["/deployments", "Deployments"],
            ["/work-pools", "Work pools & limits"],
          ].map(([href, label]) => (
            <a key={href} href={href} onClick={(e) => (e.preventDefault(), navigate(href!))} className={page === href ? "active" : ""}>
              {label}
            </a>
          ))}
        </nav>
        <button className="theme" onClick={() => setTheme(theme === "dark" ? "light" : "dark")} aria-label="toggle theme">
          {theme === "dark" ? "☀ Light" : "☾ Dark"}
        </button>
      </header>
      <main>
        {taskMatch ? (
          <TaskRunPage id={decodeURIComponent(taskMatch[1]!)} />
        ) : runMatch ? (
          <RunPage id={decodeURIComponent(runMatch[1]!)} />
        ) : page === "/deployments" ? (
          <DeploymentsPage />
        ) : page === "/work-pools" ? (
          <OperationsPage />
        ) : page === "/dashboard" ? (
          <DashboardPage />
        ) : (
          <RunsPage url={url} />
        )}
      </main>
    </div>
  );
}
