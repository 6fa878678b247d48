/**
 * Baton's public API.
 *
 * @example
 * import { flow, task } from "baton";
 * const double = task(async function double(x: number) { return 2 * x; });
 * const pipeline = flow(async function pipeline(params: { xs: number[] }) {
 *   return Promise.all(double.map(params.xs));
 * });
 * console.log(await pipeline({ xs: [1, 2, 3] }));
 */
export { flow, type Flow } from "./sdk/flow.ts";
export { task, type Task, type Futurable } from "./sdk/task.ts";
export { getRunContext, getRunLogger, type RunContext } from "./sdk/context.ts";
export { configure, shutdown, type ConfigureOptions } from "./sdk/runtime.ts";
export { concurrency, rateLimit, type ConcurrencyOptions } from "./sdk/concurrency.ts";
export {
  createArtifact,
  createImageArtifact,
  createLinkArtifact,
  createMarkdownArtifact,
  createProgressArtifact,
  createTableArtifact,
  type ArtifactInput,
  type ArtifactOptions,
  type ProgressArtifact,
  type TableArtifact,
} from "./sdk/artifacts.ts";
export { ArtifactDataError, ArtifactTooLargeError, IMAGE_MAX_BYTES } from "./core/artifacts.ts";
export { emitEvent, type EmitEventOptions } from "./sdk/events.ts";
export { logMetric, logMetrics, logParams, type MetricOptions } from "./sdk/experiments.ts";
export {
  loadModel,
  promoteModel,
  registerModel,
  rollbackModel,
  type GateFunction,
  type LoadedModel,
  type LoadModelOptions,
  type PromoteModelOptions,
  type PromotionOutcome,
  type RegisterModelOptions,
} from "./sdk/models.ts";
export { ModelMetricMissingError, type MetricGate, type ModelVersionInfo, type ModelAliasMove } from "./core/models.ts";
export { ModelAliasNotFoundError, ModelGateError, ModelNotFoundError, ModelVersionNotFoundError, NothingToRollBackError } from "./services/models.ts";
export { materialize, readVersion } from "./sdk/assets.ts";
export { asset, Asset, AssetVersionConflictError, AssetVersionNotFoundError, type AssetVersion, type MaterializeOptions, type MaterializeOutcome } from "./core/assets.ts";
export { detectDrift, type DriftOptions, type DriftReport, type DriftThresholds, type FeatureDrift, type FeatureKind } from "./sdk/drift.ts";
export { reportModelMetric, type ModelMetricBounds, type ModelMetricReport } from "./sdk/model-metrics.ts";
export { chiSquareTest, ksTest, populationStabilityIndex, type ChiSquareResult, type PsiOptions, type TestResult } from "./core/drift.ts";
export { getVariable, setVariable, getSecret } from "./sdk/values.ts";
export { pauseFlowRun, type PauseOptions } from "./sdk/pause.ts";
export { runDeployment, type RunDeploymentOptions } from "./sdk/run-deployment.ts";
export { FlowRunSuspendedError, PauseTimeoutError } from "./core/flow-run-inputs.ts";
export type { NewEvent, EventResource, RelatedResource } from "./core/event-records.ts";
export { TaskFuture, unmapped, Unmapped } from "./engine/futures.ts";
export type { FlowRunOutcome } from "./engine/flow-runner.ts";
export type { RunLogger } from "./engine/run-logger.ts";
export { exponentialBackoff, type ExponentialBackoff, type RetryDelay } from "./core/retry-policy.ts";
export { estimateRunCost, type PoolPrices, type RunCompute } from "./core/cost.ts";
export type { RunResources } from "./core/resources.ts";
export type { TaskOptions, FlowOptions, HookContext, Hook, Runner } from "./core/options.ts";
export { StateType, StateName, type State } from "./core/states.ts";
export {
  BatonError,
  BatonConfigError,
  FlowRunError,
  TaskRunError,
  NonRetryableError,
  RunTimeoutError,
  RunCancelledError,
  FailFastError,
  SerializationError,
  StoreOpenError,
  RunNotFoundError,
  InvalidTransitionError,
  ParameterValidationError,
} from "./core/errors.ts";
export { SecretDecryptionError } from "./core/secret-cipher.ts";
export { TemplateRefError, resolveTemplateRefs } from "./core/template-refs.ts";
