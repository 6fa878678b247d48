/** Job variables: validation that names the field, the pool <- deployment <- run merge, and the variables a pool must allow. */
import { describe, expect, it } from "vitest";
import { compileAllowEnv, compileJobVariables, memoryBytes, mergeJobVariables, refusedEnvName, runtimeEnvReason } from "../../src/core/job-variables.ts";
import { JobVariablesSchema } from "../../src/schemas/job-variables.ts";
import { containerSettings } from "../../src/worker/docker.ts";

describe("job variables", () => {
  it("merges pool, deployment and run, later layers winning key by key", () => {
    const merged = mergeJobVariables({ env: { A: "pool", B: "pool" }, cwd: "/pool" }, { env: { B: "deployment", C: "deployment" } }, null, { env: { C: "run" } });
    expect(merged).toEqual({ env: { A: "pool", B: "deployment", C: "run" }, cwd: "/pool" });
    expect(mergeJobVariables({ cwd: "/a" }, { cwd: "/b" })).toEqual({ cwd: "/b" });
    expect(mergeJobVariables()).toEqual({});
  });

  it("reads YAML-ish values: numbers and booleans become strings", () => {
    expect(compileJobVariables({ env: { PORT: 8080, DEBUG: true, NAME: "x" }, cwd: "jobs" })).toEqual({ env: { PORT: "8080", DEBUG: "true", NAME: "x" }, cwd: "jobs" });
    expect(compileJobVariables(undefined)).toEqual({});
  });

  it.each([
    [[], /job_variables must be an object/],
    [{ env: { "1BAD": "x" } }, /job_variables\.env: "1BAD" is not a valid environment variable name/],
    [{ env: { A: { nested: 1 } } }, /job_variables\.env\.A must be a string, got object/],
    [{ env: "A=1" }, /job_variables\.env must be an object/],
    [{ cwd: "" }, /job_variables\.cwd must be a non-empty path/],
    [{ imag: "x" }, /job_variables has an unknown field "imag"; expected env, cwd, image, volumes/],
  ])("rejects %j", (input, message) => {
    expect(() => compileJobVariables(input)).toThrow(message);
  });
});

describe("Docker job variables", () => {
  it("takes image, volumes, cpus, memory, gpus, network and pull", () => {
    const input = { image: "registry.example.com/team/flows:1.2", volumes: ["/data:/data:ro", "/work:/work"], cpus: 1.5, memory: "512m", gpus: "all", network: "bridge", pull: "never" };
    expect(compileJobVariables(input)).toEqual(input);
    expect(compileJobVariables({ memory: 64 * 1024 * 1024, gpus: 2 })).toEqual({ memory: 67108864, gpus: 2 });
  });

  it.each([
    [{ image: "has space" }, /job_variables\.image must be a Docker image name/],
    [{ image: 3 }, /job_variables\.image must be a Docker image name/],
    [{ volumes: "/a:/b" }, /job_variables\.volumes must be a list of HOST_PATH:CONTAINER_PATH\[:ro\]/],
    [{ volumes: ["/a:/b", "data:/b"] }, /job_variables\.volumes\[1\] must be HOST_PATH:CONTAINER_PATH .*absolute paths, got "data:\/b"/],
    [{ volumes: ["/a:/b:rx"] }, /job_variables\.volumes\[0\]/],
    [{ cpus: 0 }, /job_variables\.cpus must be a number of CPUs above 0/],
    [{ cpus: "2" }, /job_variables\.cpus must be a number of CPUs above 0 .*got "2"/],
    [{ memory: "lots" }, /job_variables\.memory must be a byte count or a size like 512m or 2g, got "lots"/],
    [{ memory: "1m" }, /job_variables\.memory must be at least 6 MiB/],
    [{ gpus: 0 }, /job_variables\.gpus must be "all" or a number of GPUs/],
    [{ gpus: "some" }, /job_variables\.gpus must be "all" or a number of GPUs/],
    [{ network: "my net" }, /job_variables\.network must be a Docker network name/],
    [{ pull: "sometimes" }, /job_variables\.pull must be one of never, missing, always, got "sometimes"/],
  ])("rejects %j, naming the variable", (input, message) => {
    expect(() => compileJobVariables(input)).toThrow(message);
  });

  it("memory sizes read as docker run --memory reads them", () => {
    expect(memoryBytes("512m")).toBe(512 * 1024 ** 2);
    expect(memoryBytes("2g")).toBe(2 * 1024 ** 3);
    expect(memoryBytes("1.5G")).toBe(1.5 * 1024 ** 3);
    expect(memoryBytes("8192k")).toBe(8 * 1024 ** 2);
    expect(memoryBytes(7_000_000)).toBe(7_000_000);
  });

  it("merges scalars later layers winning, volumes by their path in the container", () => {
    const merged = mergeJobVariables(
      { image: "pool:1", pull: "missing", volumes: ["/srv/project:/app:ro", "/srv/data:/data"], memory: "1g" },
      { image: "deployment:2", volumes: ["/srv/other:/app"] },
      { cpus: 2, volumes: ["/tmp/cache:/cache"] },
    );
    expect(merged).toEqual({ image: "deployment:2", pull: "missing", memory: "1g", cpus: 2, volumes: ["/srv/data:/data", "/srv/other:/app", "/tmp/cache:/cache"] });
  });

  it("containerSettings: host network and missing pull by default, limits in Docker's units, no image named", () => {
    expect(containerSettings({ image: "x:1" })).toEqual({ image: "x:1", pull: "missing", hostConfig: { NetworkMode: "host", Binds: [] } });
    const { hostConfig } = containerSettings({ image: "x:1", cpus: 1.5, memory: "256m", gpus: "all", network: "none", volumes: ["/a:/b:ro"] });
    expect(hostConfig).toEqual({ NetworkMode: "none", Binds: ["/a:/b:ro"], NanoCpus: 1.5e9, Memory: 256 * 1024 ** 2, DeviceRequests: [{ Driver: "", Count: -1, Capabilities: [["gpu"]] }] });
    expect(() => containerSettings({})).toThrow(/needs the job variable image \(baton work-pool create POOL --type docker --image IMAGE\)/);
  });

  it("the API schema takes what compileJobVariables takes, and refuses a bad pull policy", () => {
    const input = { image: "node:22", volumes: ["/a:/b:ro"], cpus: 0.5, memory: "2g", gpus: 1, network: "host", pull: "always" };
    expect(JobVariablesSchema.parse(input)).toEqual(input);
    expect(JobVariablesSchema.safeParse({ pull: "sometimes" }).success).toBe(false);
    expect(JobVariablesSchema.safeParse({ volumes: ["relative:/b"] }).success).toBe(false);
  });
});

describe("environment variables that change how a run's process loads code", () => {
  it.each([
    "NODE_OPTIONS", "NODE_PATH", "NODE_EXTRA_CA_CERTS", "NODE_REPL_EXTERNAL_MODULE", "NODE_TLS_REJECT_UNAUTHORIZED", "NODE_COMPILE_CACHE",
    "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH", "GCONV_PATH",
    "TSX_TSCONFIG_PATH", "BATON_DATABASE_URL", "BATON_API_URL", "BATON_WORKER_ID", "BATON_TEST_INLINE_RUNS",
    "node_options", "Ld_Preload", // Windows reads names in any case
  ])("refuses %s unless the pool allows it", (name) => {
    expect(runtimeEnvReason(name)).toEqual(expect.any(String));
    expect(refusedEnvName({ SAFE: "1", [name]: "x" }, [])).toBe(name);
    expect(refusedEnvName({ [name]: "x" }, [name.toUpperCase()])).toBeNull();
  });

  it.each(["NODE_ENV", "PATH", "HOME", "PYTHONPATH", "LANG", "TZ", "MY_NODE_OPTIONS", "NODEJS_HOME", "BATONS"])("lets %s through", (name) => {
    expect(runtimeEnvReason(name)).toBeNull();
    expect(refusedEnvName({ [name]: "x" }, [])).toBeNull();
  });

  it("allows by name or by PREFIX_* pattern, and only what is listed", () => {
    const env = { NODE_OPTIONS: "--max-old-space-size=4096", NODE_PATH: "/opt/lib" };
    expect(refusedEnvName(env, ["NODE_OPTIONS"])).toBe("NODE_PATH");
    expect(refusedEnvName(env, ["NODE_*"])).toBeNull();
    expect(refusedEnvName(env, ["NODE_OPT*", "NODE_PATH"])).toBeNull();
    expect(refusedEnvName({ LD_PRELOAD: "x" }, ["NODE_*", "LD_LIBRARY_PATH"])).toBe("LD_PRELOAD");
    expect(refusedEnvName(undefined, [])).toBeNull();
  });

  it("compileJobVariables refuses them, naming the field, the reason and how the pool allows them", () => {
    expect(() => compileJobVariables({ env: { NODE_OPTIONS: "--import=./x.mjs" } }, "deployments.0.job_variables", { name: "gpu", allowEnv: [] })).toThrow(
      'deployments.0.job_variables.env.NODE_OPTIONS is refused: Node.js reads it (NODE_OPTIONS can load any module, NODE_PATH moves imports, NODE_EXTRA_CA_CERTS changes whom TLS trusts); work pool "gpu" does not allow it (allow it with baton work-pool create gpu --allow-env NODE_OPTIONS, or allowEnv in POST /api/work-pools)',
    );
    expect(() => compileJobVariables({ env: { BATON_API_URL: "http://elsewhere" } })).toThrow(/^job_variables\.env\.BATON_API_URL is refused: Baton's own settings .*; only a run of a work pool that allows it may set it/);
    expect(compileJobVariables({ env: { NODE_OPTIONS: "--max-old-space-size=4096" } }, "job_variables", { name: "gpu", allowEnv: ["NODE_OPTIONS"] })).toEqual({ env: { NODE_OPTIONS: "--max-old-space-size=4096" } });
  });

  it("compileAllowEnv takes names and PREFIX_* patterns, naming a bad entry", () => {
    expect(compileAllowEnv(["NODE_OPTIONS", "LD_*"])).toEqual(["NODE_OPTIONS", "LD_*"]);
    expect(compileAllowEnv(undefined)).toEqual([]);
    expect(() => compileAllowEnv("NODE_OPTIONS")).toThrow(/allowEnv must be a list/);
    expect(() => compileAllowEnv(["OK", "*"], "--allow-env")).toThrow(/--allow-env\[1\] must be an environment variable name or a PREFIX_\* pattern, got "\*"/);
    expect(() => compileAllowEnv(["A*B"])).toThrow(/allowEnv\[0\]/);
  });
});
