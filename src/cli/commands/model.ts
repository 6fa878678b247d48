/**
 * `baton model ls|inspect|promote|rollback|serve`: the model registry (serve: model-serve.ts). On the database, a promotion's
 * declared thresholds are judged here and the move is audited with this user as its actor; in
 * remote mode the server judges them (POST /api/models/{name}/promote, an operator's or admin's
 * key) and audits the call.
 */
import os from "node:os";
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { aliasProblem, DEFAULT_ALIAS, modelNameProblem, type MetricGate, type ModelVersionInfo } from "../../core/models.ts";
import { RemoteModels } from "../../client/remote-models.ts";
import { RemoteStore } from "../../client/remote-store.ts";
import { KyselyModelStore, type ModelStore, type MoveContext } from "../../store/model-store.ts";
import { ModelNotFoundError, promoteModelVersion, rollbackModelAliasOf, type PromotionOutcome } from "../../services/models.ts";
import { PromotionOutcomeSchema, RollbackOutcomeSchema } from "../../schemas/model.ts";
import { withStore, type CliStore } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";
import { addModelServe } from "./model-serve.ts";

const modelsOf = (store: CliStore): ModelStore => (store instanceof RemoteStore ? new RemoteModels(store.api) : new KyselyModelStore(store));
const cliContext = (): MoveContext => ({ actor: { kind: "cli", id: null, name: `${os.userInfo().username}@${os.hostname()}` }, flowRunId: null });
const enc = encodeURIComponent;

function checked(problem: string | null): void {
  if (problem) throw new BatonError(problem);
}

/** Numbers to 4 significant digits. */
const num = (value: number | undefined) => (value === undefined ? "" : Number.isInteger(value) ? String(value) : value.toPrecision(4));

function versionsTable(versions: ModelVersionInfo[]): string {
  const metrics = [...new Set(versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  return table(
    ["version", "aliases", ...metrics, "registered", "flow run", "sha256"],
    versions.map((v) => [String(v.version), v.aliases.join(","), ...metrics.map((m) => num(v.metrics[m])), time(v.createdAt), v.flowRunId ?? "", v.sha256.slice(0, 12)]),
  );
}

/** `--min f1=0.5` → a gate on f1. */
function gatesOf(mins: string[], maxes: string[], better: string[], lowerIsBetter: boolean): MetricGate[] {
  const bound = (spec: string, flag: string): [string, number] => {
    const at = spec.lastIndexOf("=");
    const value = Number(spec.slice(at + 1));
    if (at <= 0 || spec.slice(at + 1).trim() === "" || !Number.isFinite(value)) throw new BatonError(`${flag} takes METRIC=NUMBER (f1=0.5), got "${spec}"`);
    return [spec.slice(0, at), value];
  };
  const gates: MetricGate[] = [];
  for (const spec of mins) gates.push({ metric: bound(spec, "--min")[0], min: bound(spec, "--min")[1] });
  for (const spec of maxes) gates.push({ metric: bound(spec, "--max")[0], max: bound(spec, "--max")[1] });
  for (const metric of better) gates.push({ metric, betterThanCurrent: true, higherIsBetter: !lowerIsBetter });
  return gates;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerModel(program: Command): void {
  const cmd = program.command("model").description("the model registry: versions, aliases, gated promotion and rollback");
  cmd
    .command("ls")
    .description("list models, most recently changed first")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const all = await modelsOf(store).listModels();
        if (opts.json) return printJson(all);
        if (!all.length) return console.log('No models yet: call registerModel("name", { value, metrics }) in a flow or a script');
        const aliases = (a: Record<string, number>) => Object.entries(a).map(([alias, v]) => `${alias}=v${v}`).join(" ");
        console.log(table(["model", "latest", "aliases", "updated"], all.map((m) => [m.name, `v${m.latestVersion}`, aliases(m.aliases), time(m.updatedAt)])));
      });
    });
  cmd
    .command("inspect <name>")
    .description("a model's versions (metrics, lineage), aliases, and the history of alias moves and refused promotions")
    .option("--json", "print JSON")
    .action(async (name: string, opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const model = await modelsOf(store).getModel(name);
        if (!model) throw new ModelNotFoundError(name);
        if (opts.json) return printJson(model);
        console.log(`Model ${model.name}: ${model.versions.length} version(s); aliases: ${Object.entries(model.aliases).map(([a, v]) => `${a} → v${v}`).join(", ") || "none"}\n`);
        console.log(versionsTable(model.versions));
        if (model.moves.length) {
          console.log("\nAlias moves:");
          const who = (m: (typeof model.moves)[number]) => [m.actor.kind, m.actor.name].filter(Boolean).join(" ");
          const move = (m: (typeof model.moves)[number]) => (m.kind === "refused" ? `v${m.to} refused (stays ${m.from === null ? "unset" : `v${m.from}`})` : `${m.from === null ? "unset" : `v${m.from}`} → v${m.to}`);
          console.log(table(["when", "alias", "kind", "move", "by", "reason"], model.moves.map((m) => [time(m.at), m.alias, m.kind + (m.undone ? " (undone)" : ""), move(m), who(m), m.reason ?? ""])));
        }
      });
    });
  cmd
    .command("promote <name> <version>")
    .description("move an alias to a version if the thresholds pass (or --force); a refusal is recorded with its reason")
    .option("--to <alias>", "the alias to move", DEFAULT_ALIAS)
    .option("--min <metric=value>", "the candidate's metric must be at least this (repeatable)", collect, [])
    .option("--max <metric=value>", "the candidate's metric must be at most this (repeatable)", collect, [])
    .option("--better-than-current <metric>", "the candidate's metric must beat the current version's (repeatable)", collect, [])
    .option("--lower-is-better", "for --better-than-current: a lower value is better (a loss)")
    .option("--force", "promote without any threshold")
    .option("--json", "print JSON")
    .action(async (name: string, versionText: string, opts: { to: string; min: string[]; max: string[]; betterThanCurrent: string[]; lowerIsBetter?: boolean; force?: boolean; json?: boolean }) => {
      checked(modelNameProblem(name, "NAME"));
      checked(aliasProblem(opts.to, "--to"));
      const version = Number(versionText);
      if (!Number.isSafeInteger(version) || version < 1) throw new BatonError(`VERSION must be a version number ≥ 1, got "${versionText}"`);
      const gate = gatesOf(opts.min, opts.max, opts.betterThanCurrent, opts.lowerIsBetter ?? false);
      if (!gate.length && !opts.force) throw new BatonError("give thresholds (--min METRIC=VALUE, --max METRIC=VALUE, --better-than-current METRIC) or --force");
      if (gate.length && opts.force) throw new BatonError("--force promotes without thresholds: leave out --min, --max and --better-than-current, or --force");
      await withStore(async (store) => {
        const outcome: PromotionOutcome =
          store instanceof RemoteStore
            ? ((await store.api.request("POST", `/api/models/${enc(name)}/promote`, { version, to: opts.to, ...(gate.length ? { gate } : { force: true }) }, PromotionOutcomeSchema)) as PromotionOutcome)
            : await promoteModelVersion(modelsOf(store), name, version, { to: opts.to, gate: gate.length ? gate : undefined, context: cliContext() });
        if (opts.json) return printJson(outcome);
        if (!outcome.promoted) {
          console.log(`Refused: ${outcome.reason} (${name} v${version} not promoted to ${opts.to})`);
          process.exitCode = 2;
          return;
        }
        console.log(outcome.from === outcome.to ? `${name} ${opts.to} already points to v${version}` : `Promoted ${name} v${version} to ${opts.to} (was ${outcome.from === null ? "unset" : `v${outcome.from}`})`);
      });
    });
  cmd
    .command("rollback <name>")
    .description("move an alias back to the version it pointed to before its last promotion")
    .option("--alias <alias>", "the alias to roll back", DEFAULT_ALIAS)
    .option("--json", "print JSON")
    .action(async (name: string, opts: { alias: string; json?: boolean }) => {
      checked(modelNameProblem(name, "NAME"));
      checked(aliasProblem(opts.alias, "--alias"));
      await withStore(async (store) => {
        const moved =
          store instanceof RemoteStore
            ? await store.api.request("POST", `/api/models/${enc(name)}/rollback`, { alias: opts.alias }, RollbackOutcomeSchema)
            : await rollbackModelAliasOf(modelsOf(store), name, opts.alias, cliContext());
        if (opts.json) return printJson(moved);
        console.log(`Rolled ${name} ${opts.alias} back from v${moved.from} to v${moved.to}`);
      });
    });
  addModelServe(cmd);
}
