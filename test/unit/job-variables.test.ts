/** Job variables: validation that names the field, the pool <- deployment <- run merge, and the variables a pool must allow. */
import { describe, expect, it } from "vitest";
import { compileAllowEnv, compileJobVariables, mergeJobVariables, refusedEnvName, runtimeEnvReason } from "../../src/core/job-variables.ts";

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
    [{ image: "x" }, /job_variables has an unknown field "image"/],
  ])("rejects %j", (input, message) => {
    expect(() => compileJobVariables(input)).toThrow(message);
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
