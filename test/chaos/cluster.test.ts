/**
 * The cluster chaos suite (cluster-chaos.ts): two server replicas on a private PostgreSQL, three
 * workers on network-namespace hosts, runs and a schedule under SIGKILLs, a database restart and
 * a cut link; every count of what went wrong must be 0.
 *
 * In `npm test`: 30 runs and one fault of each kind (about two minutes). `npm run chaos`
 * (BATON_CHAOS=full): 200 runs and faults in turn for as long as runs are being made.
 * docs/reliability.md records the figures.
 */
import { describe, expect, it } from "vitest";
import { netnsUnavailable } from "../support/netns.ts";
import { privateClusterUnavailable } from "../support/pg-cluster.ts";
import { FAULT_KINDS, formatReport, runClusterChaos } from "./cluster-chaos.ts";

const full = process.env.BATON_CHAOS === "full";
const unavailable = netnsUnavailable() ?? privateClusterUnavailable();

describe.skipIf(unavailable !== null)(`the cluster under faults${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  it(
    full ? "200 runs through SIGKILLed workers, run processes and replicas, PostgreSQL restarts and cut links lose nothing" : "30 runs through one fault of each kind lose nothing",
    async () => {
      const report = await runClusterChaos({
        runs: full ? 200 : 30,
        faults: full ? 3 * FAULT_KINDS.length : FAULT_KINDS.length,
        faultGapMs: full ? 8000 : 4000,
        // 200 run processes on two cores take about ten minutes.
        settleMs: full ? 1_200_000 : 300_000,
        log: (line) => process.stderr.write(`chaos: ${line}\n`),
      });
      const table = formatReport(report);
      process.stdout.write(`\n${table}\n`);
      expect(Object.values(report.faults).every((n) => n >= 1), table).toBe(true);
      // The counts below are of something: every task logged its start, the schedule fired.
      expect(report.taskStarts, table).toBeGreaterThanOrEqual(report.taskRuns);
      expect(report.taskRuns, table).toBeGreaterThanOrEqual(report.runs * 6);
      expect(report.scheduleSlots, table).toBeGreaterThanOrEqual(3);
      expect(report.counts, `${table}\n${report.problems.join("\n")}`).toEqual({
        runsLost: 0,
        runsNotCompleted: 0,
        finishedTasksRanAgain: 0,
        slotsStillHeld: 0,
        runsStuck: 0,
        scheduleSlotsFiredTwice: 0,
        scheduleSlotsSkipped: 0,
      });
      // Killing the leader moves the scheduler to the other replica within 5 s.
      expect(Math.max(...report.failoverMs), table).toBeLessThan(5000);
    },
    full ? 2_400_000 : 600_000,
  );
});
