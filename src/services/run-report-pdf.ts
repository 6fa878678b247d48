/**
 * A compliance report as a PDF (pdfkit). Deterministic: the document's dates are the run's
 * creation time rather than now (pdfkit derives the file's ID from them), the fonts are the
 * standard ones (not embedded, so no subset names vary), and nothing else reads the clock.
 */
import PDFDocument from "pdfkit";
import type { RunReport } from "../schemas/run-report.ts";
import { duration, triggerText, utc } from "./run-report-markdown.ts";

const BODY = "Helvetica";
const BOLD = "Helvetica-Bold";
const MONO = "Courier";

export function renderRunReportPdf(r: RunReport): Promise<Buffer> {
  const fixed = new Date(r.run.createdAt);
  const doc = new PDFDocument({
    size: "A4",
    margin: 48,
    compress: true,
    info: { Title: `Compliance report: flow run ${r.run.name}`, Author: "Baton", Creator: "Baton", Producer: "Baton", CreationDate: fixed, ModDate: fixed },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on("data", (chunk: Buffer) => chunks.push(chunk));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
  });

  const heading = (text: string) => doc.moveDown(0.6).font(BOLD).fontSize(12).text(text).moveDown(0.2);
  const field = (label: string, value: string, mono = false) => {
    doc.font(BOLD).fontSize(9).text(`${label}: `, { continued: true });
    doc.font(mono ? MONO : BODY).fontSize(mono ? 8 : 9).text(value);
  };
  const para = (text: string, mono = false) => doc.font(mono ? MONO : BODY).fontSize(mono ? 8 : 9).text(text);

  doc.font(BOLD).fontSize(16).text(`Compliance report: flow run ${r.run.name}`);
  doc.moveDown(0.3);
  field("Run", r.run.id, true);
  field("Flow", r.run.flowName);
  field("State", r.run.state.name);
  field("Tags", r.run.tags.join(", ") || "—");
  field("Created", utc(r.run.createdAt));
  field("Started", utc(r.run.startTime));
  field("Ended", utc(r.run.endTime));
  field("Duration", duration(r.run.durationMs));
  field("Attempts", `${r.run.runCount} (deployment retries used: ${r.run.retriesUsed})`);
  field("Work pool / queue", `${r.run.workPool ?? "—"} / ${r.run.workQueue ?? "—"}`);

  heading("Started by");
  para(triggerText(r));
  if (r.trigger.detail) para(JSON.stringify(r.trigger.detail, null, 2), true);

  heading("Deployment and source");
  if (r.deployment) {
    field("Deployment", `${r.deployment.name ?? "(deleted)"} (${r.deployment.id})`);
    field("Flow version", r.deployment.flowVersion ?? "—");
    field("Entrypoint", r.deployment.entrypoint ?? "—", true);
  } else para("Not a deployment's run.");
  if (r.source) {
    field("Source sha256", r.source.sourceSha256, true);
    field("Lock file", r.source.lockFile ? `${r.source.lockFile} sha256 ${r.source.lockSha256}` : "none found", true);
    field("Recorded", utc(r.source.recordedAt));
  } else para("Source hashes: not recorded (the run was not started by a worker).");

  heading("Parameters");
  field("sha256 (canonical JSON)", r.parametersSha256, true);
  para(JSON.stringify(r.parameters ?? null, null, 2), true);

  heading(`Tasks (${r.tasks.length})`);
  for (const t of r.tasks) {
    doc.font(BOLD).fontSize(9).text(`${t.taskKey} — ${t.state.name}, ${t.attempts} attempt${t.attempts === 1 ? "" : "s"}, ${duration(t.durationMs)} from ${utc(t.startTime)}`);
    for (const i of t.inputs) para(`  in  ${i.taskKey ?? i.upstreamTaskRunId}: ${i.sha256 ?? "—"}`, true);
    if (t.output) para(`  out ${t.output.sha256 ?? "—"} (${t.output.size} B)`, true);
    if (t.cacheKey) para(`  cache key ${t.cacheKey}`, true);
    if (t.error) para(`  error: ${t.error.slice(0, 300)}`);
  }

  heading("State history");
  for (const s of r.stateHistory) para(`${utc(s.timestamp)}  ${s.name}${s.message ? ` — ${s.message}` : ""}`);

  heading(`Audit trail (${r.audit.entries.length} entries)`);
  for (const e of r.audit.entries)
    para(`#${e.seq} ${utc(e.at)}  ${e.actor.name} (${e.actor.kind}${e.actor.role ? `, ${e.actor.role}` : ""})  ${e.action}  ${e.outcome}${e.status === null ? "" : ` ${e.status}`}  ${e.clientIp ?? ""}  ${e.requestId ?? ""}`);
  const chain = r.audit.chain;
  doc.moveDown(0.4);
  doc.font(BOLD).fontSize(10).text(chain.ok ? `Audit chain verifies from its first row${chain.throughSeq === null ? "" : ` through row ${chain.throughSeq}`}.` : `Audit chain BROKEN at row ${chain.broken?.seq}: ${chain.broken?.reason ?? ""}`);
  doc.end();
  return done;
}
