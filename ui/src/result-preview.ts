/** Results as the pages show them: a readable preview of a stored (devalue) value. */

/** A readable preview of a devalue-serialised result (its flat table of values, first 2,000 characters). */
export function summarise(text: string): string {
  try {
    const table = JSON.parse(text) as unknown[];
    const resolve = (i: number, depth: number): unknown => {
      const v = table[i];
      if (depth > 6 || v === null || typeof v !== "object") return v;
      if (Array.isArray(v)) return typeof v[0] === "string" && /^[A-Z]/.test(v[0]) ? `${v[0]}(${String(v[1])})` : v.map((x) => (typeof x === "number" ? resolve(x, depth + 1) : x));
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === "number" ? resolve(x, depth + 1) : x]));
    };
    const out = JSON.stringify(resolve(0, 0), null, 2);
    return out.length > 2000 ? `${out.slice(0, 2000)}…` : out;
  } catch {
    return text.slice(0, 2000);
  }
}
