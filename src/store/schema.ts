/** Table types for Kysely: one schema for SQLite and PostgreSQL. Times are epoch ms (bigint). */
import type { Generated } from "kysely";

export interface FlowsTable {
  id: string;
  name: string;
  description: string | null;
  tags: string;
  created_at: number;
  updated_at: number;
}

export interface FlowRunsTable {
  id: string;
  flow_id: string;
  name: string;
  parent_flow_run_id: string | null;
  parent_task_run_id: string | null;
  state_type: string;
  state_name: string;
  state_message: string | null;
  state_timestamp: number;
  scheduled_at: number | null;
  parameters: string;
  tags: string;
  run_count: number;
  created_at: number;
  start_time: number | null;
  end_time: number | null;
  heartbeat_at: number | null;
  heartbeat_ms: number | null;
  result_id: string | null;
  error: string | null;
  version: string | null;
  entrypoint: string | null;
  deployment_id: string | null;
  work_pool: string | null;
  work_queue: string | null;
  worker_id: string | null;
  expected_start_time: number | null;
  /** JSON JobVariables of this run alone, or null. */
  job_variables: string | null;
  /** Deployment retries scheduled so far (see engine/retry-scheduling.ts). */
  retries_used: Generated<number>;
  /** Resources the runner measured (0023), written with the final state; see core/resources.ts. */
  wall_ms: number | null;
  cpu_user_ms: number | null;
  cpu_system_ms: number | null;
  peak_memory_bytes: number | null;
  retried_wall_ms: number | null;
  retried_cpu_ms: number | null;
}

export interface TaskRunsTable {
  id: string;
  flow_run_id: string;
  task_key: string;
  task_name: string;
  state_type: string;
  state_name: string;
  state_message: string | null;
  state_timestamp: number;
  scheduled_at: number | null;
  run_count: number;
  cache_key: string | null;
  result_id: string | null;
  error: string | null;
  tags: string;
  created_at: number;
  start_time: number | null;
  end_time: number | null;
  /** Resources the runner measured (0023), written with the final state; see core/resources.ts. */
  wall_ms: number | null;
  cpu_user_ms: number | null;
  cpu_system_ms: number | null;
  peak_memory_bytes: number | null;
  retried_wall_ms: number | null;
  retried_cpu_ms: number | null;
}

export interface StatesTable {
  id: Generated<number>;
  flow_run_id: string;
  task_run_id: string | null;
  type: string;
  name: string;
  message: string | null;
  timestamp: number;
  scheduled_at: number | null;
}

export interface TaskDependenciesTable {
  task_run_id: string;
  upstream_task_run_id: string;
  flow_run_id: string;
  kind: string;
}

export interface LogsTable {
  id: Generated<number>;
  flow_run_id: string;
  task_run_id: string | null;
  level: number;
  message: string;
  timestamp: number;
  extra: string | null;
}

export interface ResultsTable {
  id: string;
  serializer: string;
  value: string | null;
  path: string | null;
  size: number;
  created_at: number;
}

/** A chunk of a content-addressed result blob (BATON_RESULTS_URL=db). */
export interface ResultBlobsTable {
  sha256: string;
  chunk: number;
  bytes: Buffer;
  created_at: number;
}

export interface CacheEntriesTable {
  cache_key: string;
  result_id: string;
  task_run_id: string;
  expires_at: number | null;
  created_at: number;
}

export interface AppliedBatchesTable {
  id: string;
  applied_at: number;
}

export interface DeploymentsTable {
  id: string;
  name: string;
  flow_name: string;
  entrypoint: string;
  description: string | null;
  version: string | null;
  tags: string;
  parameters: string;
  parameter_schema: string | null;
  work_pool: string | null;
  work_queue: string;
  paused: number;
  concurrency_limit: number | null;
  collision_strategy: string;
  retries: number;
  retry_delay_ms: number;
  /** JSON JobVariables. */
  job_variables: string;
  created_at: number;
  updated_at: number;
}

export interface SchedulesTable {
  id: string;
  deployment_id: string;
  spec: string;
  active: number;
  created_at: number;
}

export interface WorkPoolsTable {
  name: string;
  type: string;
  paused: number;
  concurrency_limit: number | null;
  /** JSON JobVariables. */
  job_variables: string;
  /** JSON array of runtime-loading env names (or PREFIX_* patterns) its runs may set. */
  allow_env: Generated<string>;
  created_at: number;
  /** Prices (0023): per wall hour, CPU hour, GPU hour (× gpus per run), in `currency`. */
  cost_per_hour: number | null;
  cost_per_cpu_hour: number | null;
  cost_per_gpu_hour: number | null;
  gpus: number | null;
  currency: string | null;
}

export interface WorkQueuesTable {
  pool_name: string;
  name: string;
  priority: number;
  concurrency_limit: number | null;
  paused: number;
}

export interface WorkersTable {
  id: string;
  name: string;
  pool_name: string;
  run_limit: number | null;
  heartbeat_at: number;
  /** How often the worker promised to beat (ms); null for workers registered before 0005. */
  heartbeat_ms: number | null;
  created_at: number;
}

export interface ConcurrencyLimitsTable {
  name: string;
  slot_limit: number;
  slot_decay_per_second: number | null;
  created_at: number;
}

export interface ConcurrencyLeasesTable {
  id: string;
  limit_name: string;
  holder: string;
  slots: number;
  expires_at: number;
  created_at: number;
}

export interface ArtifactsTable {
  id: string;
  key: string | null;
  type: string;
  data: string;
  description: string | null;
  flow_run_id: string;
  task_run_id: string | null;
  created_at: number;
  /** When its data last changed in place (progress, table rows); null: never. */
  updated_at: number | null;
  /** An image artifact's bytes; null for the others. */
  content: Uint8Array | null;
}

/** The audit log (migration 0015, core/audit-chain.ts): appended only, each row chained to the one before. */
export interface AuditLogTable {
  seq: number;
  at: number;
  actor_kind: string;
  actor_id: string | null;
  actor_name: string;
  actor_role: string | null;
  action: string;
  /** JSON string[]. */
  targets: string;
  status: number | null;
  outcome: string;
  client_ip: string | null;
  request_id: string | null;
  /** JSON object, or null. */
  detail: string | null;
  prev_hash: string;
  hash: string;
}

export interface EventsTable {
  seq: Generated<number>;
  id: string;
  occurred: number;
  received: number;
  event: string;
  resource_id: string;
  /** JSON EventResource. */
  resource: string;
  /** JSON RelatedResource[]. */
  related: string;
  /** JSON object. */
  payload: string;
}

/** Every resource an event is about ("resource") or related to (its role), for lookups by id. */
export interface EventResourcesTable {
  event_seq: number;
  resource_id: string;
  role: string;
}

/** A webhook: requests to its slug become events through its template. */
export interface WebhooksTable {
  id: string;
  slug: string;
  name: string;
  /** The JSONata expression, as written. */
  template: string;
  created_at: number;
}

/** A variable: a named JSON value with tags, readable by every role. */
export interface VariablesTable {
  name: string;
  /** JSON. */
  value: string;
  /** JSON array of strings. */
  tags: string;
  created_at: number;
  updated_at: number;
}

/** A secret: only its AES-256-GCM ciphertext (base64), nonce, auth tag and the sealing key's fingerprint. */
export interface SecretsTable {
  name: string;
  ciphertext: string;
  nonce: string;
  auth_tag: string;
  key_fingerprint: string;
  created_at: number;
  updated_at: number;
}

/** An automation: its spec as written (JSON), and since when it counts events. */
export interface AutomationsTable {
  id: string;
  name: string;
  spec: string;
  paused: number;
  active_since: number;
  created_at: number;
  updated_at: number;
}

/** The trigger state of one bucket of an automation (JSON BucketState). */
export interface AutomationBucketsTable {
  automation_id: string;
  bucket: string;
  state: string;
  updated_at: number;
}

/** A firing: why, when, and the events that caused it (JSON). */
export interface AutomationFiringsTable {
  id: string;
  automation_id: string;
  bucket: string;
  reason: string;
  fired_at: number;
  window_start: number;
  window_end: number;
  /** JSON MatchedEvent[]. */
  events: string;
  /** JSON EventRecord: the event that completed the firing; null for a proactive one. */
  event: string | null;
  /** JSON Measurement of a metric trigger's firing; null for the others. */
  measurement: string | null;
}

/** One action of a firing: the outbox the executor works through, with each attempt's outcome (JSON). */
export interface AutomationActionsTable {
  id: string;
  firing_id: string;
  automation_id: string;
  action_index: number;
  type: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  outcomes: string;
  updated_at: number;
}

/** How far the evaluator has read the event log (a JSON EventTailPosition). */
export interface AutomationCursorTable {
  name: string;
  position: string;
  updated_at: number;
}

/** A notification channel: its type and its settings as written (JSON). */
export interface NotificationChannelsTable {
  id: string;
  name: string;
  type: string;
  settings: string;
  created_at: number;
  updated_at: number;
}

/** A pause of a flow run: the input it asks for and, once supplied, the input (JSON texts). */
export interface FlowRunInputsTable {
  flow_run_id: string;
  key: string;
  schema: string | null;
  description: string | null;
  timeout_at: number | null;
  default_value: string | null;
  input: string | null;
  created_at: number;
  supplied_at: number | null;
  supplied_by: string | null;
}

/** A stored API key: its public prefix and the scrypt hash of its secret, never the secret. */
export interface ApiKeysTable {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  role: string;
  /** JSON array of pool names, or null (every pool). */
  pools: string | null;
  /** JSON array of deployment tags, or null (every deployment). */
  deployment_tags: string | null;
  created_at: number;
  created_by: string | null;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  /** JSON array of permissions granted on top of the role, or null (none). */
  grants: string | null;
}

/** An account created by an admin: a name, a role and the scrypt hash of its password. */
export interface AccountsTable {
  id: string;
  name: string;
  role: string;
  password_hash: string;
  created_at: number;
  created_by: string | null;
  last_sign_in_at: number | null;
  /** JSON array of permissions granted on top of the role, or null (none). */
  grants: string | null;
}

/** A run (flow run or task run) that logged parameters or metrics, and its experiment. */
export interface ExperimentRunsTable {
  run_id: string;
  flow_run_id: string;
  experiment: string;
  created_at: number;
}

/** A run's parameter: one JSON value per key. */
export interface RunParamsTable {
  run_id: string;
  key: string;
  value: string;
  flow_run_id: string;
  logged_at: number;
}

/** A run's metric at a step. */
export interface RunMetricsTable {
  run_id: string;
  name: string;
  step: number;
  value: number;
  flow_run_id: string;
  timestamp: number;
}

/** A model name and its last version number (0022). */
export interface ModelsTable {
  name: string;
  latest_version: number;
  created_at: number;
  updated_at: number;
}

/** A registered version of a model: its stored value (a result record's fields), metrics, params, lineage. */
export interface ModelVersionsTable {
  name: string;
  version: number;
  /** "value" (registered as a value) or "path" (a file's bytes: loaded as a Buffer). */
  source: string;
  source_path: string | null;
  serializer: string;
  value: string | null;
  path: string | null;
  size: number;
  sha256: string;
  /** JSON object of metric → number. */
  metrics: string;
  /** JSON object. */
  params: string;
  signature: string | null;
  description: string | null;
  flow_run_id: string | null;
  task_run_id: string | null;
  experiment: string | null;
  created_at: number;
}

/** Which version an alias of a model points to. */
export interface ModelAliasesTable {
  name: string;
  alias: string;
  version: number;
  updated_at: number;
}

/** An alias move (promoted, rolled-back) or a refused promotion. */
export interface ModelAliasMovesTable {
  id: string;
  name: string;
  alias: string;
  kind: string;
  from_version: number | null;
  to_version: number | null;
  reason: string | null;
  /** 1: a promotion a rollback undid; 0 otherwise. */
  undone: number;
  /** JSON: { kind, id, name }. */
  actor: string;
  flow_run_id: string | null;
  at: number;
  seq: number;
}

/** A version of an asset (migration 0021). */
export interface AssetVersionsTable {
  id: string;
  asset_key: string;
  version: string;
  hash: string;
  rows: number | null;
  schema: string | null;
  metadata: string | null;
  flow_run_id: string | null;
  task_run_id: string | null;
  run_deleted: number;
  created_at: number;
  materialized_at: number;
}

/** Lineage: a version made from another. */
export interface AssetVersionInputsTable {
  version_id: string;
  input_version_id: string;
}

/** A run that read (`read`) or produced/confirmed (`wrote`) a version. */
export interface AssetRunLinksTable {
  version_id: string;
  run_id: string;
  kind: "read" | "wrote";
  flow_run_id: string;
  task_run_id: string | null;
  at: number;
}

export interface Database {
  models: ModelsTable;
  model_versions: ModelVersionsTable;
  model_aliases: ModelAliasesTable;
  model_alias_moves: ModelAliasMovesTable;
  api_keys: ApiKeysTable;
  accounts: AccountsTable;
  artifacts: ArtifactsTable;
  experiment_runs: ExperimentRunsTable;
  run_params: RunParamsTable;
  run_metrics: RunMetricsTable;
  asset_versions: AssetVersionsTable;
  asset_version_inputs: AssetVersionInputsTable;
  asset_run_links: AssetRunLinksTable;
  deployments: DeploymentsTable;
  schedules: SchedulesTable;
  work_pools: WorkPoolsTable;
  work_queues: WorkQueuesTable;
  workers: WorkersTable;
  concurrency_limits: ConcurrencyLimitsTable;
  concurrency_leases: ConcurrencyLeasesTable;
  applied_batches: AppliedBatchesTable;
  events: EventsTable;
  webhooks: WebhooksTable;
  automations: AutomationsTable;
  automation_buckets: AutomationBucketsTable;
  automation_firings: AutomationFiringsTable;
  automation_actions: AutomationActionsTable;
  automation_cursor: AutomationCursorTable;
  notification_channels: NotificationChannelsTable;
  variables: VariablesTable;
  secrets: SecretsTable;
  event_resources: EventResourcesTable;
  flows: FlowsTable;
  flow_runs: FlowRunsTable;
  flow_run_inputs: FlowRunInputsTable;
  task_runs: TaskRunsTable;
  states: StatesTable;
  task_dependencies: TaskDependenciesTable;
  logs: LogsTable;
  results: ResultsTable;
  result_blobs: ResultBlobsTable;
  cache_entries: CacheEntriesTable;
  audit_log: AuditLogTable;
}
