// autocannon 8 ships no types; only what the bench uses is declared.
declare module 'autocannon' {
  type Request = {
    method?: string;
    path?: string;
    body?: string;
    headers?: Record<string, string>;
    onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
  };
  type Histogram = { p50: number; p99: number; max: number; average: number };
  type Result = {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    requests: { total: number; average: number };
    latency: Histogram;
  };
  function autocannon(options: {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    requests?: Request[];
  }): Promise<Result>;
  export default autocannon;
}
