// The process's monotonic clock, for durations and cache ages: immune to wall-clock jumps (NTP,
// manual changes), which Date.now() is not. Never for timestamps shown to anyone.
export function monotonicMs(): number {
  return performance.now();
}
