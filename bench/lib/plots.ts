// The bench's figures as SVG plots (Vega-Lite compiled to Vega, rendered headless in Node: no
// browser, no canvas): the idle failover's percentiles of critsvc beside the floors, the outage
// window cold vs hot standby, and memory and start time against pod count (the scale curve).
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { PositionDef } from 'vega-lite/types_unstable/channeldef.js';
import type { FacetedUnitSpec } from 'vega-lite/types_unstable/spec/unit.js';
import type { CurveStep, IdleResult, StandbyResult } from './report.ts';
import type { Summary } from './stats.ts';

/** What a bench JSON (bench/results/<name>.json) holds that the plots read. */
export interface PlotInput {
  date: string;
  machine: { cores: number; cpu: string; memoryGiB: number };
  idle?: IdleResult | undefined;
  standby?: StandbyResult | undefined;
  curve?: CurveStep[] | undefined;
}

export interface Plot {
  /** failover, standby, curve: the file is <report>-<name>.svg. */
  name: string;
  svg: string;
}

const QUANTILES = ['p50', 'p95', 'p99', 'max'] as const;

function quantileRows(
  series: string,
  run: number,
  s: Summary,
): { series: string; run: string; q: string; ms: number }[] {
  return QUANTILES.map((q) => ({ series, run: `run ${run + 1}`, q, ms: s[q] }));
}

function subtitle(r: PlotInput, what: string): string {
  return `${r.date.slice(0, 10)}, ${r.machine.cores} cores ${r.machine.cpu}, ${what}`;
}

/** One line chart with its points: y against x, a line per `color` value (and per `dash`, the runs). */
function lines(
  values: object[],
  x: PositionDef<string>,
  y: PositionDef<string>,
  color: string,
  size: { width: number; height: number },
  dash?: string,
): FacetedUnitSpec<string> & { data: { values: object[] } } {
  return {
    ...size,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x,
      y,
      color: { field: color, type: 'nominal', title: null, legend: { labelLimit: 320 } },
      ...(dash ? { strokeDash: { field: dash, type: 'nominal', title: null } } : {}),
    },
  };
}

const BY_QUANTILE: PositionDef<string> = {
  field: 'q',
  type: 'ordinal',
  sort: [...QUANTILES],
  title: 'percentile',
  axis: { labelAngle: 0 },
};
const WIDE = { width: 420, height: 260 };
const HALF = { width: 420, height: 200 };

/** The idle failover (last real pod's DELETE → the default pod's ADDED): critsvc and the floors, each run. */
export function failoverSpec(r: PlotInput & { idle: IdleResult }): TopLevelSpec {
  const rows = r.idle.rounds.flatMap((round, i) => [
    ...quantileRows('critsvc', i, round.critsvc.failover),
    ...quantileRows('floor: a bare reactor', i, round.floor.failover),
    ...quantileRows('floor through client-node', i, round.floorClientNode.failover),
  ]);
  const n = r.idle.rounds[0]?.critsvc.failover.n ?? 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Idle failover', subtitle: subtitle(r, `${n} trials per run`) },
    ...lines(rows, BY_QUANTILE, { field: 'ms', type: 'quantitative', title: 'ms' }, 'series', WIDE, 'run'),
  };
}

/** The outage window (no ready endpoint), cold (a default pod created) vs hot standby (a warm pod promoted). */
export function standbySpec(r: PlotInput & { standby: StandbyResult }): TopLevelSpec {
  const rows = r.standby.runs.flatMap((run, i) => [
    ...quantileRows('cold: default pod created', i, run.cold.window),
    ...quantileRows('hot standby: warm pod promoted', i, run.hot.window),
  ]);
  const n = r.standby.runs[0]?.cold.window.n ?? 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Outage window, cold vs hot standby',
      subtitle: subtitle(r, `default pods take ${r.standby.startDelay} to start, ${n} trials per run`),
    },
    ...lines(
      rows,
      BY_QUANTILE,
      { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'ms (log scale)' },
      'series',
      WIDE,
      'run',
    ),
  };
}

/** Memory (RSS per process) and start time against pod count. */
export function curveSpec(r: PlotInput & { curve: CurveStep[] }): TopLevelSpec {
  const steps = r.curve.filter((s) => s.error === undefined);
  const rss = steps.flatMap((s) => Object.entries(s.rss).map(([process, mb]) => ({ pods: s.pods, process, mb })));
  const ready = steps.flatMap((s) => [
    { pods: s.pods, what: 'handler ready', s: s.handlerReadyS },
    { pods: s.pods, what: 'watchers ready', s: s.watchersReadyS },
    { pods: s.pods, what: 'queue drained', s: s.drainedS },
  ]);
  const x: PositionDef<string> = { field: 'pods', type: 'quantitative', title: 'pods' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Memory and start time against pod count', subtitle: subtitle(r, 'one start per step') },
    resolve: { scale: { color: 'independent' } },
    vconcat: [
      lines(rss, x, { field: 'mb', type: 'quantitative', title: 'RSS (MB)' }, 'process', HALF),
      lines(ready, x, { field: 's', type: 'quantitative', title: 'seconds from start' }, 'what', HALF),
    ],
  };
}

/** A Vega-Lite spec as SVG text. */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Every plot the result has the data for. */
export async function plots(r: PlotInput): Promise<Plot[]> {
  const out: Plot[] = [];
  if (r.idle?.rounds.length) out.push({ name: 'failover', svg: await toSvg(failoverSpec({ ...r, idle: r.idle })) });
  if (r.standby?.runs.length)
    out.push({ name: 'standby', svg: await toSvg(standbySpec({ ...r, standby: r.standby })) });
  if (r.curve?.some((s) => s.error === undefined))
    out.push({ name: 'curve', svg: await toSvg(curveSpec({ ...r, curve: r.curve })) });
  return out;
}
