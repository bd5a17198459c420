export interface BenchResult {
  /** What was measured, e.g. "tail → OCSF → file sink". */
  name: string;
  value: number;
  /** e.g. "events/s", "MB", "cpu-s per 1M events". */
  unit: string;
}

export interface BenchSuite {
  suite: string;
  run(): Promise<BenchResult[]>;
}
