// The one place that reads process.env: each process calls load*Config(process.env) once.
import { bool, cleanEnv, str, type ReporterOptions } from 'envalid';
import {
  count,
  dnsLabel,
  httpPort,
  namespaceList,
  nonNegative,
  podNamePrefix,
  positive,
  redisUrl,
} from './config-validators.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const common = {
  NAMESPACES: namespaceList({
    default: [],
    desc: 'Comma-separated namespaces whose Services and pods are watched; empty means all namespaces',
  }),
  LOG_LEVEL: str({ choices: LOG_LEVELS, default: 'info', desc: 'pino log level' }),
  REDIS_URL: redisUrl({
    default: 'redis://127.0.0.1:6379',
    desc: 'Redis holding the event queue: redis://user:password@host:port or rediss:// (TLS), each process with its own ACL user; or redis+sentinel://user:password@host:port,host:port/master for a Redis primary watched by Sentinels (it follows a failover)',
  }),
  QUEUE_NAME: dnsLabel({ default: 'critsvc-events', desc: 'BullMQ queue name shared by the watchers and the handler' }),
  HTTP_PORT: httpPort({
    default: 8080,
    desc: 'Port of the /healthz, /readyz and /metrics endpoints (0 picks a free one)',
  }),
  HTTP_HOST: str({ default: '0.0.0.0', desc: 'Address the HTTP endpoint binds to' }),
  KUBECONFIG: str({
    default: '',
    desc: 'Path to a kubeconfig; empty tries ~/.kube/config, then the in-cluster service account',
  }),
  FAST_PATH: bool({
    default: true,
    desc: 'true: a watch event a watcher sends alone is also published on the Redis channel critsvc:QUEUE_NAME:fast-path, and the handler, while its queue worker has no job left to take, applies it at once instead of waiting for the worker to take its job (two more trips through Redis); the job stays the record. Set it alike on the watchers and the handler',
  }),
};

const watcher = {
  ...common,
  WATCH_TIMEOUT_SECONDS: positive({
    default: 300,
    desc: 'Server-side timeout of one watch request, spread by up to +20% per request; the watch resumes from the last resourceVersion after it',
  }),
  WATCH_STALL_SECONDS: positive({
    default: 30,
    desc: 'Margin: a watch still open this long past its server-side timeout is stalled (a silent network) and restarted. The server ends every watch at its timeout, so a quiet watch is never called stalled; a stall is noticed at most WATCH_TIMEOUT_SECONDS x 1.2 + this after the watch began',
  }),
  QUEUE_BACKLOG_MAX: positive({
    default: 20_000,
    desc: 'While this many jobs wait in the queue (the handler is down or behind), the watchers hold new events in their outbox instead, one per object, so Redis holds a bounded backlog (about 1-2 KB a job) however long the handler is away',
  }),
  OUTBOX_MAX_OBJECTS: count({
    default: 0,
    desc: "Most distinct objects buffered in memory while sends to the queue fail (Redis unreachable, or QUEUE_BACKLOG_MAX reached; one pending event per object); past it they are dropped and the watcher re-lists once a send succeeds. 0: what the V8 heap limit holds, (limit - 64 MiB) / 1 KiB (38912 under deploy/'s 192 MiB limit, whose heap is half of it); a larger value is warned about at start",
  }),
};

const handler = {
  ...common,
  POD_TEMPLATE_NAME: dnsLabel({
    default: 'critical-service-pod-template',
    desc: 'PodTemplate the default pods are made from',
  }),
  POD_TEMPLATE_NAMESPACE: dnsLabel({ default: 'linux-mag', desc: 'Namespace of that PodTemplate' }),
  POD_NAME_PREFIX: podNamePrefix({
    default: 'service-watcher',
    desc: 'Default pods are named PREFIX-SERVICENAME (shortened with a hash past 63 characters)',
  }),
  READY_PODS_ONLY: bool({
    default: true,
    desc: "true: a pod is real only while it is a ready endpoint (Ready, not terminating, not finished), so a Service is lame when clients have no endpoint; false: the article's literal rule, any matching pod not terminating or finished counts (a Pending or crash-looping pod then hides an outage)",
  }),
  LAME_GRACE_SECONDS: nonNegative({
    default: 0,
    desc: 'A critical Service must stay lame this long before its default pod is created; every second here is a second clients have no endpoint',
  }),
  HEALTHY_GRACE_SECONDS: nonNegative({
    default: 5,
    desc: 'The default pod stays until real pods have served the Service for this long without a break: a flapping readiness keeps one default pod instead of creating and deleting it on every flip, and the new endpoints reach every proxy before the default pod leaves',
  }),
  RESYNC_SECONDS: positive({
    default: 300,
    desc: 'Every so often re-decide every Service from the state, as a safety net',
  }),
  RELIST_SECONDS: positive({
    default: 900,
    desc: 'Every so often list everything from the API server again and repair the state from it (queue data lost, e.g. a job that failed for good); also done at once when Redis restarts or loses its data',
  }),
  TEMPLATE_RETRY_SECONDS: positive({
    default: 10,
    desc: 'Longest wait before retrying a default pod that could not be created (PodTemplate missing or invalid, admission refused, the live check disagreed); retries back off up to this',
  }),
  EVENT_QUEUE_CONCURRENCY: positive({
    default: 16,
    desc: 'Jobs of the event queue (BullMQ, in Redis) the handler takes at once. Applying a job to the state is synchronous and quick, so this barely matters; decisions are level-based, so order does not matter either',
  }),
  DECISION_WORKERS: positive({
    default: 4,
    desc: 'Services decided at once (the decision queue: Service keys the events made due). A decision may wait on the API server (live check, create, delete), so this bounds how many outages are handled in parallel',
  }),
  STATUS_FLUSH_MS: positive({
    default: 500,
    desc: 'CriticalService status writes are batched over this many milliseconds',
  }),
  LEADER_ELECTION: bool({
    default: false,
    desc: 'true: several handler replicas may run; they elect a leader with a Lease (coordination.k8s.io) and only the leader lists, consumes the queue and acts; the others wait as standbys. false: exactly one handler must run',
  }),
  LEASE_NAME: dnsLabel({
    default: 'critsvc-handler',
    desc: 'With LEADER_ELECTION: name of the Lease the handlers compete for',
  }),
  LEASE_NAMESPACE: dnsLabel({
    default: 'linux-mag',
    desc: "With LEADER_ELECTION: namespace of that Lease (deploy/ sets the handler's own)",
  }),
  LEASE_DURATION_SECONDS: positive({
    default: 15,
    desc: 'With LEADER_ELECTION: a standby takes the Lease over once it has seen it unrenewed this long (a leader that died without releasing it)',
  }),
  RENEW_DEADLINE_SECONDS: positive({
    default: 10,
    desc: 'With LEADER_ELECTION: a leader that could not renew its Lease for this long stops acting and exits (Kubernetes restarts it as a standby); less than LEASE_DURATION_SECONDS',
  }),
  RETRY_PERIOD_SECONDS: positive({
    default: 2,
    desc: 'With LEADER_ELECTION: the leader renews, and standbys try to take the Lease, this often; 1.2 times it is less than RENEW_DEADLINE_SECONDS',
  }),
  MAX_DEFAULT_PODS_PER_NAMESPACE: count({
    default: 0,
    desc: 'Blast radius: most default pods in one namespace (created and being created; terminating ones not counted). Past it a lame critical Service gets none: it is listed in blockedServices (DefaultPodLimitReached) with a Warning Event, and gets its pod once another default pod goes. 0: no limit (the default: the point of critsvc is that every lame critical Service gets one)',
  }),
  MAX_DEFAULT_PODS: count({
    default: 0,
    desc: 'Blast radius: most default pods in all watched namespaces together, counted and reported like MAX_DEFAULT_PODS_PER_NAMESPACE. 0: no limit',
  }),
};

const dashboard = {
  LOG_LEVEL: common.LOG_LEVEL,
  REDIS_URL: common.REDIS_URL,
  QUEUE_NAME: common.QUEUE_NAME,
  DASHBOARD_PORT: httpPort({ default: 3000, desc: 'Port of the queue dashboard' }),
  DASHBOARD_HOST: str({ default: '0.0.0.0', desc: 'Address the queue dashboard binds to' }),
  DASHBOARD_READ_ONLY: bool({ default: true, desc: 'Read-only dashboard: no retry, clean, pause or delete of jobs' }),
  DASHBOARD_USER: str({ default: '', desc: 'With DASHBOARD_PASSWORD: require HTTP basic auth' }),
  DASHBOARD_PASSWORD: str({ default: '', desc: 'With DASHBOARD_USER: require HTTP basic auth' }),
};

export type DashboardConfig = ReturnType<typeof loadDashboardConfig>;

export function loadDashboardConfig(env: Env) {
  const cfg = cleanEnv(withoutEmpty(env, []), dashboard, { reporter: reporter(dashboard) });
  if (Boolean(cfg.DASHBOARD_USER) !== Boolean(cfg.DASHBOARD_PASSWORD)) {
    throw new ConfigError(['DASHBOARD_USER/DASHBOARD_PASSWORD: set both to require basic auth, or neither']);
  }
  return cfg;
}

export type WatcherConfig = ReturnType<typeof loadWatcherConfig>;
export type HandlerConfig = ReturnType<typeof loadHandlerConfig>;
type Env = Record<string, string | undefined>;

/** Thrown with one readable line per problem; main() prints them and exits non-zero. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function reporter<T>(specs: Record<string, { desc?: string }>) {
  return ({ errors }: ReporterOptions<T>): void => {
    const lines = Object.entries(errors).map(([key, err]) => {
      const msg = err instanceof Error ? err.message : String(err);
      return `${key}: ${msg}${specs[key]?.desc ? ` — ${specs[key].desc}` : ''}`;
    });
    if (lines.length) throw new ConfigError(lines);
  };
}

// envalid treats '' as a value; an empty optional var in a ConfigMap means "use the default".
function withoutEmpty(env: Env, keep: string[]): Env {
  return Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== '' || keep.includes(k)));
}

export function loadWatcherConfig(env: Env) {
  return cleanEnv(withoutEmpty(env, ['NAMESPACES', 'KUBECONFIG']), watcher, { reporter: reporter(watcher) });
}

export function loadHandlerConfig(env: Env) {
  const cfg = cleanEnv(withoutEmpty(env, ['NAMESPACES', 'KUBECONFIG']), handler, { reporter: reporter(handler) });
  // client-go's own checks: a leader gives up before its Lease can expire, and retries in time.
  const problems: string[] = [];
  if (cfg.RENEW_DEADLINE_SECONDS >= cfg.LEASE_DURATION_SECONDS) {
    problems.push(
      `RENEW_DEADLINE_SECONDS: ${cfg.RENEW_DEADLINE_SECONDS} must be less than LEASE_DURATION_SECONDS (${cfg.LEASE_DURATION_SECONDS}): a leader must stop acting before a standby may take its Lease`,
    );
  }
  if (cfg.RETRY_PERIOD_SECONDS * 1.2 >= cfg.RENEW_DEADLINE_SECONDS) {
    problems.push(
      `RETRY_PERIOD_SECONDS: ${cfg.RETRY_PERIOD_SECONDS} x 1.2 must be less than RENEW_DEADLINE_SECONDS (${cfg.RENEW_DEADLINE_SECONDS}): a leader must get a retry in before it gives up`,
    );
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

/** Every variable with its default, meaning and the processes that read it (docs/configuration.md, --help). */
export function describeEnv(): { name: string; default: string; desc: string; processes: string }[] {
  const rows = new Map<string, { name: string; default: string; desc: string; who: string[] }>();
  const add = (specs: Record<string, { desc?: string; default?: unknown }>, who: string): void => {
    for (const [name, s] of Object.entries(specs)) {
      const row = rows.get(name) ?? { name, default: JSON.stringify(s.default ?? ''), desc: s.desc ?? '', who: [] };
      row.who.push(who);
      rows.set(name, row);
    }
  };
  add(watcher, 'watchers');
  add(handler, 'handler');
  add(dashboard, 'dashboard');
  return [...rows.values()].map(({ who, ...r }) => ({ ...r, processes: who.join(', ') }));
}
