// The body of each watcher process: list-watch its targets, buffer into the outbox, deliver
// to the queue, expose health and metrics. Each app only says what it watches.
import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { preciseNow } from './clock.ts';
import { loadWatcherConfig, type WatcherConfig } from './config.ts';
import { redact } from './config-validators.ts';
import { startHttp } from './http.ts';
import { loadKubeConfig } from './kube.ts';
import { ListWatcher, type WatchTarget } from './list-watcher.ts';
import { createLogger } from './logger.ts';
import { Outbox, outboxBound } from './outbox.ts';
import { configOrExit, onShutdown } from './process.ts';
import { fastPathChannel, QueueProducer } from './queue.ts';
import type { Kind } from './types.ts';

export interface WatcherSpec {
  name: string;
  kind: Kind;
  targets: (kc: KubeConfig, config: WatcherConfig) => WatchTarget[];
}

/** Buckets for the failover's stages, in seconds: most take a millisecond or a few. */
export const STAGE_BUCKETS = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1, 2.5];

/** A counter kept by the code it counts (monotonic), read when scraped. */
function setCount(c: Counter, n: number): void {
  c.reset();
  c.inc(n);
}

export async function runWatcher(spec: WatcherSpec, env: Record<string, string | undefined>): Promise<void> {
  const config = configOrExit(spec.name, () => loadWatcherConfig(env));
  const log = createLogger(config.LOG_LEVEL, spec.name);
  const kc = loadKubeConfig(config.KUBECONFIG);
  log.info(
    {
      namespaces: config.NAMESPACES.length ? config.NAMESPACES : 'all',
      queue: config.QUEUE_NAME,
      redis: redact(config.REDIS_URL),
      server: kc.getCurrentCluster()?.server,
    },
    'starting',
  );

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const events = new Counter({
    name: 'critsvc_watch_events_total',
    help: 'Watch events received, by type',
    labelNames: ['kind', 'type'],
    registers: [registry],
  });
  const producer = new QueueProducer(
    config.QUEUE_NAME,
    config.REDIS_URL,
    config.QUEUE_BACKLOG_MAX,
    config.FAST_PATH
      ? {
          refused: (err) =>
            log.warn(
              { err, channel: fastPathChannel(config.QUEUE_NAME) },
              'Redis refused the fast-path message (grant the channel in its ACL, or set FAST_PATH=false); events still reach the handler through the queue, a few milliseconds later',
            ),
        }
      : undefined,
  );
  const bound = outboxBound(config.OUTBOX_MAX_OBJECTS);
  if (bound.warning) log.warn({ maxObjects: bound.maxObjects, fits: bound.derived }, bound.warning);
  else log.info({ maxObjects: bound.maxObjects }, 'outbox bound (objects held while Redis is unreachable)');
  const watchers: ListWatcher[] = [];
  // The failover's first stage: the watch event received → in Redis (the handler measures the rest).
  const toQueue = new Histogram({
    name: 'critsvc_watch_to_queue_seconds',
    help: 'From a watch event received to its job stored in Redis (acknowledged)',
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  const outbox = new Outbox({
    send: async (jobs) => {
      await producer.send(jobs);
      const now = preciseNow();
      for (const job of jobs) if (job.type !== 'SYNCED') toQueue.observe((now - job.seenAt) / 1000);
    },
    log,
    maxObjects: bound.maxObjects,
    relist: () => watchers.forEach((w) => w.requestRelist()),
  });
  new Gauge({
    name: 'critsvc_outbox_pending',
    help: 'Events waiting to reach Redis',
    registers: [registry],
    collect() {
      this.set(outbox.size);
    },
  });
  new Counter({
    name: 'critsvc_outbox_sent_total',
    help: 'Events delivered to the queue since start',
    registers: [registry],
    collect() {
      setCount(this, outbox.sent);
    },
  });
  new Counter({
    name: 'critsvc_watch_lists_total',
    help: 'Complete lists taken since start',
    registers: [registry],
    collect() {
      setCount(
        this,
        watchers.reduce((n, w) => n + w.lists, 0),
      );
    },
  });
  new Counter({
    name: 'critsvc_watch_requests_total',
    help: 'Watch requests opened since start',
    registers: [registry],
    collect() {
      setCount(
        this,
        watchers.reduce((n, w) => n + w.watches, 0),
      );
    },
  });

  for (const target of spec.targets(kc, config)) {
    watchers.push(
      new ListWatcher({
        kc,
        target,
        log: log.child({ scope: target.scope || '*' }),
        push: (job) => outbox.push(job),
        room: () => outbox.room(),
        timeoutSeconds: config.WATCH_TIMEOUT_SECONDS,
        stallSeconds: config.WATCH_STALL_SECONDS,
        onEvent: (type) => events.inc({ kind: spec.kind, type }),
      }),
    );
  }
  const http = await startHttp({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    registry,
    log,
    notReady: () => (watchers.every((w) => w.synced) ? undefined : 'first list not done'),
  });
  onShutdown(log, [
    async () => {
      await Promise.all(watchers.map((w) => w.stop()));
    },
    async () => {
      if (!(await outbox.drain(5_000)))
        log.warn({ pending: outbox.size }, 'events not delivered before shutdown; the next start re-lists');
    },
    () => outbox.close(),
    () => producer.close(),
    () => http.close(),
  ]);
  outbox.start();
  for (const w of watchers) w.start();
}
