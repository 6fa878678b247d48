/**
 * Promotion with a person's approval: the newest registered version of `weather` that is not in
 * production goes to production only if it passes the declared gate *and* a person approves.
 * The run pauses with both versions' metrics side by side; the dashboard shows the form on the
 * run's page, or answer from a terminal:
 *
 *   npx baton run examples/train.ts --param seed=8 --param promoteIf=never   # a candidate
 *   npx baton run examples/approval.ts                                      # waits for a person
 *   npx baton flow-run resume RUN --input '{"approve": true, "comment": "checked the confusion matrix"}'
 *
 * A refusal (gate or person) is recorded with its reason in the model's history
 * (`baton model inspect weather`), and the run completes with `{ promoted: false, reason }`.
 */
import { z } from "zod";
import { BatonError, flow, getRunLogger, promoteModel, task } from "../src/index.ts";
import { getRuntime } from "../src/sdk/runtime.ts";
import { modelStoreOf } from "../src/sdk/models.ts";
import { MODEL_NAME } from "./ml/current-model.ts";

/** The newest version that production does not point to (a task: a resumed run reads the same answer). */
export const newestCandidate = task(async function newestCandidate(name: string) {
  const models = modelStoreOf(await getRuntime());
  const model = await models.getModel(name);
  const candidate = model?.versions.find((v) => v.version !== model.aliases.production);
  if (!model || !candidate) throw new BatonError(`model "${name}" has no version besides production's to promote: train one first (npx baton run examples/train.ts --param promoteIf=never)`);
  getRunLogger().info("candidate: %s v%d (production: %s)", name, candidate.version, model.aliases.production ?? "none");
  return candidate.version;
});

export const ApprovalParams = z.object({ model: z.string().default(MODEL_NAME), minMacroF1: z.number().min(0).max(1).default(0.3) });

export const approveCandidate = flow(
  async function approveCandidate(params: z.input<typeof ApprovalParams>) {
    const p = ApprovalParams.parse(params);
    const version = await newestCandidate(p.model);
    // The gate first (no person is asked about a model it refuses), then the person.
    return promoteModel(p.model, version, { gate: { metric: "macroF1", min: p.minMacroF1 }, approval: true });
  },
  { params: ApprovalParams, description: "promote the newest weather model with a person's approval" },
);

export default approveCandidate;
