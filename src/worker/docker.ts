/**
 * Docker work pools: each flow run is a container created through the Docker Engine API, running
 * the same `execute-flow-run <id>` entry a process pool's child runs, with the same environment
 * (how to reach the store or the API, BATON_WORKER_ID). A container's life:
 *   image (pulled per job variable `pull`) → created with labels naming the run, its worker and
 *   pool → attached (its output forwarded line by line; the attach's stdin is the run's lifeline:
 *   a worker that dies closes it and the run's process stops) → started → its stats sampled
 *   (cumulative CPU time, peak memory) → waited → inspected (exit code, OOM kill) → removed.
 * Cancelling stops the container (SIGTERM, SIGKILL after the grace period). Containers the
 * worker could not remove (it died) are found by their labels and removed by `sweep`.
 *
 * The container sees the host's paths only where `volumes` mounts them, and runs in the
 * worker's working directory (or `cwd`): mount the project at the same path. Its network is
 * the host's by default, so the database or API URL the worker uses works unchanged.
 */
import type Docker from "dockerode";
import { createRequire } from "node:module";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { memoryBytes, type JobVariables } from "../core/job-variables.ts";
import type { Infrastructure, ResourceUsage, RunHandle, StartOptions } from "./infrastructure.ts";

/** The labels a worker puts on its containers. */
export const DOCKER_LABELS = { managed: "baton.managed", flowRunId: "baton.flow_run_id", workerId: "baton.worker_id", pool: "baton.pool" } as const;

/** dockerode, loaded with the first Docker infrastructure: importing it takes ~0.5 s, which every worker would pay. */
const newDocker = (): Docker => new (createRequire(import.meta.url)("dockerode") as typeof Docker)();

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/baton.js");

/** Lines of a run's stderr kept to explain an early exit. */
const KEPT_ERROR_LINES = 5;

/** The exit code Docker reports for a container killed by SIGKILL (docker kill, the OOM killer). */
const SIGKILL_EXIT = 137;

/** Why a Docker run could not start (no image, a bad job variable): the run ends Crashed, saying so. */
export class DockerStartError extends Error {
  override name = "DockerStartError";
}

/** The Docker settings of a run, from its merged job variables; a DockerStartError naming the variable. */
export function containerSettings(jobVariables: JobVariables): { image: string; pull: "never" | "missing" | "always"; hostConfig: Docker.HostConfig } {
  if (!jobVariables.image) throw new DockerStartError("a Docker work pool's run needs the job variable image (baton work-pool create POOL --type docker --image IMAGE)");
  const hostConfig: Docker.HostConfig = { NetworkMode: jobVariables.network ?? "host", Binds: jobVariables.volumes ?? [] };
  if (jobVariables.cpus !== undefined) hostConfig.NanoCpus = Math.round(jobVariables.cpus * 1e9);
  if (jobVariables.memory !== undefined) {
    try {
      hostConfig.Memory = memoryBytes(jobVariables.memory, "job variable memory");
    } catch (error) {
      throw new DockerStartError((error as Error).message);
    }
  }
  if (jobVariables.gpus !== undefined) hostConfig.DeviceRequests = [{ Driver: "", Count: jobVariables.gpus === "all" ? -1 : jobVariables.gpus, Capabilities: [["gpu"]] }];
  return { image: jobVariables.image, pull: jobVariables.pull ?? "missing", hostConfig };
}

/** Cumulative CPU time and peak memory over a container's stats samples. */
export class UsageTracker {
  private cpuUserNs = 0;
  private cpuSystemNs = 0;
  private peak = 0;
  private readonly startedAt = Date.now();
  private endedAt: number | null = null;

  sample(stats: Partial<Docker.ContainerStats>): void {
    const cpu = stats.cpu_stats?.cpu_usage;
    // Counters are cumulative; a last sample taken as the container stops may read zeros.
    if (cpu?.usage_in_usermode) this.cpuUserNs = Math.max(this.cpuUserNs, cpu.usage_in_usermode);
    if (cpu?.usage_in_kernelmode) this.cpuSystemNs = Math.max(this.cpuSystemNs, cpu.usage_in_kernelmode);
    const memory = stats.memory_stats;
    // cgroup v1 reports the peak itself (max_usage); v2 only the current usage, sampled.
    this.peak = Math.max(this.peak, memory?.max_usage ?? 0, memory?.usage ?? 0);
  }

  end(): void {
    this.endedAt ??= Date.now();
  }

  usage(): ResourceUsage {
    return {
      cpuUserMs: Math.round(this.cpuUserNs / 1e6),
      cpuSystemMs: Math.round(this.cpuSystemNs / 1e6),
      peakMemoryBytes: this.peak,
      wallMs: (this.endedAt ?? Date.now()) - this.startedAt,
    };
  }
}

/** Splits a byte stream into lines, calling `line` for each non-empty one. */
function lineSink(line: (text: string) => void): Writable {
  let rest = "";
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const parts = (rest + chunk.toString()).split("\n");
      rest = parts.pop() ?? "";
      for (const part of parts) if (part.trim()) line(part);
      done();
    },
    final(done) {
      if (rest.trim()) line(rest);
      done();
    },
  });
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export class DockerInfrastructure implements Infrastructure {
  readonly type = "docker";

  constructor(
    private readonly output: (line: string) => void = (line) => process.stdout.write(line + "\n"),
    readonly docker: Docker = newDocker(),
  ) {}

  start(flowRunId: string, env: Record<string, string>, options: StartOptions = {}): RunHandle {
    const prefix = `[${flowRunId.slice(-8)}] `;
    const errorLines: string[] = [];
    const forward = (raw: string, keep: boolean) => {
      const line = options.redact ? options.redact(raw) : raw;
      this.output(prefix + line);
      if (keep && errorLines.push(line) > KEPT_ERROR_LINES) errorLines.shift();
    };
    const usage = new UsageTracker();
    let container: Docker.Container | null = null;
    let startError: string | undefined;
    let endReason: string | undefined;
    let stopRequest: { graceMs: number } | { kill: true } | null = null;
    const stopContainer = () => {
      if (!container || !stopRequest) return;
      const request = stopRequest;
      const done = "kill" in request ? container.kill() : container.stop({ t: Math.max(1, Math.ceil(request.graceMs / 1000)) });
      done.catch(() => undefined); // already stopped
    };

    const exited = (async (): Promise<number | null> => {
      let settings;
      try {
        settings = containerSettings(options.jobVariables ?? {});
        await this.ensureImage(settings.image, settings.pull, (line) => forward(line, false));
      } catch (error) {
        startError = (error as Error).message;
        this.output(`${prefix}cannot start flow run ${flowRunId}: ${startError}`);
        return 127;
      }
      // The worker's own Baton settings (log level, heartbeat) apply to the run as in a process pool.
      const own = Object.entries(process.env).filter(([name, value]) => name.startsWith("BATON_") && value !== undefined && !(name in env));
      try {
        container = await this.docker.createContainer({
          name: `baton-${flowRunId}`,
          Image: settings.image,
          Cmd: ["node", BIN, "execute-flow-run", flowRunId],
          WorkingDir: path.resolve(options.jobVariables?.cwd ?? "."),
          Env: [...own.map(([k, v]) => `${k}=${v}`), ...Object.entries({ ...env, ...options.traceEnv }).map(([k, v]) => `${k}=${v}`), `BATON_FLOW_RUN_ID=${flowRunId}`, "BATON_WORKER_LIFELINE=stdin"],
          Labels: { [DOCKER_LABELS.managed]: "true", [DOCKER_LABELS.flowRunId]: flowRunId, [DOCKER_LABELS.workerId]: env.BATON_WORKER_ID ?? "", [DOCKER_LABELS.pool]: options.run?.workPool ?? "" },
          OpenStdin: true,
          StdinOnce: true,
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
          HostConfig: settings.hostConfig,
        });
      } catch (error) {
        startError = `its container (image "${settings.image}") could not be created: ${(error as Error).message}`;
        this.output(`${prefix}cannot start flow run ${flowRunId}: ${startError}`);
        return 127;
      }
      const created = container;
      try {
        // Attached before the start, so no line is lost; the stream stays open as the run's lifeline.
        const stream = await created.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
        const out = lineSink((line) => forward(line, false));
        const err = lineSink((line) => forward(line, true));
        created.modem.demuxStream(stream, out, err);
        const outputDone = new Promise<void>((resolve) => {
          stream.on("end", resolve);
          stream.on("close", resolve);
          stream.on("error", () => resolve());
        });
        // Asked before the start so no exit is missed; "next-exit": a created container is already "not-running".
        const waited = created.wait({ condition: "next-exit" }) as Promise<{ StatusCode: number }>;
        await created.start();
        stopContainer(); // a stop asked while the container was being made
        void this.sampleStats(created, usage);
        const { StatusCode: code } = await waited;
        usage.end();
        await Promise.race([outputDone, new Promise((r) => setTimeout(r, 500))]);
        out.end();
        err.end();
        stream.end();
        const state = (await created.inspect().catch(() => null))?.State;
        if (state?.OOMKilled)
          endReason = `the flow run's container was killed for running out of memory (OOM-killed, exit code ${code}${settings.hostConfig.Memory ? `; job variable memory: ${options.jobVariables?.memory}` : ""})`;
        else if (code === SIGKILL_EXIT && !stopRequest) endReason = `the flow run's container was killed (exit code 137: SIGKILL, from docker kill or the kernel)`;
        else if (code !== 0) endReason = `the flow run's container exited with code ${code}`;
        const used = usage.usage();
        this.output(`${prefix}container used ${used.cpuUserMs} ms CPU user, ${used.cpuSystemMs} ms CPU system, ${mib(used.peakMemoryBytes)} peak memory, ${used.wallMs} ms wall`);
        return code;
      } catch (error) {
        startError ??= `its container (image "${settings.image}") could not run: ${(error as Error).message}`;
        this.output(`${prefix}${startError}`);
        return 127;
      } finally {
        await created.remove({ force: true }).catch(() => undefined);
      }
    })();

    return {
      exited,
      pid: undefined,
      get startError() {
        return startError;
      },
      stop: (graceMs) => {
        stopRequest = { graceMs };
        stopContainer();
      },
      kill: () => {
        stopRequest = { kill: true };
        stopContainer();
      },
      lastErrorLines: () => [...errorLines],
      endReason: () => endReason,
      usage: () => usage.usage(),
    };
  }

  /** The image present, per the pull policy; a DockerStartError naming the image when it cannot be had. */
  private async ensureImage(image: string, pull: "never" | "missing" | "always", log: (line: string) => void): Promise<void> {
    if (pull !== "always") {
      const present = await this.docker
        .getImage(image)
        .inspect()
        .then(() => true)
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode === 404) return false;
          throw new DockerStartError(`the Docker daemon could not be asked for image "${image}": ${(error as Error).message}`);
        });
      if (present) return;
      if (pull === "never") throw new DockerStartError(`image "${image}" is not on this machine and job variable pull is "never" (build or load it here, or use pull: missing)`);
    }
    log(`pulling image ${image}`);
    try {
      const progress = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(progress, (error: Error | null) => (error ? reject(error) : resolve())));
    } catch (error) {
      throw new DockerStartError(`image "${image}" could not be pulled (job variable pull is "${pull}"): ${(error as Error).message.trim()}`);
    }
  }

  /** Samples the container's stats as Docker streams them (about once a second) until it stops. */
  private async sampleStats(container: Docker.Container, usage: UsageTracker): Promise<void> {
    try {
      const stream = await container.stats({ stream: true });
      const lines = lineSink((line) => {
        try {
          usage.sample(JSON.parse(line) as Docker.ContainerStats);
        } catch {
          // a partial sample as the container stops
        }
      });
      (stream as unknown as NodeJS.ReadableStream).pipe(lines);
    } catch {
      // The container ended before its stats could be read: the run had no time to use much.
    }
  }

  /**
   * Removes the containers of `pool` left by workers that are gone: those whose run is no longer
   * held by the container's worker (ended, or crashed and taken by another), exited or not.
   * `heldBy(runId)`: the worker that holds the run now, null when none.
   */
  async sweep(pool: string, heldBy: (flowRunId: string) => Promise<string | null>, log: (line: string) => void): Promise<void> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.managed}=true`, `${DOCKER_LABELS.pool}=${pool}`] } });
    for (const info of containers) {
      const runId = info.Labels[DOCKER_LABELS.flowRunId];
      if (!runId || (await heldBy(runId)) === info.Labels[DOCKER_LABELS.workerId]) continue;
      log(`Removing container ${info.Names[0] ?? info.Id} of flow run ${runId}: its worker is gone`);
      await this.docker
        .getContainer(info.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }
}
