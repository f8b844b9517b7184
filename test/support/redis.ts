// A private redis-server per test file, on a free loopback port, that tests may kill and restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, localRedisUsers, redisPing } from '../../scripts/cluster/up.ts';

type Users = ReturnType<typeof localRedisUsers>;

export class TestRedis {
  private proc: ChildProcess | undefined;
  readonly port: number;
  private readonly dir: string;
  private readonly extraArgs: string[];
  private readonly users: Users | undefined;

  private constructor(port: number, extraArgs: string[], users: boolean) {
    this.port = port;
    this.dir = mkdtempSync(join(tmpdir(), 'critsvc-redis-'));
    this.users = users ? localRedisUsers(this.dir, `127.0.0.1:${port}`) : undefined;
    this.extraArgs = this.users ? [...extraArgs, '--aclfile', this.users.aclFile] : extraArgs;
  }

  /** @param opts.users the local cluster's ACL users (default user off), read again on every restart */
  static async start(extraArgs: string[] = [], opts: { users?: boolean } = {}): Promise<TestRedis> {
    const r = new TestRedis(await freePort(), extraArgs, opts.users ?? false);
    await r.restart();
    return r;
  }

  /** Without users: no password; with them: the admin's (every right). */
  get url(): string {
    return this.users?.adminUrl ?? `redis://127.0.0.1:${this.port}`;
  }

  /** With users: each process's own (Pipeline's redisUrls). */
  get urls(): Users['urls'] | undefined {
    return this.users?.urls;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        ...this.extraArgs,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    // Any answer will do: with --requirepass, PING gets -NOAUTH.
    while (!(await redisPing(this.port, /^[+-]/))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: what a crash looks like to its clients. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }
}
