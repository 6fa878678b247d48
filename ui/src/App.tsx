import { lazy, Suspense, useEffect, useState } from "react";
import { useData } from "./api.ts";
import { Link, useLocation } from "./router.ts";
import { NotFoundPage } from "./NotFoundPage.tsx";
import { RunPage } from "./RunPage.tsx";
import { RunsPage } from "./RunsPage.tsx";
import { onUnauthorized, signOut, type SessionInfo } from "./session.ts";
import { SignInPage } from "./SignInPage.tsx";
import { usePublishPermissions } from "./can.ts";

// The runs list and a run's page are where people land (and what the 10,000-task benchmark
// opens): they are in the main script. The other pages load on first visit.
const DashboardPage = lazy(() => import("./DashboardPage.tsx").then((m) => ({ default: m.DashboardPage })));
const DeploymentsPage = lazy(() => import("./DeploymentsPage.tsx").then((m) => ({ default: m.DeploymentsPage })));
const OperationsPage = lazy(() => import("./OperationsPage.tsx").then((m) => ({ default: m.OperationsPage })));
const EventsPage = lazy(() => import("./EventsPage.tsx").then((m) => ({ default: m.EventsPage })));
const AutomationsPage = lazy(() => import("./AutomationsPage.tsx").then((m) => ({ default: m.AutomationsPage })));
const AutomationPage = lazy(() => import("./AutomationPage.tsx").then((m) => ({ default: m.AutomationPage })));
const VariablesPage = lazy(() => import("./VariablesPage.tsx").then((m) => ({ default: m.VariablesPage })));
const SecretsPage = lazy(() => import("./SecretsPage.tsx").then((m) => ({ default: m.SecretsPage })));
const ArtifactsPage = lazy(() => import("./ArtifactsPage.tsx").then((m) => ({ default: m.ArtifactsPage })));
const ModelsPage = lazy(() => import("./ModelsPage.tsx").then((m) => ({ default: m.ModelsPage })));
const ModelPage = lazy(() => import("./ModelsPage.tsx").then((m) => ({ default: m.ModelPage })));
const AssetsPage = lazy(() => import("./AssetsPage.tsx").then((m) => ({ default: m.AssetsPage })));
const FlowsPage = lazy(() => import("./FlowsPage.tsx").then((m) => ({ default: m.FlowsPage })));
const FlowPage = lazy(() => import("./FlowPage.tsx").then((m) => ({ default: m.FlowPage })));
const DeploymentPage = lazy(() => import("./DeploymentPage.tsx").then((m) => ({ default: m.DeploymentPage })));
const WorkerPage = lazy(() => import("./WorkerPage.tsx").then((m) => ({ default: m.WorkerPage })));
const AuditPage = lazy(() => import("./AuditPage.tsx").then((m) => ({ default: m.AuditPage })));
const ExperimentsPage = lazy(() => import("./ExperimentsPage.tsx").then((m) => ({ default: m.ExperimentsPage })));
const ExperimentPage = lazy(() => import("./ExperimentPage.tsx").then((m) => ({ default: m.ExperimentPage })));
const UsagePage = lazy(() => import("./UsagePage.tsx").then((m) => ({ default: m.UsagePage })));
const TaskRunPage = lazy(() => import("./TaskRunPage.tsx").then((m) => ({ default: m.TaskRunPage })));

const NAV = [
  ["/dashboard", "Dashboard"],
  ["/", "Flow runs"],
  ["/flows", "Flows"],
  ["/deployments", "Deployments"],
  ["/work-pools", "Work pools & limits"],
  ["/events", "Events"],
  ["/automations", "Automations"],
  ["/variables", "Variables"],
  ["/secrets", "Secrets"],
  ["/artifacts", "Artifacts"],
  ["/assets", "Assets"],
  ["/experiments", "Experiments"],
  ["/models", "Models"],
  ["/usage", "Usage"],
  ["/audit", "Audit"],
] as const;

export function App() {
  const url = useLocation();
  const [theme, setTheme] = useState(() => localStorage.getItem("baton-theme") ?? "light");
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("baton-theme", theme);
  }, [theme]);
  // Any 401 shows the sign-in page instead of the page (which unmounts, closing its event
  // streams); signing in mounts the page of the same URL afresh, with the session's cookie.
  const [signedOut, setSignedOut] = useState(false);
  const [signIns, setSignIns] = useState(0);
  useEffect(() => onUnauthorized(() => setSignedOut(true)), []);
  const session = useData<SessionInfo>(signedOut ? null : "/session", signIns).data;
  usePublishPermissions(signedOut ? null : session);
  const runMatch = /^\/runs\/([^/]+)$/.exec(url.pathname);
  const taskMatch = /^\/task-runs\/([^/]+)$/.exec(url.pathname);
  const automationMatch = /^\/automations\/([^/]+)$/.exec(url.pathname);
  const flowMatch = /^\/flows\/([^/]+)$/.exec(url.pathname);
  const deploymentMatch = /^\/deployments\/([^/]+)$/.exec(url.pathname);
  const workerMatch = /^\/workers\/([^/]+)$/.exec(url.pathname);
  const modelMatch = /^\/models\/([^/]+)$/.exec(url.pathname);
  const experimentMatch = /^\/experiments\/([^/]+)$/.exec(url.pathname);
  const page =
    runMatch || taskMatch ? "/" : automationMatch ? "/automations" : flowMatch ? "/flows" : deploymentMatch ? "/deployments" : workerMatch ? "/work-pools" : experimentMatch ? "/experiments" : modelMatch ? "/models" : url.pathname;
  // Each page is keyed by its path: opening another run (a sub-flow link, a task run's
  // upstream) mounts a fresh page, with none of the previous one's state.
  const key = `${signIns}:${url.pathname}`;
  return (
    <div className="app">
      <header className="topbar">
        <Link className="brand" to="/">
          Baton
        </Link>
        <nav>
          {NAV.filter(([href]) => href !== "/audit" || session?.permissions?.includes("audit:inspect")).map(([href, label]) => (
            <Link key={href} to={href} className={page === href ? "active" : ""}>
              {label}
            </Link>
          ))}
        </nav>
        <button className="theme" onClick={() => setTheme(theme === "dark" ? "light" : "dark")} aria-label="toggle theme" data-testid="theme-toggle">
          {theme === "dark" ? "☀ Light" : "☾ Dark"}
        </button>
        {session?.keysRequired && !signedOut && (
          <span className="session">
            <span className="muted" data-testid="session-role" title={session.name}>
              {session.role}
            </span>
            <button onClick={() => void signOut()} data-testid="sign-out">
              Sign out
            </button>
          </span>
        )}
      </header>
      <main>
        <Suspense fallback={<p>Loading…</p>}>
          {signedOut ? (
            <SignInPage
              onSignedIn={() => {
                setSignedOut(false);
                setSignIns((n) => n + 1);
              }}
            />
          ) : taskMatch ? (
            <TaskRunPage key={key} id={decodeURIComponent(taskMatch[1]!)} url={url} />
          ) : runMatch ? (
            <RunPage key={key} id={decodeURIComponent(runMatch[1]!)} url={url} />
          ) : automationMatch ? (
            <AutomationPage key={key} name={decodeURIComponent(automationMatch[1]!)} />
          ) : flowMatch ? (
            <FlowPage key={key} name={decodeURIComponent(flowMatch[1]!)} url={url} />
          ) : deploymentMatch ? (
            <DeploymentPage key={key} name={decodeURIComponent(deploymentMatch[1]!)} url={url} />
          ) : experimentMatch ? (
            <ExperimentPage key={key} name={decodeURIComponent(experimentMatch[1]!)} url={url} />
          ) : workerMatch ? (
            <WorkerPage key={key} id={decodeURIComponent(workerMatch[1]!)} />
          ) : modelMatch ? (
            <ModelPage key={key} name={decodeURIComponent(modelMatch[1]!)} />
          ) : page === "/models" ? (
            <ModelsPage key={key} />
          ) : page === "/flows" ? (
            <FlowsPage key={key} url={url} />
          ) : page === "/usage" ? (
            <UsagePage key={key} url={url} />
          ) : page === "/audit" ? (
            <AuditPage key={key} url={url} />
          ) : page === "/artifacts" ? (
            <ArtifactsPage key={key} url={url} />
          ) : page === "/assets" ? (
            <AssetsPage key={key} url={url} />
          ) : page === "/experiments" ? (
            <ExperimentsPage key={key} />
          ) : page === "/automations" ? (
            <AutomationsPage key={key} url={url} />
          ) : page === "/deployments" ? (
            <DeploymentsPage key={key} url={url} />
          ) : page === "/work-pools" ? (
            <OperationsPage key={key} />
          ) : page === "/events" ? (
            <EventsPage key={key} url={url} />
          ) : page === "/variables" ? (
            <VariablesPage key={key} />
          ) : page === "/secrets" ? (
            <SecretsPage key={key} />
          ) : page === "/dashboard" ? (
            <DashboardPage key={key} url={url} />
          ) : page === "/" ? (
            <RunsPage key={key} url={url} />
          ) : (
            <NotFoundPage url={url} />
          )}
        </Suspense>
      </main>
    </div>
  );
}
