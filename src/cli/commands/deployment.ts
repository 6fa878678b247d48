/** `baton deploy` (from baton.yaml) and `baton deployment ls|inspect|run|pause|resume|delete`. */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { BatonError } from "../../core/errors.ts";
import { compileJobVariables, ENV_NAME, type JobVariables } from "../../core/job-variables.ts";
import { describeSchedule, nextSlots, type ScheduleSpec } from "../../core/schedule.ts";
import { relativeEntrypoint } from "../../core/entrypoint.ts";
import { ApiRequestError } from "../../client/api-client.ts";
import { checkParameters } from "../../services/parameters.ts";
import { createDeploymentRun } from "../../services/deployment-runs.ts";
import { findSchedule } from "../../services/deployment-schedules.ts";
import type { Deployment, DeploymentInput } from "../../store/types.ts";
import { parameterJsonSchema, schedulesFrom } from "../../sdk/serve.ts";
import { openOrchestration, valuesFor, withOpened } from "../cli-store.ts";
import { checkConfigRefs, deploymentRefChecks, InvalidReferenceError } from "../../services/config-refs.ts";
import { printJson, stateLabel, table, time } from "../format.ts";
import { loadFlow, parseParams } from "../load-flow.ts";
import { parseDuration, parseInstant } from "../option-values.ts";
import { limited } from "../list-options.ts";
import { registerDeploymentSchedule } from "./deployment-schedule.ts";

const ScheduleEntry = z
  .object({
    cron: z.string().optional(),
    interval: z.number().int().positive().optional(),
    // YAML reads an unquoted ISO timestamp as a Date.
    anchor: z.union([z.number(), z.string(), z.date()]).optional(),
    rrule: z.string().optional(),
    timezone: z.string().optional(),
  })
  .strict()
  .refine((s) => [s.cron, s.interval, s.rrule].filter((v) => v !== undefined).length === 1, "give exactly one of cron, interval (ms) or rrule")
  .refine((s) => s.anchor === undefined || s.interval !== undefined, { message: "anchor applies to an interval schedule", path: ["anchor"] });

const DeploymentEntry = z
  .object({
    name: z.string().min(1),
    entrypoint: z.string().regex(/^[^:]+:[^:]+$/, "must be path/to/file.ts:flowName"),
    description: z.string().optional(),
    version: z.string().optional(),
    tags: z.array(z.string()).optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    schedules: z.array(ScheduleEntry).optional(),
    work_pool: z.string().min(1),
    work_queue: z.string().optional(),
    concurrency_limit: z.number().int().positive().optional(),
    collision_strategy: z.enum(["enqueue", "cancel-new"]).optional(),
    retries: z.number().int().min(0).optional(),
    retry_delay_ms: z.number().int().min(0).optional(),
    paused: z.boolean().optional(),
    job_variables: z
      .object({ env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(), cwd: z.string().min(1).optional() })
      .strict()
      .superRefine((v, ctx) => {
        for (const name of Object.keys(v.env ?? {}))
          if (!ENV_NAME.test(name)) ctx.addIssue({ code: "custom", path: ["env", name], message: "is not a valid environment variable name" });
      })
      .optional(),
  })
  .strict();

const BatonYaml = z.object({ deployments: z.array(DeploymentEntry).min(1) }).strict();

/** A work pool as job variables are checked against it: which runtime variables it allows. */
type PoolAllowance = { name: string; allowEnv: readonly string[] };

/**
 * Reads baton.yaml into deployment inputs; errors name the file, the entry and the field.
 * `poolOf` gives each deployment's work pool, whose allowEnv its job variables are checked
 * against (a pool not given allows nothing).
 */
export async function readBatonYaml(file: string, poolOf: (name: string) => PoolAllowance | undefined = () => undefined): Promise<DeploymentInput[]> {
  if (!fs.existsSync(file)) throw new BatonError(`${file} does not exist; write one with a "deployments:" list (see the README)`);
  let raw: unknown;
  try {
    raw = parseYaml(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new BatonError(`${file} is not valid YAML: ${(error as Error).message}`);
  }
  const parsed = BatonYaml.safeParse(raw);
  if (!parsed.success)
    throw new BatonError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ")}`);
  const inputs: DeploymentInput[] = [];
  for (const [i, d] of parsed.data.deployments.entries()) {
    const [relative, flowName] = d.entrypoint.split(":") as [string, string];
    const modulePath = path.resolve(path.dirname(file), relative);
    const target = await loadFlow(modulePath, flowName);
    const schedules = (d.schedules ?? []).flatMap((s, j) => {
      try {
        return schedulesFrom({ cron: s.cron, interval: s.interval, anchor: s.anchor, rrule: s.rrule, timezone: s.timezone });
      } catch (error) {
        throw new BatonError(`${file}: deployments.${i}.schedules.${j}: ${(error as Error).message}`);
      }
    });
    const parameterSchema = parameterJsonSchema(target.options.params);
    try {
      checkParameters(parameterSchema, d.parameters ?? {});
    } catch (error) {
      throw new BatonError(`${file}: deployment "${d.name}": ${(error as Error).message}`);
    }
    let jobVariables: JobVariables;
    try {
      jobVariables = compileJobVariables(d.job_variables, `deployments.${i}.job_variables`, poolOf(d.work_pool) ?? { name: d.work_pool, allowEnv: [] });
    } catch (error) {
      throw new BatonError(`${file}: ${(error as Error).message}`);
    }
    inputs.push({
      name: d.name,
      flowName: target.flowName,
      // Relative to the project root (baton.yaml's directory): workers resolve it against theirs.
      entrypoint: relativeEntrypoint(modulePath, flowName, path.dirname(file)),
      description: d.description ?? target.options.description,
      version: d.version ?? target.options.version,
      tags: d.tags,
      parameters: d.parameters,
      parameterSchema,
      workPool: d.work_pool,
      workQueue: d.work_queue,
      concurrencyLimit: d.concurrency_limit,
      collisionStrategy: d.collision_strategy,
      retries: d.retries,
      retryDelayMs: d.retry_delay_ms,
      paused: d.paused,
      jobVariables,
      schedules,
    });
  }
  return inputs;
}

/**
 * `NAME=value` pairs of `--env` flags, their form checked. Whether a run may set them is its
 * work pool's to say: `parseEnvPairs`, or the run's use case (services/deployment-runs.ts).
 */
export function envFlags(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new BatonError(`--env expects NAME=value, got "${pair}"`);
    const name = pair.slice(0, eq);
    if (!ENV_NAME.test(name)) throw new BatonError(`--env: "${name}" is not a valid environment variable name`);
    env[name] = pair.slice(eq + 1);
  }
  return env;
}

/** `NAME=value` pairs of `--env` flags, validated as job variables of a run of `pool` (null: none). */
export function parseEnvPairs(pairs: readonly string[], pool: PoolAllowance | null): Record<string, string> {
  try {
    return compileJobVariables({ env: envFlags(pairs) }, "--env", pool).env ?? {};
  } catch (error) {
    throw new BatonError((error as Error).message);
  }
}

export function describeJobVariables(v: JobVariables): string {
  const parts = [];
  if (v.env && Object.keys(v.env).length) parts.push(`env ${Object.keys(v.env).join(", ")}`);
  if (v.cwd) parts.push(`cwd ${v.cwd}`);
  return parts.join("; ") || "-";
}

function describe(d: Deployment): string {
  return d.schedules.map((s) => `${describeSchedule(s.spec as unknown as ScheduleSpec)}${s.active ? "" : " (inactive)"}`).join("; ") || "no schedule";
}

export function registerDeployment(program: Command): void {
  program
    .command("deploy")
    .description("create or update the deployments of baton.yaml")
    .option("--file <path>", "the deployment file", "baton.yaml")
    .option("--name <name>", "only this deployment")
    .action(async (opts: { file: string; name?: string }) => {
      const { store, orchestration, close } = await openOrchestration();
      try {
        // The pools first: each deployment's job variables are checked against its pool's allowEnv.
        const pools = new Map((await orchestration.listWorkPools()).map((p) => [p.name, p]));
        const inputs = (await readBatonYaml(path.resolve(opts.file), (pool) => pools.get(pool))).filter((d) => !opts.name || d.name === opts.name);
        if (opts.name && inputs.length === 0) throw new BatonError(`no deployment "${opts.name}" in ${opts.file}`);
        // Every reference to a variable or secret exists before any deployment is stored.
        const { refs } = valuesFor(store);
        try {
          for (const [i, input] of inputs.entries())
            await checkConfigRefs(refs, deploymentRefChecks(input, { parameters: `deployments.${i}.parameters`, jobVariables: `deployments.${i}.job_variables` }));
        } catch (error) {
          if (error instanceof InvalidReferenceError) throw new BatonError(`${opts.file}: ${error.message}`);
          throw error;
        }
        for (const input of inputs) {
          if (input.workPool && !pools.has(input.workPool))
            throw new BatonError(`deployment "${input.name}": work pool "${input.workPool}" does not exist; create it with: baton work-pool create ${input.workPool}`);
          const d = await orchestration.upsertDeployment(input);
          console.log(`Deployed "${d.name}" (${d.flowName}) to pool "${d.workPool}": ${describe(d)}`);
        }
      } finally {
        await close();
      }
    });

  const cmd = program.command("deployment").description("deployments: flows turned into production jobs");
  cmd
    .command("ls")
    .description("list deployments")
    .option("--tag <tag>", "only deployments with this tag")
    .option("--pool <pool>", "only deployments of this work pool")
    .option("--json", "print JSON")
    .option("--limit <n>", "how many to show (1 to 10000)", "100")
    .action(async (opts: { json?: boolean; tag?: string; pool?: string; limit: string }) => {
      await withOpened(openOrchestration, async ({ orchestration }) => {
        const all = (await orchestration.listDeployments()).filter((d) => (opts.tag === undefined || d.tags.includes(opts.tag)) && (opts.pool === undefined || d.workPool === opts.pool));
        const { items: shown, note } = limited(all, opts.limit);
        if (opts.json) return printJson(shown);
        if (!shown.length) return console.log(opts.tag || opts.pool ? "No deployments match." : "No deployments yet. Create them with baton deploy (baton.yaml) or flow.serve().");
        console.log(table(["name", "flow", "pool/queue", "status", "schedules"], shown.map((d) => [d.name, d.flowName, `${d.workPool ?? "-"}/${d.workQueue}`, d.paused ? "paused" : "active", describe(d)])));
        note("deployments");
      });
    });
  cmd
    .command("inspect <name>")
    .option("--json", "print JSON")
    .description("a deployment and its next runs")
    .action(async (name: string, opts: { json?: boolean }) => {
      const { store, orchestration, close } = await openOrchestration();
      try {
        const d = await orchestration.getDeployment(name);
        if (!d) throw new BatonError(`deployment "${name}" does not exist`);
        const upcoming = d.schedules.flatMap((s) => (s.active ? nextSlots(s.spec as unknown as ScheduleSpec, Date.now(), { until: Date.now() + 30 * 86_400_000, limit: 5 }) : [])).sort((a, b) => a - b).slice(0, 5);
        const runs = await store.listFlowRuns({ deploymentId: d.id, limit: 10 });
        if (opts.json) return printJson({ ...d, nextRuns: upcoming, recentRuns: runs });
        console.log(`Deployment ${d.name} (${d.id})`);
        console.log(`  flow         ${d.flowName}  [${d.entrypoint}]`);
        console.log(`  pool/queue   ${d.workPool ?? "-"}/${d.workQueue}   ${d.paused ? "paused" : "active"}   retries ${d.retries}`);
        console.log(`  limit        ${d.concurrencyLimit ?? "none"} (${d.collisionStrategy})`);
        console.log(`  parameters   ${JSON.stringify(d.parameters)}`);
        console.log(`  job vars     ${describeJobVariables(d.jobVariables)}`);
        console.log(`  schedules    ${describe(d)}`);
        console.log(`  next runs    ${upcoming.map((t) => time(t)).join(", ") || "-"}`);
        if (runs.length) console.log(table(["run", "state", "created"], runs.map((r) => [`${r.name} (${r.id})`, stateLabel(r.state), time(r.createdAt)])));
      } finally {
        await close();
      }
    });
  cmd
    .command("run <name>")
    .description("create a run of a deployment now (a worker of its pool picks it up)")
    .option("--param <key=value>", "a parameter (repeatable)", (v: string, p: string[]) => [...p, v], [] as string[])
    .option("--params-json <json>", "all parameters as one JSON object")
    .option("--env <NAME=value>", "an environment variable of this run's process (repeatable)", (v: string, p: string[]) => [...p, v], [] as string[])
    .option("--start-in <duration>", "due in this long instead of now: 90s, 10m, 1h30m, 2d")
    .option("--start-at <time>", "due at this ISO date-time instead of now: 2026-12-24T08:00Z")
    .option("--watch", "follow the run until it ends (live bars per task on a terminal)")
    .option("--no-progress", "with --watch: one line per state change instead of the live bars")
    .action(async (name: string, opts: { param: string[]; paramsJson?: string; env: string[]; startIn?: string; startAt?: string; watch?: boolean; progress: boolean }) => {
      const params = parseParams(opts.param, opts.paramsJson);
      if (opts.startIn !== undefined && opts.startAt !== undefined) throw new BatonError("give --start-in or --start-at, not both");
      const scheduledAt = opts.startIn !== undefined ? Date.now() + parseDuration(opts.startIn, "--start-in") : opts.startAt !== undefined ? parseInstant(opts.startAt, "--start-at") : undefined;
      const { store, orchestration, close } = await openOrchestration();
      let runId: string;
      try {
        const jobVariables = opts.env.length ? { env: envFlags(opts.env) } : null;
        const { deployment, run } = await createDeploymentRun({ runs: store, deployments: orchestration, refs: valuesFor(store).refs }, name, { parameters: params, jobVariables, scheduledAt, message: "created from the CLI" }, { parametersField: "--param", jobVariablesField: "--env" });
        runId = run.id;
        const due = run.state.scheduledAt != null && run.state.scheduledAt > Date.now() + 1000 ? `, due ${time(run.state.scheduledAt)} UTC` : "";
        console.log(`Created flow run ${run.name} (${run.id}) of deployment "${deployment.name}"${due}`);
      } catch (error) {
        if (error instanceof ApiRequestError) throw new BatonError(error.message);
        throw error;
      } finally {
        await close();
      }
      // Imported here: workers load this module (for parseEnvPairs) and need none of it.
      if (opts.watch) await (await import("./flow-run.ts")).watchFlowRun(runId, { progress: opts.progress });
    });
  for (const [action, paused] of [["pause", true], ["resume", false]] as const)
    cmd
      .command(`${action} <name>`)
      .description(`${action} a deployment (or, with --schedule, one of its schedules)`)
      .option("--schedule <schedule>", "only this schedule: its position, id or id prefix (see baton deployment schedule ls)")
      .action(async (name: string, opts: { schedule?: string }) => {
        const { orchestration, close } = await openOrchestration();
        try {
          if (opts.schedule) {
            const d = await orchestration.getDeployment(name);
            if (!d) throw new BatonError(`deployment "${name}" does not exist`);
            const { schedule } = findSchedule(d, opts.schedule);
            if (!(await orchestration.setScheduleActive(name, schedule.id, !paused))) throw new BatonError(`deployment "${name}" has no schedule ${opts.schedule}`);
            console.log(`Schedule ${schedule.id} of "${name}" ${paused ? "paused" : "resumed"}`);
          } else {
            if (!(await orchestration.setDeploymentPaused(name, paused))) throw new BatonError(`deployment "${name}" does not exist`);
            console.log(`Deployment "${name}" ${paused ? "paused" : "resumed"}`);
          }
        } finally {
          await close();
        }
      });
  registerDeploymentSchedule(cmd);
  cmd
    .command("delete <name>")
    .description("delete a deployment and its future scheduled runs")
    .action(async (name: string) => {
      const { orchestration, close } = await openOrchestration();
      try {
        if (!(await orchestration.deleteDeployment(name))) throw new BatonError(`deployment "${name}" does not exist`);
        console.log(`Deleted deployment "${name}"`);
      } finally {
        await close();
      }
    });
}
