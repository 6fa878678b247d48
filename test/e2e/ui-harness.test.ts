/** The browser tests' harness leaves nothing behind when it cannot start: no server process, no temp directory. */
import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { startedCount, startedSince } from "../support/processes.ts";
import { startHarness } from "./ui-harness.ts";

describe("the dashboard tests' harness", () => {
  const chromium = process.env.BATON_CHROMIUM;
  afterEach(() => {
    if (chromium === undefined) delete process.env.BATON_CHROMIUM;
    else process.env.BATON_CHROMIUM = chromium;
  });

  it("stops the server it started and removes its directory when Chromium cannot be launched", async () => {
    const mark = startedCount();
    process.env.BATON_CHROMIUM = "/nonexistent/chromium";
    await expect(startHarness()).rejects.toThrow(/\/nonexistent\/chromium/);
    const servers = startedSince(mark);
    // The server did start (the failure came after it), and is gone.
    expect(servers).toHaveLength(1);
    const [{ proc, running }] = servers as [(typeof servers)[0]];
    const home = /database (\S+)\/baton\.db\)/.exec(proc.stdout())?.[1];
    expect(home, proc.stdout()).toMatch(/baton-ui-/);
    expect(running).toBe(false);
    expect(() => process.kill(proc.child.pid!, 0)).toThrow(/ESRCH/);
    expect(fs.existsSync(home!)).toBe(false);
  });
});
