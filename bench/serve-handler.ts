/** The `baton model serve --handler` of bench/serve.ts: a version's value is `{ factor }`. */
export function load(value: { factor: number }): number {
  return value.factor;
}

export function predict(factor: number, inputs: number[]): number[] {
  return inputs.map((x) => x * factor);
}
