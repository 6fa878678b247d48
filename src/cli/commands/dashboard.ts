/** `baton dashboard open`: prints the dashboard's address and opens it in a browser when this machine has one. */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { loadSettings } from "../../config/settings.ts";
import { dashboardUrl } from "../dashboard-url.ts";

/** Where `baton server start` listens by default. */
const LOCAL_SERVER = "http://127.0.0.1:4200";

/** The command that opens a URL on this platform, if it has one (on Linux: only with a display). */
function opener(): { command: string; args: string[] } | null {
  if (process.platform === "darwin") return { command: "open", args: [] };
  if (process.platform === "win32") return { command: "cmd", args: ["/c", "start", '""'] };
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return null;
  const found = (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, "xdg-open")));
  return found ? { command: "xdg-open", args: [] } : null;
}

/** Opens `url` in a browser, detached; false when there is none. Never throws: the printed address is enough. */
function openInBrowser(url: string): Promise<boolean> {
  const how = opener();
  if (!how) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      const child = spawn(how.command, [...how.args, url], { stdio: "ignore", detached: true });
      child.once("error", () => resolve(false));
      child.once("spawn", () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}

export function registerDashboard(program: Command): void {
  program
    .command("dashboard")
    .description("the dashboard in a browser")
    .command("open")
    .description("print the dashboard's address (BATON_PUBLIC_URL, or the server of BATON_API_URL) and open it in a browser if there is one")
    .option("--no-browser", "only print the address")
    .action(async (opts: { browser: boolean }) => {
      const known = dashboardUrl(loadSettings());
      const url = known ?? LOCAL_SERVER;
      console.log(url);
      if (!known) process.stderr.write(`No server configured (BATON_API_URL or BATON_PUBLIC_URL): assuming a local one; start it with: baton server start\n`);
      if (opts.browser && !(await openInBrowser(url))) process.stderr.write("No browser to open here: open the address above yourself\n");
    });
}
