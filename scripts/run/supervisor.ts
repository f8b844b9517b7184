// Runs critsvc's processes as children with readable, prefixed logs; restarts one that dies
// (as Kubernetes would) and stops them all cleanly on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { build, distArgs } from './build.ts';

/**
 * The image's heap setting: the old generation gets half of the container's memory limit (Node 24
 * reads the cgroup's limit), young generation semi-spaces of 2 MB. Without a limit V8 sizes the
 * heap for the machine and the RSS follows (bench/results/README.md).
 */
export const HEAP_PERCENT = 50;
export const IMAGE_NODE_OPTIONS = `--max-semi-space-size=2 --max-old-space-size-percentage=${HEAP_PERCENT}`;

/** deploy/workers.yaml's memory limits, in MiB (deploy.test checks they agree). */
export const DEPLOY_MEMORY_MIB: Record<App, number> = {
  'watcher-services': 192,
  'watcher-pods': 256,
  'watcher-crds': 192,
  handler: 384,
  dashboard: 192,
};

/** Outside a container: the heap the image would get under deploy/'s limit, as a fixed size. */
export function localNodeOptions(app: App): string {
  return `--max-semi-space-size=2 --max-old-space-size=${Math.floor((DEPLOY_MEMORY_MIB[app] * HEAP_PERCENT) / 100)}`;
}

/** The default NODE_OPTIONS of the handler (what the bench's reports name). */
export const DEFAULT_NODE_OPTIONS = localNodeOptions('handler');

export const APPS = ['watcher-services', 'watcher-pods', 'watcher-crds', 'handler', 'dashboard'] as const;
export type App = (typeof APPS)[number];

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[34m', '\x1b[32m', '\x1b[33m'];
const LEVEL_COLOR: Record<string, string> = {
  error: '\x1b[31m',
  fatal: '\x1b[31m',
  warn: '\x1b[33m',
  info: '',
  debug: '\x1b[90m',
  trace: '\x1b[90m',
};
const RESET = '\x1b[0m';
const SKIP = new Set(['level', 'time', 'msg', 'name', 'process', 'pid', 'hostname']);

/** One pino JSON line → "12:00:01 INFO  handler          default pod created svc=ns/frontend". */
export function formatLine(app: string, line: string, color: boolean, width = 16): string {
  const paint = (c: string, s: string): string => (color && c ? `${c}${s}${RESET}` : s);
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${paint(COLORS[APPS.indexOf(app as App)] ?? '', app.padEnd(width))} ${line}`;
  }
  const time = typeof obj.time === 'string' ? obj.time.slice(11, 19) : '';
  const level = String(obj.level ?? 'info');
  const fields = Object.entries(obj)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${paint(LEVEL_COLOR[level] ?? '', level.toUpperCase().padEnd(5))} ${paint(COLORS[APPS.indexOf(app as App)] ?? '', app.padEnd(width))} ${String(obj.msg ?? '')}${fields ? ` ${paint('\x1b[90m', fields)}` : ''}`;
}

export interface SupervisorOptions {
  root: string;
  env: Record<string, string>;
  /** Per-process additions to env (e.g. distinct HTTP ports). */
  envFor?: (app: App) => Record<string, string>;
  apps?: readonly App[];
  /**
   * Run each process in a memory cgroup of its own with this limit in MiB (root, cgroup v1 or v2),
   * as a container runs: Node sizes its heap from it (IMAGE_NODE_OPTIONS) and the kernel kills a
   * process that outgrows it. Without it, the heap is capped to the same size (localNodeOptions).
   */
  memoryLimitMib?: (app: App) => number;
  /** Raw JSON logs instead of the readable form. */
  json?: boolean;
  /** Bring dist/ up to date before the first start (default true; scripts/run/build.ts). */
  build?: boolean;
  out?: (line: string) => void;
}

export class Supervisor {
  private readonly children = new Map<App, ChildProcess>();
  private stopping = false;
  private readonly restarts = new Map<App, number>();
  private readonly o: SupervisorOptions;
  private readonly listeners: ((app: App, obj: Record<string, unknown>) => void)[] = [];
  private readonly cgroups = new Map<App, { dir: string; peakFile: string }>();

  constructor(o: SupervisorOptions) {
    this.o = o;
  }

  /** How many times a process died and was started again (an OOM kill among them). */
  restartCount(app: App): number {
    return this.restarts.get(app) ?? 0;
  }

  /** The cgroup a process runs in (memoryLimitMib), for its peak memory. */
  cgroupOf(app: App): { dir: string; peakFile: string } | undefined {
    return this.cgroups.get(app);
  }

  pid(app: App): number | undefined {
    return this.children.get(app)?.pid;
  }

  onLog(fn: (app: App, obj: Record<string, unknown>) => void): void {
    this.listeners.push(fn);
  }

  /** Runs the built JavaScript (brought up to date first), not the sources: no type stripper loaded. */
  start(): void {
    if (this.o.build !== false) build(this.o.root);
    for (const app of this.o.apps ?? APPS) this.spawn(app);
  }

  private spawn(app: App): void {
    const limit = this.o.memoryLimitMib?.(app);
    const cgroup = limit === undefined ? undefined : memoryCgroup(`${app}-${process.pid}`, limit);
    if (cgroup) this.cgroups.set(app, cgroup);
    const env = {
      NODE_OPTIONS: cgroup ? IMAGE_NODE_OPTIONS : localNodeOptions(app),
      ...this.o.env,
      ...this.o.envFor?.(app),
    };
    const argv = [process.execPath, ...distArgs(this.o.root, app)];
    // In its cgroup before Node starts: V8 sizes the heap at start-up.
    const [cmd, ...args] = cgroup ? ['/bin/sh', '-c', `echo $$ > '${cgroup.procs}' && exec "$0" "$@"`, ...argv] : argv;
    const child = spawn(cmd ?? process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.set(app, child);
    const out = this.o.out ?? ((l: string) => console.log(l));
    const color = !this.o.json && process.stdout.isTTY;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        out(this.o.json ? line : formatLine(app, line, color));
        try {
          const obj = JSON.parse(line) as Record<string, unknown>;
          for (const l of this.listeners) l(app, obj);
        } catch {
          // not a log object
        }
      });
    }
    child.on('exit', (code, signal) => {
      if (this.stopping) return;
      const n = (this.restarts.get(app) ?? 0) + 1;
      this.restarts.set(app, n);
      const delay = Math.min(30_000, 500 * 2 ** Math.min(n, 6));
      out(`${app} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
      setTimeout(() => {
        if (!this.stopping) this.spawn(app);
      }, delay).unref();
    });
  }

  /** SIGTERM to each, SIGKILL after the grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.children.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
            c.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  }
}

/**
 * A memory cgroup with this limit (cgroup v2, else v1's memory controller), or undefined where
 * none can be made (not root, no cgroup fs). Left behind empty on exit; made again per run.
 */
export function memoryCgroup(
  name: string,
  limitMib: number,
): { dir: string; procs: string; peakFile: string } | undefined {
  const bytes = String(limitMib * 2 ** 20);
  try {
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      const dir = `/sys/fs/cgroup/critsvc-${name}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/memory.max`, bytes);
      return { dir, procs: `${dir}/cgroup.procs`, peakFile: `${dir}/memory.peak` };
    }
    const dir = `/sys/fs/cgroup/memory/critsvc-${name}`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/memory.limit_in_bytes`, bytes);
    return { dir, procs: `${dir}/cgroup.procs`, peakFile: `${dir}/memory.max_usage_in_bytes` };
  } catch {
    return undefined;
  }
}
