// The four critsvc processes as separate OS processes, as in production, with their logs kept
// for assertions.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { applyManifests } from '../../scripts/run/environment.ts';
import { inject } from 'vitest';
import { suffix, type Kube } from './kube.ts';
import { eventually } from './wait.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const PROCESSES = ['watcher-services', 'watcher-pods', 'watcher-crds', 'handler'] as const;
export type ProcessName = (typeof PROCESSES)[number];

/**
 * How a process is run. Default: `node apps/<name>/src/main.ts` on this machine; a launcher runs
 * it otherwise (e.g. in a container, test/support/container.ts), in the foreground with its log
 * on stdout, and may deliver signals itself.
 */
export interface Launcher {
  command(name: ProcessName, env: Record<string, string>): { cmd: string; args: string[]; env: NodeJS.ProcessEnv };
  signal?(name: ProcessName, signal: NodeJS.Signals): void;
}

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export class Proc {
  child: ChildProcess | undefined;
  lines: LogLine[] = [];
  raw: string[] = [];
  port: number | undefined;
  exits: (number | null)[] = [];
  private readonly name: ProcessName;
  readonly env: Record<string, string>;
  private readonly launcher: Launcher | undefined;

  constructor(name: ProcessName, env: Record<string, string>, launcher?: Launcher) {
    this.name = name;
    this.env = env;
    this.launcher = launcher;
  }

  start(): void {
    this.port = undefined;
    const { cmd, args, env } = this.launcher?.command(this.name, this.env) ?? {
      cmd: process.execPath,
      args: [join(root, 'apps', this.name, 'src', 'main.ts')],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...this.env },
    };
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let buf = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const line of parts) this.take(line);
    });
    child.stderr
      ?.setEncoding('utf8')
      .on('data', (chunk: string) => this.raw.push(...chunk.split('\n').filter(Boolean)));
    child.on('exit', (code, signal) => {
      this.exits.push(code);
      if (signal) this.raw.push(`(killed by ${signal})`);
    });
  }

  private take(line: string): void {
    this.raw.push(line);
    try {
      const obj = JSON.parse(line) as LogLine;
      this.lines.push(obj);
      if (obj.msg?.startsWith('http endpoint listening') && typeof obj.port === 'number') this.port = obj.port;
    } catch {
      // not JSON: kept in raw
    }
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const send = (s: NodeJS.Signals): void => {
      if (this.launcher?.signal) this.launcher.signal(this.name, s);
      else c.kill(s);
    };
    await new Promise<void>((r) => {
      // A process that ignores SIGTERM must not outlive its test.
      const t = setTimeout(() => send('SIGKILL'), 10_000);
      c.once('exit', () => {
        clearTimeout(t);
        r();
      });
      send(signal);
    });
  }
}

export interface PipelineOptions {
  namespaces: string[];
  /** Every process's REDIS_URL, unless redisUrls gives one of its own. */
  redisUrl: string;
  /** Per-process REDIS_URL (e.g. each with its own ACL user, as deploy/ does). */
  redisUrls?: Partial<Record<ProcessName, string>>;
  /** QUEUE_NAME (default: a fresh one per pipeline); ACL users name their queue's keys. */
  queue?: string;
  templateNamespace: string;
  templateName?: string;
  env?: Record<string, string>;
  /** Per-process kubeconfig (e.g. one per ServiceAccount); default: the admin's. */
  kubeconfigs?: Partial<Record<ProcessName, string>>;
  launcher?: Launcher;
}

export class Pipeline {
  readonly procs: Record<ProcessName, Proc>;
  readonly queue: string;
  /** More replicas started by startReplica (e.g. a second handler), stopped with the rest. */
  readonly replicas: Proc[] = [];
  private readonly launcher: Launcher | undefined;

  private constructor(opts: PipelineOptions) {
    this.queue = opts.queue ?? `critsvc-test-${suffix()}`;
    const env: Record<string, string> = {
      KUBECONFIG: inject('kubeconfig'),
      REDIS_URL: opts.redisUrl,
      QUEUE_NAME: this.queue,
      NAMESPACES: opts.namespaces.join(','),
      POD_TEMPLATE_NAMESPACE: opts.templateNamespace,
      POD_TEMPLATE_NAME: opts.templateName ?? 'critical-service-pod-template',
      LOG_LEVEL: 'debug',
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      TEMPLATE_RETRY_SECONDS: '2',
      STATUS_FLUSH_MS: '200',
      ...opts.env,
    };
    this.launcher = opts.launcher;
    this.procs = Object.fromEntries(
      PROCESSES.map((n) => {
        const kubeconfig = opts.kubeconfigs?.[n];
        const redisUrl = opts.redisUrls?.[n];
        return [
          n,
          new Proc(
            n,
            { ...env, ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}), ...(redisUrl ? { REDIS_URL: redisUrl } : {}) },
            opts.launcher,
          ),
        ];
      }),
    ) as Record<ProcessName, Proc>;
  }

  static async start(opts: PipelineOptions): Promise<Pipeline> {
    const p = new Pipeline(opts);
    for (const name of PROCESSES) p.procs[name].start();
    try {
      await p.waitReady();
    } catch (err) {
      // The caller never gets the pipeline to stop: stop it here, or its processes outlive the test run.
      await p.stop().catch(() => undefined);
      throw err;
    }
    return p;
  }

  /** Every process answers /readyz (the handler only once its state is complete). */
  async waitReady(names: readonly ProcessName[] = PROCESSES, timeoutMs = 30_000): Promise<void> {
    for (const name of names) {
      const proc = this.procs[name];
      try {
        await eventually(
          `${name} ready`,
          async () => {
            const child = proc.child;
            // Gone by an exit code or a signal (an OOM abort, a stray kill): say so now, with its last words.
            if (child && (child.exitCode !== null || child.signalCode !== null))
              throw new Error(`${name} exited ${child.exitCode ?? child.signalCode}: ${proc.raw.slice(-5).join('\n')}`);
            if (!proc.port) return false;
            return (await fetch(`http://127.0.0.1:${proc.port}/readyz`)).ok;
          },
          timeoutMs,
        );
      } catch (err) {
        // A process alive but never ready: its last lines tell why (a list stuck, a connection refused).
        throw new Error(
          `${err instanceof Error ? err.message : String(err)}\n${name}'s last lines:\n${proc.raw.slice(-15).join('\n')}`,
          { cause: err },
        );
      }
    }
  }

  /** Another process of that kind, with the same environment (plus env), as a second replica. */
  startReplica(name: ProcessName, env: Record<string, string> = {}): Proc {
    const proc = new Proc(name, { ...this.procs[name].env, ...env }, this.launcher);
    proc.start();
    this.replicas.push(proc);
    return proc;
  }

  async restart(name: ProcessName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.procs[name].kill(signal);
    this.procs[name].start();
  }

  /** Pauses (SIGSTOP) or resumes (SIGCONT) a process without ending it: a frozen watcher, say. */
  freeze(name: ProcessName, frozen: boolean): void {
    this.procs[name].child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  async metrics(name: ProcessName = 'handler'): Promise<string> {
    const port = this.procs[name].port;
    if (!port) throw new Error(`${name} has no HTTP port yet`);
    return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  }

  /** The last lines of every process, for a failing test's report. */
  tail(n = 15): string {
    return PROCESSES.map(
      (p) =>
        `--- ${p}\n${this.procs[p].raw
          .slice(-n)
          .map((l) => l.slice(0, 400))
          .join('\n')}`,
    ).join('\n');
  }

  logs(name: ProcessName): LogLine[] {
    return this.procs[name].lines;
  }

  async stop(): Promise<void> {
    for (const n of PROCESSES) this.freeze(n, false);
    for (const r of this.replicas) r.child?.kill('SIGCONT');
    await Promise.all([
      ...PROCESSES.map((n) => this.procs[n].kill('SIGTERM')),
      ...this.replicas.map((r) => r.kill('SIGTERM')),
    ]);
  }
}

/** Installs deploy/crd.yaml (as `pnpm start` does) and waits until it is served. */
export async function ensureCrd(k: Kube): Promise<void> {
  await applyManifests(k.kc, root, ['crd.yaml']);
  const api = k.kc.makeApiClient(ApiextensionsV1Api);
  await eventually('the CRD to be established', async () => {
    const c = await api.readCustomResourceDefinition({ name: 'criticalservices.mycrd.com' });
    return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
  });
}
