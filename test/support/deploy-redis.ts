// deploy/'s Redis as a test can run it: the Secret from deploy/make-secrets.sh (run in a copy of
// deploy/), redis-server's ACL arguments from deploy/redis.yaml and each process's REDIS_URL from
// deploy/workers.yaml, with the Secret's values put in for $(VAR) and the Service's address
// replaced by the test's redis-server.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { key: string } } };
type Container = { args?: string[]; env?: Env[] };
type Obj = { kind: string; metadata: { name: string }; spec: { template: { spec: { containers: Container[] } } } };

const docs = (file: string): Obj[] =>
  parseAllDocuments(readFileSync(join(root, 'deploy', file), 'utf8'))
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);

/** What deploy/make-secrets.sh writes (deploy/secrets.env), made afresh. */
export function makeSecrets(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'critsvc-secrets-'));
  try {
    copyFileSync(join(root, 'deploy/make-secrets.sh'), join(dir, 'make-secrets.sh'));
    const res = spawnSync('bash', [join(dir, 'make-secrets.sh')], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`make-secrets.sh failed: ${res.stderr}`);
    return Object.fromEntries(
      readFileSync(join(dir, 'secrets.env'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** $(NAME) → the Secret's value of the env var NAME's secretKeyRef (or its literal value). */
function expand(text: string, env: Env[], secrets: Record<string, string>): string {
  return text.replace(/\$\(([A-Z0-9_]+)\)/g, (_m, name: string) => {
    const e = env.find((x) => x.name === name);
    const v = e?.valueFrom?.secretKeyRef ? secrets[e.valueFrom.secretKeyRef.key] : e?.value;
    if (v === undefined) throw new Error(`$(${name}) has no value`);
    return v;
  });
}

/** Arguments of deploy/'s redis-server that are about who may do what (not its persistence or memory). */
const ACCESS_OPTIONS = new Set(['--requirepass', '--user', '--aclfile']);

export interface DeployRedis {
  /** redis-server arguments: deploy/redis.yaml's access options, passwords filled in. */
  args: string[];
  /** Each Deployment's REDIS_URL (critsvc-watcher-pods, …, critsvc-dashboard → url) once pointed at host:port. */
  url: (deployment: string, hostPort: string) => string;
  secrets: Record<string, string>;
}

export function deployRedis(): DeployRedis {
  const secrets = makeSecrets();
  const redis = docs('redis.yaml').find((o) => o.kind === 'StatefulSet');
  const c = redis?.spec.template.spec.containers[0];
  if (!c?.args) throw new Error('deploy/redis.yaml: no redis-server arguments');
  const args: string[] = [];
  let keep = false;
  for (const a of c.args) {
    if (a.startsWith('--')) keep = ACCESS_OPTIONS.has(a);
    if (keep) args.push(expand(a, c.env ?? [], secrets));
  }
  const deployments = docs('workers.yaml').filter((o) => o.kind === 'Deployment');
  const url = (deployment: string, hostPort: string): string => {
    const d = deployments.find((o) => o.metadata.name === deployment)?.spec.template.spec.containers[0];
    const value = d?.env?.find((e) => e.name === 'REDIS_URL')?.value;
    if (!d || !value) throw new Error(`deploy/workers.yaml: ${deployment} has no REDIS_URL`);
    return expand(value, d.env ?? [], secrets).replace('redis.linux-mag.svc:6379', hostPort);
  };
  return { args, url, secrets };
}
