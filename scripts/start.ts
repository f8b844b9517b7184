// `pnpm start`: the four critsvc processes and the queue dashboard, against KUBECONFIG (or
// ~/.kube/config) and REDIS_URL; with neither, a local control plane and redis-server.
// LOG_FORMAT=json prints the processes' raw JSON lines.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisEnvFor, resolveEnv } from './run/environment.ts';
import { Supervisor } from './run/supervisor.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const run = await resolveEnv(root, process.env);
  const env: Record<string, string> = {
    ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)),
    KUBECONFIG: run.kubeconfig,
    REDIS_URL: run.redisUrl,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    HTTP_HOST: process.env.HTTP_HOST ?? '127.0.0.1',
    HTTP_PORT: '0', // each process picks a free port and logs it
    DASHBOARD_HOST: process.env.DASHBOARD_HOST ?? '127.0.0.1',
  };
  console.log(
    `critsvc: ${run.local ? 'local control plane' : 'cluster'} from ${run.kubeconfig}; queue on ${run.redisUrl.replace(/\/\/[^@/]*@/, '//***@')}`,
  );
  console.log(`critsvc: queue dashboard on http://127.0.0.1:${env.DASHBOARD_PORT ?? 3000}/ — Ctrl-C stops everything`);
  if (run.local)
    console.log(
      `critsvc: try it: export KUBECONFIG=${run.kubeconfig}; kubectl apply -f deploy/critical-service-example.yaml`,
    );
  const sup = new Supervisor({ root, env, envFor: redisEnvFor(run), json: process.env.LOG_FORMAT === 'json' });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('critsvc: stopping…');
    void sup
      .stop()
      .then(run.cleanup)
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  sup.start();
}

main().catch((err: unknown) => {
  console.error(`critsvc: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
