// A Redis primary, one replica and three Sentinels (Debian's redis-sentinel) on free loopback
// ports, with short failure detection so a test sees a failover in seconds.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, redisPing } from '../../scripts/cluster/up.ts';
import { eventually } from './wait.ts';

export const MASTER = 'mymaster';

interface Node {
  port: number;
  proc: ChildProcess;
}

async function waitPing(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await redisPing(port, /^[+-]/))) {
    if (Date.now() > deadline) throw new Error(`${what} did not start on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function ask<T>(port: number, f: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await f(r);
  } finally {
    r.disconnect();
  }
}

export class SentinelRedis {
  readonly redis: Node[] = [];
  readonly sentinels: Node[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'critsvc-sentinel-'));

  static async start(): Promise<SentinelRedis> {
    const s = new SentinelRedis();
    try {
      const primary = await s.server([]);
      await s.server(['--replicaof', '127.0.0.1', String(primary.port)]);
      for (let i = 0; i < 3; i++) await s.sentinel(i, primary.port);
      await s.waitHealthy(primary.port);
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  private async server(extra: string[]): Promise<Node> {
    const port = await freePort();
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--dbfilename',
        `dump-${port}.rdb`,
        ...extra,
      ],
      { stdio: 'ignore' },
    );
    const node = { port, proc };
    this.redis.push(node);
    await waitPing(port, 'redis-server');
    return node;
  }

  private async sentinel(i: number, primaryPort: number): Promise<void> {
    const port = await freePort();
    const conf = join(this.dir, `sentinel-${i}.conf`);
    // Sentinel rewrites its config file (what it learns): each needs its own, writable.
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${MASTER} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${MASTER} 1000`,
        `sentinel failover-timeout ${MASTER} 3000`,
        `sentinel parallel-syncs ${MASTER} 1`,
        '',
      ].join('\n'),
    );
    const proc = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
    this.sentinels.push({ port, proc });
    await waitPing(port, 'redis-sentinel');
  }

  /** Every Sentinel knows the replica and the other Sentinels; the replica is in sync. */
  private async waitHealthy(primaryPort: number): Promise<void> {
    await eventually(
      'the replica in sync',
      async () => /master_link_status:up/.test(await ask(this.redis[1]!.port, (r) => r.info('replication'))),
      20_000,
    );
    for (const s of this.sentinels) {
      await eventually(
        `Sentinel ${s.port} to know the replica and the others`,
        async () => {
          const master = (await ask(s.port, (r) => r.call('SENTINEL', 'MASTER', MASTER))) as string[];
          const field = (k: string): string | undefined => master[master.indexOf(k) + 1];
          return (
            field('port') === String(primaryPort) && field('num-slaves') === '1' && field('num-other-sentinels') === '2'
          );
        },
        20_000,
      );
    }
  }

  get url(): string {
    return `redis+sentinel://${this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${MASTER}`;
  }

  /** The primary's port, as the Sentinels say. */
  async primaryPort(): Promise<number> {
    const [, port] = (await ask(this.sentinels[0]!.port, (r) =>
      r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER),
    )) as string[];
    return Number(port);
  }

  /** SIGKILL of the node at that port: a crash, or its machine gone. */
  async kill(port: number): Promise<void> {
    const node = this.redis.find((n) => n.port === port);
    if (!node) throw new Error(`no redis-server on port ${port}`);
    await new Promise<void>((resolve) => {
      if (node.proc.exitCode !== null || node.proc.signalCode !== null) return resolve();
      node.proc.once('exit', () => resolve());
      node.proc.kill('SIGKILL');
    });
  }

  /** INFO replication of a node. */
  async replication(port: number): Promise<string> {
    return ask(port, (r) => r.info('replication'));
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.sentinels, ...this.redis].map(async (n) => {
        if (n.proc.exitCode !== null || n.proc.signalCode !== null) return;
        await new Promise<void>((resolve) => {
          n.proc.once('exit', () => resolve());
          n.proc.kill('SIGKILL');
        });
      }),
    );
  }
}
