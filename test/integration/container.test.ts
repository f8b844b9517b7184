// The image built from the Dockerfile as users build it and run for real with podman, and
// docker-compose.yml run with podman-compose as a user would (issue 13). No registry image can be
// pulled here: scripts/container/base-images.sh assembles the Dockerfile's and compose file's base
// images under their names (Debian's packages + the npm registry's Node; Redis is a Debian stand-in
// for redis:7.4-alpine). In CI a missing podman fails these tests; elsewhere they are skipped with
// the reason printed (scripts/setup.sh test installs podman, podman-compose, mmdebstrap, runc).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { articleScenario, articleTemplate } from '../support/article.ts';
import {
  buildImage,
  composeBaseImages,
  containerEnv,
  containerLauncher,
  kubeconfigForImage,
  missingTools,
  podman,
  root,
} from '../support/container.ts';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import { deleteCrit } from '../support/objects.ts';
import { ensureCrd, Pipeline, PROCESSES } from '../support/pipeline.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually } from '../support/wait.ts';

const execAsync = promisify(execFile);
const k = kube();
const missing = missingTools();
const skip = missing.length > 0 && process.env.CI !== 'true';
if (skip)
  console.warn(
    `container.test.ts skipped: ${missing.join(', ')} not installed (scripts/setup.sh test installs them; in CI this fails instead)`,
  );
// docker-compose.yml's image name: compose then runs this very build instead of building its own.
const IMAGE = 'critsvc:local';
const launcher = containerLauncher(IMAGE, `critsvc-ct-${suffix()}`);
let redis: TestRedis | undefined;
let pipeline: Pipeline | undefined;

function say(line: string): void {
  console.log(`container: ${line}`);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function httpStatus(url: string, auth?: string): Promise<number> {
  try {
    return (
      await fetch(url, auth ? { headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } } : {})
    ).status;
  } catch {
    return 0;
  }
}

/**
 * uid, read-only root and the readiness endpoint, seen from inside a running container. podman's
 * --read-only (compose's read_only) still mounts a tmpfs on /tmp unlike Docker's; this test's own
 * runs turn that off, as a Deployment's readOnlyRootFilesystem has none.
 */
async function inside(
  container: string,
  port = 8080,
): Promise<{ uid: string; readOnly: string; appWritable: boolean; tmpWritable: boolean; ready: boolean }> {
  const uid = (await podman(['exec', container, 'id', '-u'])).trim();
  const readOnly = (await podman(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', container])).trim();
  const writable = (path: string): Promise<boolean> =>
    podman(['exec', container, 'touch', path]).then(
      () => true,
      () => false,
    );
  const [appWritable, tmpWritable] = [await writable('/app/x'), await writable('/tmp/x')];
  const ready = await podman([
    'exec',
    container,
    'node',
    '-e',
    `fetch('http://127.0.0.1:${port}/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
  ]).then(
    () => true,
    () => false,
  );
  return { uid, readOnly, appWritable, tmpWritable, ready };
}

/** The last log lines of every container of a compose project, for a failing test's report. */
async function composeLogs(label: string): Promise<string> {
  const names = (await podman(['ps', '-a', '--filter', label, '--format', '{{.Names}}']).catch(() => ''))
    .split('\n')
    .filter(Boolean);
  const parts = await Promise.all(
    names.map(
      async (n) =>
        `--- ${n}\n${(await podman(['logs', '--tail', '15', n]).catch((e: Error) => e.message))
          .split('\n')
          .map((l) => l.slice(0, 400))
          .join('\n')}`,
    ),
  );
  return parts.join('\n');
}

describe.skipIf(skip)('the image and docker-compose.yml, run with podman', () => {
  beforeAll(async () => {
    if (missing.length)
      throw new Error(`${missing.join(', ')} not installed: run scripts/setup.sh test (as root, with apt)`);
    await ensureCrd(k);
    await articleTemplate(k);
    redis = await TestRedis.start();
    const built = await buildImage(IMAGE);
    const size = Number(await podman(['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
    say(
      `${IMAGE} (${built.id.slice(7, 19)}) built in ${built.seconds.toFixed(1)} s (base images included when missing), ${(size / 1e6).toFixed(0)} MB`,
    );
  }, 25 * 60_000);

  afterEach(async () => {
    await pipeline?.stop();
    pipeline = undefined;
    await deleteCrit(k, 'frontend');
  });

  afterAll(async () => {
    await launcher.cleanup();
    await redis?.stop();
  });

  it('runs as uid 1000, refuses writes to its root filesystem, and carries no Node package manager', async () => {
    expect((await podman(['image', 'inspect', '--format', '{{.Config.User}}', IMAGE])).trim()).toBe('1000:1000');
    const out = await podman([
      'run',
      '--rm',
      '--read-only',
      '--read-only-tmpfs=false',
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      'id -u; for t in npm npx pnpm yarn corepack; do command -v $t; done; touch /app/x 2>&1; touch /tmp/x 2>&1; node --version',
    ]);
    expect(out.trim().split('\n')).toEqual([
      '1000',
      "touch: cannot touch '/app/x': Read-only file system",
      "touch: cannot touch '/tmp/x': Read-only file system",
      `v${readFileSync(join(root, '.nvmrc'), 'utf8').trim()}`,
    ]);
  });

  it('starts each of the four processes and the dashboard from the image (uid 1000, read-only root, host network)', async () => {
    const ns = await freshNamespace(k, 'image');
    const t0 = Date.now();
    pipeline = await Pipeline.start({
      namespaces: [ns],
      redisUrl: redis?.url ?? '',
      templateNamespace: 'linux-mag',
      launcher,
    });
    const pipelineSeconds = (Date.now() - t0) / 1000;
    for (const name of PROCESSES) {
      const c = launcher.container(name) ?? '';
      expect(await inside(c, pipeline.procs[name].port), name).toEqual({
        uid: '1000',
        readOnly: 'true',
        appWritable: false,
        tmpWritable: false,
        ready: true,
      });
    }

    const port = await freePort();
    const password = randomBytes(8).toString('hex');
    const name = `${launcher.label}-dashboard`;
    const t1 = Date.now();
    await podman([
      'run',
      '-d',
      '--rm',
      '--name',
      name,
      '--label',
      `critsvc.test=${launcher.label}`,
      '--network',
      'host',
      '--read-only',
      '--read-only-tmpfs=false',
      '-e',
      `REDIS_URL=${redis?.url ?? ''}`,
      '-e',
      `QUEUE_NAME=${pipeline.queue}`,
      '-e',
      'DASHBOARD_HOST=127.0.0.1',
      '-e',
      `DASHBOARD_PORT=${port}`,
      '-e',
      'DASHBOARD_USER=admin',
      '-e',
      `DASHBOARD_PASSWORD=${password}`,
      IMAGE,
      'dashboard',
    ]);
    await eventually(
      'the dashboard asks for credentials',
      async () => (await httpStatus(`http://127.0.0.1:${port}/`)) === 401,
      30_000,
    );
    const dashboardSeconds = (Date.now() - t1) / 1000;
    expect(await httpStatus(`http://127.0.0.1:${port}/`, `admin:${password}`)).toBe(200);
    expect((await podman(['exec', name, 'id', '-u'])).trim()).toBe('1000');
    await podman(['stop', '-t', '10', name]);
    say(
      `start: the four processes ready ${pipelineSeconds.toFixed(1)} s after their podman run (started together, checked in turn); dashboard answering after ${dashboardSeconds.toFixed(1)} s`,
    );
  });

  it("passes the article's scenario with the four processes in containers", async () => {
    const ns = await freshNamespace(k, 'article-image');
    pipeline = await Pipeline.start({
      namespaces: [ns],
      redisUrl: redis?.url ?? '',
      templateNamespace: 'linux-mag',
      launcher,
    });
    try {
      await articleScenario(k, ns);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${pipeline.tail()}`, { cause: err });
    }
  });

  it('docker-compose.yml: podman-compose brings Redis (with its volume), the four processes and the dashboard up; the scenario passes; down leaves nothing running', async () => {
    await composeBaseImages();
    const project = `critsvc-ct-${suffix()}`;
    const label = `label=io.podman.compose.project=${project}`;
    // The local control plane listens on 127.0.0.1 only, out of reach of compose's network (and
    // Debian's podman-compose 1.0.3 cannot put services on the host's network). The test relays
    // its port from the host's side of that network, and the kubeconfig names the host as
    // podman's containers know it, keeping the certificate's name (tls-server-name): the way any
    // cluster reached over a network is used.
    const apiPort = Number(
      /server: https:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(inject('kubeconfig'), 'utf8'))?.[1],
    );
    const relayPort = await freePort();
    const kubeconfig = kubeconfigForImage(inject('kubeconfig'), (t) =>
      t.replace(
        /server: https:\/\/127\.0\.0\.1:\d+/,
        `server: https://host.containers.internal:${relayPort}\n    tls-server-name: localhost`,
      ),
    );
    const [handlerPort, dashboardPort] = [await freePort(), await freePort()];
    const dashboardPassword = randomBytes(8).toString('hex');
    const env = {
      ...containerEnv,
      KUBECONFIG: kubeconfig.path,
      ...Object.fromEntries(
        ['ADMIN', 'WATCHER_SERVICES', 'WATCHER_PODS', 'WATCHER_CRDS', 'HANDLER', 'DASHBOARD'].map((u) => [
          `REDIS_${u}_PASSWORD`,
          randomBytes(12).toString('hex'),
        ]),
      ),
      DASHBOARD_PASSWORD: dashboardPassword,
      HANDLER_HOST_PORT: String(handlerPort),
      DASHBOARD_HOST_PORT: String(dashboardPort),
    };
    const compose = async (...args: string[]): Promise<string> => {
      try {
        const { stdout, stderr } = await execAsync('podman-compose', ['-p', project, ...args], {
          cwd: root,
          env,
          timeout: 180_000,
          maxBuffer: 64 << 20,
        });
        return stdout + stderr;
      } catch (err) {
        throw new Error(
          `podman-compose ${args.join(' ')}: ${String((err as { stderr?: string }).stderr ?? err).slice(-3000)}`,
          { cause: err },
        );
      }
    };
    let relay: Server | undefined;
    let up: Promise<string> | undefined;
    let down = false;
    try {
      const t0 = Date.now();
      up = compose('up', '-d');
      up.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      // The relay listens as soon as compose's network has its bridge (made with its first container).
      const gateway = await eventually(
        "the project's network",
        async () => {
          const out = await podman(['network', 'inspect', `${project}_default`]).catch(() => undefined);
          return out && (JSON.parse(out) as { subnets: { gateway: string }[] }[])[0]?.subnets[0]?.gateway;
        },
        60_000,
        100,
      );
      relay = createServer((c) => {
        const u = connect(apiPort, '127.0.0.1');
        c.pipe(u).pipe(c);
        c.on('error', () => u.destroy());
        u.on('error', () => c.destroy());
      });
      const server = relay;
      await eventually(
        `the relay listening on ${gateway}`,
        () =>
          new Promise<boolean>((r, j) => {
            const failed = (err: NodeJS.ErrnoException): void => (err.code === 'EADDRNOTAVAIL' ? r(false) : j(err));
            server.once('error', failed).listen(relayPort, gateway, () => {
              server.off('error', failed);
              r(true);
            });
          }),
        60_000,
        100,
      );
      const upLog = await up;
      const upSeconds = (Date.now() - t0) / 1000;

      const running = async (): Promise<Record<string, string>> =>
        Object.fromEntries(
          (
            JSON.parse(await podman(['ps', '--filter', label, '--format', 'json'])) as {
              Labels: Record<string, string>;
              Names: string[];
              State: string;
            }[]
          ).map((c) => [c.Labels['com.docker.compose.service'] ?? '', c.Names[0] ?? '']),
        );
      const containers = await running();
      expect(Object.keys(containers).sort(), upLog.slice(-3000)).toEqual([
        'dashboard',
        'handler',
        'redis',
        'watcher-crds',
        'watcher-pods',
        'watcher-services',
      ]);
      await eventually(
        'the handler ready (published on 127.0.0.1)',
        async () => (await httpStatus(`http://127.0.0.1:${handlerPort}/readyz`)) === 200,
        90_000,
        500,
      );
      const readySeconds = (Date.now() - t0) / 1000;
      for (const name of PROCESSES) {
        await eventually(`${name} ready`, async () => (await inside(containers[name] ?? '')).ready, 90_000, 1000);
        expect(await inside(containers[name] ?? ''), name).toMatchObject({
          uid: '1000',
          readOnly: 'true',
          appWritable: false,
        });
      }
      expect(await httpStatus(`http://127.0.0.1:${dashboardPort}/`)).toBe(401);
      expect(await httpStatus(`http://127.0.0.1:${dashboardPort}/`, `admin:${dashboardPassword}`)).toBe(200);
      const mounts = JSON.parse(await podman(['inspect', '--format', '{{json .Mounts}}', containers.redis ?? ''])) as {
        Name?: string;
        Destination: string;
      }[];
      expect(mounts).toContainEqual(expect.objectContaining({ Name: `${project}_redis-data`, Destination: '/data' }));
      say(`compose: up -d returned after ${upSeconds.toFixed(1)} s, handler ready after ${readySeconds.toFixed(1)} s`);

      await articleScenario(k, await freshNamespace(k, 'article-compose'), 60_000);

      await compose('down');
      down = true;
      expect(await podman(['ps', '-aq', '--filter', label])).toBe('');
      // The queue's data outlives the containers, in the volume.
      const volume = (
        await podman(['volume', 'inspect', '--format', '{{.Mountpoint}}', `${project}_redis-data`])
      ).trim();
      expect(existsSync(join(volume, 'appendonlydir'))).toBe(true);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await composeLogs(label)}`, { cause: err });
    } finally {
      relay?.close();
      await up?.catch(() => undefined); // a down while up still creates containers would miss some
      if (!down) await compose('down').catch(() => undefined);
      const left = (await podman(['ps', '-aq', '--filter', label]).catch(() => '')).split('\n').filter(Boolean);
      if (left.length) await podman(['rm', '-f', '-t', '0', ...left]).catch(() => undefined);
      // podman-compose 1.0.3's down keeps the project's network (and, without -v, its volume).
      await podman(['volume', 'rm', '-f', `${project}_redis-data`]).catch(() => undefined);
      await podman(['network', 'rm', '-f', `${project}_default`]).catch(() => undefined);
      rmSync(kubeconfig.dir, { recursive: true, force: true });
    }
  }, 300_000);
});
