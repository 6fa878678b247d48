/**
 * The weather model's deployments, served by this one process (Ctrl-C stops it):
 *
 *   train    the search on the reference period (2012)
 *   retrain  the same flow on reference + current data (2012 and 2015): what the drift
 *            automation runs (examples/automations/retrain-on-drift.yaml)
 *   score    batch predictions of 2015 to a CSV
 *   monitor  drift and live metrics of 2015 against 2012, every day at 06:00 UTC
 *
 *   npx baton server start &                                     # automations run in the server
 *   node --import tsx examples/deployments.ts &                  # on the server's database
 *   npx baton automation create -f examples/automations/retrain-on-drift.yaml
 *   npx baton deployment run train --watch
 *   npx baton deployment run monitor --watch                     # drift -> one retrain run
 *
 * Each run starts in a child process that imports the flow's own module, not this file (and a
 * top-level serve() is a no-op inside a run's process).
 */
import { monitor } from "./monitor.ts";
import { score } from "./score.ts";
import { train } from "./train.ts";

export const RETRAIN_YEARS = [2012, 2015];

await Promise.all([
  train.serve({ name: "train", description: "weather model: search on the reference period (2012)" }),
  train.serve({ name: "retrain", parameters: { years: RETRAIN_YEARS }, description: "weather model: search on reference + current data (2012, 2015)" }),
  score.serve({ name: "score", description: "weather model: batch predictions to CSV" }),
  monitor.serve({ name: "monitor", cron: "0 6 * * *", description: "weather model: drift and live metrics of 2015 against 2012" }),
]);
