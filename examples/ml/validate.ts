/**
 * Validation of the weather CSV before anything trains or scores on it: the schema (columns and
 * types), ranges (temperatures in [-30, 50] °C, precipitation and wind ≥ 0, temp_max ≥
 * temp_min) and missing values. Any problem stops the pipeline: a model trained on part of a
 * broken file is worse than no new model, so nothing is silently dropped.
 */
import { NonRetryableError } from "../../src/index.ts";
import { WEATHER_CLASSES, type WeatherClass, type WeatherRow } from "./weather.ts";

export const REQUIRED_COLUMNS = ["date", "precipitation", "temp_max", "temp_min", "wind", "weather"] as const;
type Column = (typeof REQUIRED_COLUMNS)[number];

/** Plausible ranges for Seattle: outside them a value is a unit or entry error, not weather. */
export const RANGES: Readonly<Record<Exclude<Column, "date" | "weather">, readonly [number, number, string]>> = {
  precipitation: [0, 500, "mm"],
  temp_max: [-30, 50, "°C"],
  temp_min: [-30, 50, "°C"],
  wind: [0, 60, "m/s"],
};

export interface DataProblem {
  column: string;
  problem: string;
  /** CSV line numbers (the header is line 1), the first few. */
  lines: number[];
  count: number;
}

/** The data set failed validation; `problems` says where, one entry per column and kind. */
export class WeatherDataError extends NonRetryableError {
  override name = "WeatherDataError";
  constructor(
    readonly source: string,
    readonly problems: DataProblem[],
  ) {
    super(`${source} failed validation:\n${problems.map(describe).join("\n")}`);
  }
}

const SHOWN_LINES = 5;

function describe(p: DataProblem): string {
  if (!p.lines.length) return `- ${p.column}: ${p.problem}`;
  const more = p.count > p.lines.length ? `, … ${p.count - p.lines.length} more` : "";
  return `- ${p.column}: ${p.problem} on ${p.count} row(s) (line ${p.lines.join(", ")}${more})`;
}

/** Typed rows of a parsed CSV, or a `WeatherDataError` naming every column and problem found. */
export function validateWeather(records: readonly Record<string, string>[], source: string): WeatherRow[] {
  if (records.length === 0) throw new WeatherDataError(source, [{ column: "(all)", problem: "the data set has no rows", lines: [], count: 0 }]);
  const header = Object.keys(records[0]!);
  const missing = REQUIRED_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length)
    throw new WeatherDataError(
      source,
      missing.map((c) => ({ column: c, problem: `missing column (the schema is ${REQUIRED_COLUMNS.join(", ")}; found ${header.join(", ")})`, lines: [], count: 0 })),
    );

  const found = new Map<string, DataProblem>();
  const report = (column: string, problem: string, line: number) => {
    const key = `${column}\u0000${problem}`;
    const p = found.get(key) ?? { column, problem, lines: [], count: 0 };
    if (p.lines.length < SHOWN_LINES) p.lines.push(line);
    p.count++;
    found.set(key, p);
  };
  const rows: WeatherRow[] = [];
  records.forEach((r, i) => {
    const line = i + 2;
    let ok = true;
    const fail = (column: string, problem: string) => {
      report(column, problem, line);
      ok = false;
    };
    for (const c of REQUIRED_COLUMNS) if ((r[c] ?? "").trim() === "") fail(c, "missing value");
    const numbers = {} as Record<keyof typeof RANGES, number>;
    for (const [c, [min, max, unit]] of Object.entries(RANGES) as [keyof typeof RANGES, readonly [number, number, string]][]) {
      const text = (r[c] ?? "").trim();
      if (text === "") continue;
      const v = Number(text);
      if (!Number.isFinite(v)) fail(c, "not a number (type: number)");
      else if (v < min || v > max) fail(c, `value outside [${min}, ${max}] ${unit}`);
      numbers[c] = v;
    }
    const date = (r.date ?? "").trim();
    if (date && (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date)))) fail("date", "not a date (type: YYYY-MM-DD)");
    const weather = (r.weather ?? "").trim();
    if (weather && !WEATHER_CLASSES.includes(weather as WeatherClass)) fail("weather", `unknown class (expected ${WEATHER_CLASSES.join(", ")})`);
    if (ok && numbers.temp_max < numbers.temp_min) fail("temp_max", "below temp_min");
    if (ok) rows.push({ date, precipitation: numbers.precipitation, tempMax: numbers.temp_max, tempMin: numbers.temp_min, wind: numbers.wind, weather: weather as WeatherClass });
  });
  if (found.size) throw new WeatherDataError(source, [...found.values()]);
  return rows;
}
