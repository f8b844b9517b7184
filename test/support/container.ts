// critsvc's image run for real with podman (scripts/container/): build it, run its processes,
// copy a kubeconfig so that the image's uid 1000 can read it.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Launcher, ProcessName } from './pipeline.ts';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

/** podman, podman-compose and buildah read this machine kind's settings (runc, cgroupfs, rlimits). */
export const containerEnv: NodeJS.ProcessEnv = {
  ...process.env,
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(root, 'scripts/container/containers.conf'),
};

/** What the container tests need and this machine lacks (scripts/setup.sh test installs them). */
export function missingTools(): string[] {
  return ['podman', 'podman-compose', 'mmdebstrap', 'runc'].filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0,
  );
}

export async function podman(args: string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await run('podman', args, { env: containerEnv, timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`podman ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** Fire and forget (a signal for a container), errors ignored: it may have gone already. */
export function podmanNoWait(args: string[]): void {
  spawn('podman', args, { env: containerEnv, stdio: 'ignore' }).on('error', () => undefined);
}

/** Builds the Dockerfile (base images assembled first when missing); its id and how long it took. */
/**
 * The compose file's other image (redis:7.4-alpine, a Debian stand-in) assembled if missing:
 * build-image.sh makes only the Dockerfile's bases, so on a fresh machine compose found no Redis.
 */
export async function composeBaseImages(): Promise<void> {
  try {
    await run('bash', [join(root, 'scripts/container/base-images.sh')], {
      env: containerEnv,
      timeout: 10 * 60_000,
      maxBuffer: 64 << 20,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`base-images.sh failed: ${(e.stderr ?? e.message).slice(-3000)}`, { cause: err });
  }
}

export async function buildImage(tag: string): Promise<{ id: string; seconds: number; log: string }> {
  const t0 = Date.now();
  try {
    const { stdout, stderr } = await run('bash', [join(root, 'scripts/container/build-image.sh'), tag], {
      env: containerEnv,
      timeout: 20 * 60_000,
      maxBuffer: 64 << 20,
    });
    return { id: stdout.trim().split('\n').pop() ?? '', seconds: (Date.now() - t0) / 1000, log: stderr };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`build-image.sh ${tag} failed: ${(e.stderr ?? e.message).slice(-3000)}`, { cause: err });
  }
}

/**
 * A copy of a kubeconfig that uid 1000 (the image's user) can read, in a fresh directory;
 * `edit` may change it (e.g. its server). The caller removes the directory.
 */
export function kubeconfigForImage(
  source: string,
  edit: (text: string) => string = (t) => t,
): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'critsvc-kube-'));
  chmodSync(dir, 0o755);
  const path = join(dir, 'config');
  writeFileSync(path, edit(readFileSync(source, 'utf8')), { mode: 0o600 });
  // Root can hand the file to uid 1000; anyone else makes it readable (a throwaway test cluster's).
  if (process.getuid?.() === 0) chownSync(path, 1000, 1000);
  else chmodSync(path, 0o644);
  return { dir, path };
}

export interface ContainerLauncher extends Launcher {
  /** Every container this launcher started (by name), for a cleanup that does not depend on the test. */
  readonly label: string;
  /** The container now running process `name`. */
  container(name: ProcessName): string | undefined;
  cleanup(): Promise<void>;
}

/**
 * Runs each process from the image as users run it (its own user, uid 1000), with a read-only
 * root filesystem and no tmpfs (as the Deployments' readOnlyRootFilesystem), on the host's
 * network (the local control plane and Redis listen on 127.0.0.1). KUBECONFIG is mounted
 * read-only at /kube/config, as docker-compose.yml does.
 */
export function containerLauncher(image: string, label: string): ContainerLauncher {
  const current = new Map<ProcessName, string>();
  const copies = new Map<string, { dir: string; path: string }>();
  let n = 0;
  return {
    label,
    command(name, env) {
      const { KUBECONFIG: kubeconfig, ...rest } = env;
      const args = [
        'run',
        '--rm',
        '--network',
        'host',
        '--read-only',
        '--read-only-tmpfs=false',
        '--label',
        `critsvc.test=${label}`,
      ];
      if (kubeconfig) {
        if (!copies.has(kubeconfig)) copies.set(kubeconfig, kubeconfigForImage(kubeconfig));
        args.push('-v', `${copies.get(kubeconfig)?.path}:/kube/config:ro`, '-e', 'KUBECONFIG=/kube/config');
      }
      for (const [k, v] of Object.entries(rest)) args.push('-e', `${k}=${v}`);
      const container = `${label}-${name}-${++n}`;
      current.set(name, container);
      return { cmd: 'podman', args: [...args, '--name', container, image, name], env: containerEnv };
    },
    container: (name) => current.get(name),
    signal(name, signal) {
      const container = current.get(name);
      if (container) podmanNoWait(['kill', '--signal', signal, container]);
    },
    async cleanup() {
      const ids = (await podman(['ps', '-aq', '--filter', `label=critsvc.test=${label}`])).split('\n').filter(Boolean);
      if (ids.length) await podman(['rm', '-f', '-t', '0', ...ids]);
      for (const { dir } of copies.values()) rmSync(dir, { recursive: true, force: true });
    },
  };
}
