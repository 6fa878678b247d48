// autocannon ships no types; the benchmark uses a small part of its result.
declare module "autocannon" {
  interface Result {
    requests: { average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
  }
  export default function autocannon(options: { url: string; connections?: number; duration?: number }): Promise<Result>;
}
