// autocannon ships no types; the benchmarks use a small part of its options and result.
declare module "autocannon" {
  interface Result {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number; max: number };
    non2xx: number;
    errors: number;
  }
  export default function autocannon(options: { url: string; connections?: number; duration?: number; method?: string; headers?: Record<string, string>; body?: string }): Promise<Result>;
}
