/** Types of nouns.mjs (plain JavaScript, so that `baton --help` needs no TypeScript loader). */
import type { Command } from "commander";

/** A module of commands (src/cli/main.ts maps each to its import). */
export type NounModule = "run" | "flowRun" | "taskRun" | "misc" | "config" | "server" | "dashboard" | "worker" | "workQueue" | "deployment" | "limits" | "events" | "webhook" | "experiment" | "asset" | "model" | "automation" | "notification" | "variable" | "secret" | "apiKey" | "account" | "audit" | "usage" | "completion";

/** A top-level command: its name and description for the listing, and the module that registers it. */
export interface LazyNoun {
  name: string;
  description: string;
  module: NounModule;
  hidden?: boolean;
}

export const NOUNS: readonly LazyNoun[];
export function newProgram(): Command;
export function addStub(program: Command, noun: LazyNoun): void;
export function asksForListingOnly(args: readonly string[]): boolean;
export function printListing(argv: readonly string[]): Promise<number>;
