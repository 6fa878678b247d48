/** Setup of every test file: processes a test started and left running are killed at its end. */
import { afterAll } from "vitest";
import { killStartedProcesses } from "./processes.ts";

afterAll(async () => {
  await killStartedProcesses();
});
