/** The numbered migrations, in order. Shipped migrations are immutable: add a new file instead. */
import type { Kysely } from "kysely";
import type { Dialect } from "../dialect.ts";
import * as m0001 from "./0001_init.ts";
import * as m0002 from "./0002_batches_entrypoints.ts";
import * as m0003 from "./0003_deployments_workers_limits.ts";
import * as m0004 from "./0004_artifacts.ts";
import * as m0005 from "./0005_worker_heartbeats_job_variables.ts";
import * as m0006 from "./0006_retry_counts_allowed_env.ts";
import * as m0007 from "./0007_events.ts";
import * as m0008 from "./0008_webhooks.ts";
import * as m0009 from "./0009_automations.ts";
import * as m0010 from "./0010_notification_channels.ts";
import * as m0011 from "./0011_variables_secrets.ts";
import * as m0012 from "./0012_flow_run_inputs.ts";
import * as m0013 from "./0013_metric_triggers.ts";
import * as m0014 from "./0014_artifact_updates.ts";
import * as m0015 from "./0015_api_keys_accounts.ts";
import * as m0016 from "./0016_deployment_worker_run_indexes.ts";
import * as m0017 from "./0017_audit_log.ts";
import * as m0018 from "./0018_credential_grants.ts";
import * as m0019 from "./0019_large_store_indexes.ts";
import * as m0020 from "./0020_experiments.ts";
import * as m0021 from "./0021_assets.ts";
import * as m0022 from "./0022_models.ts";
import * as m0023 from "./0023_run_resources_costs.ts";
import * as m0024 from "./0024_result_blobs.ts";

export interface NumberedMigration {
  name: string;
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

export const MIGRATIONS: readonly NumberedMigration[] = [
  { name: "0001_init", up: m0001.up },
  { name: "0002_batches_entrypoints", up: m0002.up },
  { name: "0003_deployments_workers_limits", up: m0003.up },
  { name: "0004_artifacts", up: m0004.up },
  { name: "0005_worker_heartbeats_job_variables", up: m0005.up },
  { name: "0006_retry_counts_allowed_env", up: m0006.up },
  { name: "0007_events", up: m0007.up },
  { name: "0008_webhooks", up: m0008.up },
  { name: "0009_automations", up: m0009.up },
  { name: "0010_notification_channels", up: m0010.up },
  { name: "0011_variables_secrets", up: m0011.up },
  { name: "0012_flow_run_inputs", up: m0012.up },
  { name: "0013_metric_triggers", up: m0013.up },
  { name: "0014_artifact_updates", up: m0014.up },
  { name: "0015_api_keys_accounts", up: m0015.up },
  { name: "0016_deployment_worker_run_indexes", up: m0016.up },
  { name: "0017_audit_log", up: m0017.up },
  { name: "0018_credential_grants", up: m0018.up },
  { name: "0019_large_store_indexes", up: m0019.up },
  { name: "0020_experiments", up: m0020.up },
  { name: "0021_assets", up: m0021.up },
  { name: "0022_models", up: m0022.up },
  { name: "0023_run_resources_costs", up: m0023.up },
  { name: "0024_result_blobs", up: m0024.up },
];
