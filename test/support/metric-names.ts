// The metric names a PromQL expression uses, and which of them a set of /metrics scrapes lacks.
/** critsvc_* names in the expression (label values and strings are not names, but critsvc_ ones never appear there). */
export function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\bcritsvc_[a-z0-9_]+\b/g) ?? [])];
}

/** name → type, from the `# TYPE` lines of Prometheus text exposition (present even before a labelled metric has a sample). */
export function exportedTypes(scrapes: string[]): Map<string, string> {
  const types = new Map<string, string>();
  for (const text of scrapes)
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1] ?? '', m[2] ?? '');
  return types;
}

/** The names used that no scrape exports (a histogram's _bucket, _sum and _count are its own). */
export function missingMetrics(used: Iterable<string>, types: ReadonlyMap<string, string>): string[] {
  const missing: string[] = [];
  for (const name of used) {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const ok = types.has(name) || (base !== name && ['histogram', 'summary'].includes(types.get(base) ?? ''));
    if (!ok) missing.push(name);
  }
  return missing.sort();
}
