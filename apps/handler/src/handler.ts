// The handler's body (main.ts starts it): drains the queue into the state, decides, and
// creates/deletes default pods.
import {
  configOrExit,
  createLogger,
  loadHandlerConfig,
  loadKubeConfig,
  onShutdown,
  redact,
  redisOptions,
  startHttp,
} from '@critsvc/shared';
import { Gauge } from 'prom-client';
import { Controller } from './control/controller.ts';
import { kubeActions } from './kube/kube-client.ts';
import { electorFor } from './leader/leadership.ts';
import { leaderOnly } from './leader/leader-guard.ts';
import { livenessProblem } from './liveness.ts';
import { handlerMetrics } from './metrics/metrics.ts';
import { isRedisFull, RedisFullRecovery } from './queue/redis-full.ts';
import { RedisIdentity } from './queue/redis-identity.ts';
import { QueueConsumer } from './queue/queue-consumer.ts';

/** How often the handler checks that Redis still holds the queue it knows. */
const REDIS_CHECK_MS = 2_000;

export async function runHandler(env: Record<string, string | undefined>): Promise<void> {
  const config = configOrExit('handler', () => loadHandlerConfig(env));
  const log = createLogger(config.LOG_LEVEL, 'handler');
  const kc = loadKubeConfig(config.KUBECONFIG);
  log.info(
    {
      namespaces: config.NAMESPACES.length ? config.NAMESPACES : 'all',
      queue: config.QUEUE_NAME,
      redis: redact(config.REDIS_URL),
      template: `${config.POD_TEMPLATE_NAMESPACE}/${config.POD_TEMPLATE_NAME}`,
      server: kc.getCurrentCluster()?.server,
    },
    'starting',
  );

  const metrics = handlerMetrics();
  const election = config.LEADER_ELECTION ? electorFor(config, kc, log, metrics) : undefined;
  const actions = kubeActions(kc);
  const controller = new Controller(
    config,
    election ? leaderOnly(actions, () => election.mayAct()) : actions,
    log,
    metrics,
  );
  // Takes the queue's jobs once the state is complete (start() below); its inspector counts them.
  // full: set once the worker starts, for the worker's out-of-memory errors.
  const onFull: { full?: RedisFullRecovery } = {};
  const consumer = new QueueConsumer({
    name: config.QUEUE_NAME,
    redis: redisOptions(config.REDIS_URL),
    concurrency: config.EVENT_QUEUE_CONCURRENCY,
    checkMs: REDIS_CHECK_MS,
    process: (data) => controller.handleJob(data),
    log,
    workerRestarts: metrics.workerRestarts,
    ...(config.FAST_PATH
      ? { fastPath: (data: unknown) => controller.handleFastPath(data), fastPathMessages: metrics.fastPath }
      : {}),
    onError: (err) => {
      if (isRedisFull(err)) onFull.full?.onFull(err);
      else log.warn({ err }, 'queue connection error; the worker reconnects by itself');
    },
    onFailed: (job, err) => log.error({ job, err }, 'job failed'),
  });
  new Gauge({
    name: 'critsvc_event_queue_jobs',
    help: 'Jobs in the event queue (BullMQ, in Redis) by state',
    labelNames: ['state'],
    registers: [metrics.registry],
    async collect() {
      try {
        const counts = await consumer.inspector.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      } catch {
        // Redis unreachable: the gauge keeps its last values.
      }
    },
  });
  new Gauge({
    name: 'critsvc_handler_ready',
    help: "1 once the handler's state is complete (the start-up list done): it decides only then",
    registers: [metrics.registry],
    collect() {
      this.set(controller.synced ? 1 : 0);
    },
  });
  new Gauge({
    name: 'critsvc_pod_template_usable',
    help: '0 while a PodTemplate critsvc uses (the global one, or one a CriticalService names) cannot be used (missing, invalid, refused as invalid), as its watch says; else 1',
    registers: [metrics.registry],
    collect() {
      this.set(controller.templateProblem ? 0 : 1);
    },
  });
  new Gauge({
    name: 'critsvc_decision_queue_depth',
    help: 'Services waiting for a decision (the decision queue)',
    registers: [metrics.registry],
    collect() {
      this.set(controller.queueLength);
    },
  });

  const http = await startHttp({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    registry: metrics.registry,
    log,
    // A standby is ready: ready to take over (a PodDisruptionBudget counts it as available).
    notReady: () => (controller.synced || (election && !election.isLeader) ? undefined : 'state not complete yet'),
    notLive: () => livenessProblem({ workerRunning: consumer.isRunning, ...controller.progress, now: Date.now() }),
  });
  const stopping = new AbortController();
  onShutdown(log, [
    async () => stopping.abort(),
    () => consumer.closeWorker(),
    () => controller.stop(),
    // Only once nothing acts any more: the next leader takes over at its next try.
    async () => {
      await election?.release();
    },
    () => consumer.close(),
    () => http.close(),
  ]);

  // A standby only waits; it lists and consumes the queue once it leads (the queue is a work
  // queue: a job taken by a standby would be lost to the leader).
  if (election && !(await election.acquire(stopping.signal))) return;

  // Known before the start-up list: data lost after it is repaired by a relist.
  const identity = new RedisIdentity(redisOptions(config.REDIS_URL), config.QUEUE_NAME);
  const checkRedis = async (): Promise<void> => {
    const change = await identity.check().catch(() => undefined);
    if (!change) return;
    if (change === 'redis-failover') {
      log.warn(
        { change },
        'Redis failed over to a replica; listing everything again (jobs the old primary had not replicated are lost)',
      );
      consumer.renew();
    } else log.warn({ change }, "Redis lost the queue's data (restarted or emptied); listing everything again");
    await controller.relist(change);
  };
  await checkRedis();
  const redisTimer = setInterval(() => void checkRedis(), REDIS_CHECK_MS);
  redisTimer.unref();
  stopping.signal.addEventListener('abort', () => {
    clearInterval(redisTimer);
    identity.close();
  });

  await controller.sync(stopping.signal);
  if (stopping.signal.aborted) return;
  controller.start();
  // Started only now: the jobs waiting for us are applied on top of the complete state, and
  // those older than it are recognised as stale.
  onFull.full = new RedisFullRecovery({
    queue: consumer.inspector,
    redis: () => identity.redis,
    log,
    fullness: () => identity.fullness(),
    relist: () => controller.relist('redis-full'),
  });
  consumer.start();
}
