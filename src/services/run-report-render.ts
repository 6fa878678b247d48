/** A compliance report (run-report.ts) rendered as JSON, Markdown (run-report-markdown.ts) or PDF (run-report-pdf.ts): the same report, the same bytes. */
import type { RunReport, RunReportFormat } from "../schemas/run-report.ts";
import { renderRunReportMarkdown } from "./run-report-markdown.ts";

export interface RenderedReport {
  contentType: string;
  body: string | Buffer;
  /** A file name for a download. */
  fileName: string;
}

export async function renderRunReport(report: RunReport, format: RunReportFormat): Promise<RenderedReport> {
  const base = `baton-run-${report.run.id}-report`;
  switch (format) {
    case "json":
      return { contentType: "application/json; charset=utf-8", body: `${JSON.stringify(report, null, 2)}\n`, fileName: `${base}.json` };
    case "md":
      return { contentType: "text/markdown; charset=utf-8", body: renderRunReportMarkdown(report), fileName: `${base}.md` };
    case "pdf":
      // pdfkit and its font libraries load only when a PDF is asked for, not with every CLI call.
      return { contentType: "application/pdf", body: await (await import("./run-report-pdf.ts")).renderRunReportPdf(report), fileName: `${base}.pdf` };
  }
}
