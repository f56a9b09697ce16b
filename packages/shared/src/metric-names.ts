// Prometheus names a series `_total` only when it is a counter (promtool check metrics
// refuses anything else). prom-client's default process metrics break that rule three
// times: nodejs_active_{handles,requests,resources}_total are gauges. Each is the sum of a
// by-type gauge it also registers (nodejs_active_handles{type} …), so dropping the `_total`
// copy loses nothing: `sum(drover_nodejs_active_handles)` gives the same number.

/** The part of a prom-client registry this module needs (shared does not depend on prom-client). */
export interface MetricRegistry {
  getMetricsAsArray(): ReadonlyArray<{ readonly name: string; readonly type?: unknown }>;
  removeSingleMetric(name: string): void;
}

/** Removes every non-counter metric whose name ends in `_total`; returns the names removed. */
export function dropMisnamedTotals(registry: MetricRegistry): string[] {
  const misnamed = registry
    .getMetricsAsArray()
    .filter((m) => m.name.endsWith('_total') && m.type !== 'counter')
    .map((m) => m.name);
  for (const name of misnamed) registry.removeSingleMetric(name);
  return misnamed;
}
