/**
 * Prometheus' text format read by the official parser: Python's prometheus_client
 * (`text_string_to_metric_families`, Debian's python3-prometheus-client, which
 * scripts/prepare-test-env.mjs installs), so the tests hold /metrics to what Prometheus reads,
 * not to a parser of our own.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";

/** Debian's Python, for which the package installs the module (a pyenv `python3` may lack it). */
const PYTHON = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

const PARSE = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation, "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
`;

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface MetricFamily {
  /** Without `_total` for counters (the parser's way). */
  name: string;
  type: string;
  help: string;
  samples: MetricSample[];
}

/** Parses an exposition; throws (the parser's complaint) when it is not valid text format. */
export function parseMetrics(text: string): MetricFamily[] {
  return JSON.parse(execFileSync(PYTHON, ["-c", PARSE], { input: text, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })) as MetricFamily[];
}

/** Every sample of every family, by sample name. */
export function samplesOf(families: readonly MetricFamily[], name: string): MetricSample[] {
  return families.flatMap((f) => f.samples).filter((s) => s.name === name);
}

/** The one sample named `name` whose labels include `labels`; undefined when none. */
export function valueOf(families: readonly MetricFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samplesOf(families, name).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
