/**
 * Every named schema (`.meta({ id })`): the server registers each once (Fastify's shared
 * schemas, the OpenAPI document's components) and the others refer to them by id. A named
 * schema missing here fails the server's start: its references cannot be resolved.
 */
import type { z } from "zod";
import { AuditEntrySchema, AuditVerificationSchema } from "./audit.ts";
import { RunReportSchema } from "./run-report.ts";
import { AutomationActionRecordSchema, AutomationFiringSchema, AutomationSchema, AutomationSpecSchema } from "./automation.ts";
import { ConcurrencyLimitSchema } from "./concurrency-limit.ts";
import { AccountSchema, ApiKeySchema } from "./credential.ts";
import { DeploymentSchema } from "./deployment.ts";
import { ErrorInfoSchema, ErrorResponseSchema } from "./error.ts";
import { EventInputSchema, EventRecordSchema, NewEventSchema } from "./event.ts";
import { FlowSchema } from "./flow.ts";
import { FlowRunSchema } from "./flow-run.ts";
import { FlowRunInputSchema } from "./flow-run-input.ts";
import { LogSchema } from "./log.ts";
import { NotificationChannelSchema } from "./notification-channel.ts";
import { SecretInfoSchema } from "./secret.ts";
import { StateRecordSchema, StateSchema } from "./state.ts";
import { TaskDependencySchema, TaskRunSchema } from "./task-run.ts";
import { VariableSchema } from "./variable.ts";
import { WorkerSchema } from "./worker.ts";
import { RunResourcesSchema } from "./usage.ts";
import { WorkPoolSchema, WorkQueueSchema } from "./work-pool.ts";

export const COMPONENTS: readonly z.ZodType[] = [
  StateSchema,
  StateRecordSchema,
  ErrorInfoSchema,
  ErrorResponseSchema,
  FlowSchema,
  FlowRunSchema,
  FlowRunInputSchema,
  TaskRunSchema,
  TaskDependencySchema,
  RunResourcesSchema,
  LogSchema,
  NewEventSchema,
  EventInputSchema,
  EventRecordSchema,
  DeploymentSchema,
  WorkPoolSchema,
  WorkQueueSchema,
  WorkerSchema,
  ConcurrencyLimitSchema,
  AutomationSpecSchema,
  AutomationSchema,
  AutomationActionRecordSchema,
  AutomationFiringSchema,
  NotificationChannelSchema,
  VariableSchema,
  SecretInfoSchema,
  ApiKeySchema,
  AccountSchema,
  AuditEntrySchema,
  AuditVerificationSchema,
  RunReportSchema,
];
