/**
 * What the weather example shows in the dashboard, as plain strings: a confusion matrix in
 * markdown and small SVG charts (per-class F1 bars; a feature's distribution, reference against
 * current). Hand-written SVG: a chart library would be the biggest dependency of the example.
 */
import { WEATHER_CLASSES, type WeatherClass } from "./weather.ts";

/** A markdown table: one row per actual class, one column per predicted class. */
export function confusionMarkdown(confusion: readonly (readonly number[])[], title: string): string {
  const head = `| actual \\ predicted | ${WEATHER_CLASSES.join(" | ")} |`;
  const rule = `|---|${WEATHER_CLASSES.map(() => "---:").join("|")}|`;
  const rows = WEATHER_CLASSES.map((c, i) => `| **${c}** | ${(confusion[i] ?? []).map((n, j) => (i === j ? `**${n}**` : String(n))).join(" | ")} |`);
  return [`### ${title}`, "", head, rule, ...rows].join("\n");
}

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);

/** Horizontal bars of each class's F1 (0..1); a class without one shows "n/a". */
export function f1BarsSvg(f1ByClass: Readonly<Record<WeatherClass, number | null>>, title: string): string {
  const width = 420;
  const left = 70;
  const barWidth = width - left - 50;
  const rowHeight = 26;
  const top = 34;
  const height = top + rowHeight * WEATHER_CLASSES.length + 10;
  const bars = WEATHER_CLASSES.map((c, i) => {
    const y = top + i * rowHeight;
    const f1 = f1ByClass[c];
    const w = f1 === null ? 0 : Math.max(1, Math.round(f1 * barWidth));
    return (
      `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${c}</text>` +
      `<rect x="${left}" y="${y + 4}" width="${w}" height="16" fill="#4c78a8"/>` +
      `<text x="${left + w + 6}" y="${y + 16}">${f1 === null ? "n/a" : f1.toFixed(2)}</text>`
    );
  }).join("");
  return svg(width, height, title, bars);
}

/** Two histograms on shared bins: the reference's and the current data's share per bin. */
export function distributionSvg(reference: readonly number[], current: readonly number[], title: string, unit: string, bins = 12): string {
  const all = [...reference, ...current];
  const min = Math.min(...all);
  const max = Math.max(...all);
  const step = (max - min) / bins || 1;
  const shares = (values: readonly number[]) => {
    const counts = Array<number>(bins).fill(0);
    for (const v of values) counts[Math.min(bins - 1, Math.floor((v - min) / step))]!++;
    return counts.map((n) => n / Math.max(1, values.length));
  };
  const ref = shares(reference);
  const cur = shares(current);
  const width = 480;
  const height = 240;
  const left = 40;
  const bottom = height - 30;
  const plotHeight = bottom - 40;
  const binWidth = (width - left - 10) / bins;
  const peak = Math.max(...ref, ...cur) || 1;
  const bar = (share: number, i: number, offset: number, color: string) => {
    const h = Math.round((share / peak) * plotHeight);
    return `<rect x="${(left + i * binWidth + offset).toFixed(1)}" y="${bottom - h}" width="${(binWidth / 2 - 1).toFixed(1)}" height="${h}" fill="${color}"/>`;
  };
  const bars = ref.map((s, i) => bar(s, i, 0, "#4c78a8") + bar(cur[i]!, i, binWidth / 2, "#f58518")).join("");
  const axis =
    `<line x1="${left}" y1="${bottom}" x2="${width - 10}" y2="${bottom}" stroke="#888"/>` +
    `<text x="${left}" y="${bottom + 18}">${min.toFixed(1)} ${escapeXml(unit)}</text>` +
    `<text x="${width - 10}" y="${bottom + 18}" text-anchor="end">${max.toFixed(1)} ${escapeXml(unit)}</text>` +
    `<rect x="${width - 170}" y="28" width="10" height="10" fill="#4c78a8"/><text x="${width - 155}" y="37">reference</text>` +
    `<rect x="${width - 85}" y="28" width="10" height="10" fill="#f58518"/><text x="${width - 70}" y="37">current</text>`;
  return svg(width, height, title, bars + axis);
}

function svg(width: number, height: number, title: string, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">` +
    `<rect width="100%" height="100%" fill="#fff"/><text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>${body}</svg>`
  );
}
