import { describe, expect, it } from 'vitest';
import { ConfigError, loadDashboardConfig, loadHandlerConfig, loadWatcherConfig } from './config.ts';
import { redact } from './config-validators.ts';

function problems(load: () => unknown): string[] {
  try {
    load();
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('config', () => {
  it('defaults make a valid configuration', () => {
    expect(loadHandlerConfig({})).toMatchObject({
      NAMESPACES: [],
      LOG_LEVEL: 'info',
      POD_TEMPLATE_NAME: 'critical-service-pod-template',
      POD_TEMPLATE_NAMESPACE: 'linux-mag',
      POD_NAME_PREFIX: 'service-watcher',
      READY_PODS_ONLY: true,
      LAME_GRACE_SECONDS: 0,
      HEALTHY_GRACE_SECONDS: 5,
    });
    expect(loadWatcherConfig({}).HTTP_PORT).toBe(8080);
  });

  it('empty values (a ConfigMap key left blank) mean the default', () => {
    expect(loadHandlerConfig({ LOG_LEVEL: '', POD_NAME_PREFIX: '', NAMESPACES: '' })).toMatchObject({
      LOG_LEVEL: 'info',
      POD_NAME_PREFIX: 'service-watcher',
      NAMESPACES: [],
    });
  });

  it('NAMESPACES is a trimmed, de-duplicated list', () => {
    expect(loadWatcherConfig({ NAMESPACES: ' a, b ,a,' }).NAMESPACES).toEqual(['a', 'b']);
  });

  it.each<[string, Record<string, string>, string]>([
    ['NAMESPACES', { NAMESPACES: 'ok,Bad_NS' }, 'Bad_NS'],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, 'loud'],
    ['REDIS_URL', { REDIS_URL: 'http://x:1' }, 'http:'],
    ['REDIS_URL', { REDIS_URL: 'not a url' }, 'not a URL'],
    ['QUEUE_NAME', { QUEUE_NAME: 'Has Spaces' }, 'DNS label'],
    ['HTTP_PORT', { HTTP_PORT: '70000' }, 'port'],
    ['HTTP_PORT', { HTTP_PORT: 'eighty' }, 'port'],
    ['POD_TEMPLATE_NAME', { POD_TEMPLATE_NAME: 'UPPER' }, 'DNS label'],
    ['POD_TEMPLATE_NAMESPACE', { POD_TEMPLATE_NAMESPACE: 'x'.repeat(64) }, 'DNS label'],
    ['POD_NAME_PREFIX', { POD_NAME_PREFIX: 'a'.repeat(41) }, 'at most 40'],
    ['READY_PODS_ONLY', { READY_PODS_ONLY: 'maybe' }, ''],
    ['RESYNC_SECONDS', { RESYNC_SECONDS: '-1' }, 'positive'],
    ['MAX_DEFAULT_PODS', { MAX_DEFAULT_PODS: '-3' }, 'whole number'],
    ['MAX_DEFAULT_PODS_PER_NAMESPACE', { MAX_DEFAULT_PODS_PER_NAMESPACE: 'ten' }, 'whole number'],
    ['TEMPLATE_RETRY_SECONDS', { TEMPLATE_RETRY_SECONDS: '0' }, 'positive'],
    ['STATUS_FLUSH_MS', { STATUS_FLUSH_MS: 'soon' }, 'positive'],
    ['LAME_GRACE_SECONDS', { LAME_GRACE_SECONDS: '-1' }, '0 or more'],
    ['HEALTHY_GRACE_SECONDS', { HEALTHY_GRACE_SECONDS: 'a while' }, '0 or more'],
  ])('handler: a bad %s is one line naming it and what is expected', (name, env, fragment) => {
    const lines = problems(() => loadHandlerConfig(env));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.startsWith(`${name}: `)).toBe(true);
    expect(lines[0]).toContain(fragment);
  });

  it("leader election: client-go's timings by default, off unless asked", () => {
    expect(loadHandlerConfig({})).toMatchObject({
      LEADER_ELECTION: false,
      LEASE_NAME: 'critsvc-handler',
      LEASE_DURATION_SECONDS: 15,
      RENEW_DEADLINE_SECONDS: 10,
      RETRY_PERIOD_SECONDS: 2,
    });
  });

  it.each<[string, Record<string, string>, string]>([
    ['RENEW_DEADLINE_SECONDS', { RENEW_DEADLINE_SECONDS: '15' }, 'less than LEASE_DURATION_SECONDS (15)'],
    ['RENEW_DEADLINE_SECONDS', { LEASE_DURATION_SECONDS: '8' }, 'less than LEASE_DURATION_SECONDS (8)'],
    ['RETRY_PERIOD_SECONDS', { RETRY_PERIOD_SECONDS: '9' }, 'less than RENEW_DEADLINE_SECONDS (10)'],
    ['LEASE_NAME', { LEASE_NAME: 'Not_A_Name' }, 'DNS label'],
    ['LEASE_DURATION_SECONDS', { LEASE_DURATION_SECONDS: '0' }, 'positive'],
  ])('handler: inconsistent lease timings name %s', (name, env, fragment) => {
    const lines = problems(() => loadHandlerConfig(env));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.startsWith(`${name}: `)).toBe(true);
    expect(lines[0]).toContain(fragment);
  });

  it.each<[string, string]>([
    ['one Sentinel', 'redis+sentinel://127.0.0.1:26379/mymaster'],
    ['three, a password and a db', 'redis+sentinel://:p%40ss@a:26379,b:26380,c:26381/mymaster/2'],
    ['TLS to the nodes', 'rediss+sentinel://s.example:26379/q'],
  ])('REDIS_URL in the Sentinel form is accepted: %s', (_name, url) => {
    expect(loadWatcherConfig({ REDIS_URL: url }).REDIS_URL).toBe(url);
  });

  it.each<[string, string]>([
    ['redis+sentinel://a:26379', 'not a Sentinel URL'],
    ['redis+sentinel://a:26379,b/mymaster', '"b" is not host:port'],
    ['redis+sentinel://a:99999/mymaster', 'not host:port'],
  ])('a bad Sentinel URL %s is one line naming REDIS_URL', (url, fragment) => {
    const lines = problems(() => loadWatcherConfig({ REDIS_URL: url }));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.startsWith('REDIS_URL: ')).toBe(true);
    expect(lines[0]).toContain(fragment);
  });

  it.each<[string, Record<string, string>]>([
    ['WATCH_TIMEOUT_SECONDS', { WATCH_TIMEOUT_SECONDS: 'forever' }],
    ['WATCH_STALL_SECONDS', { WATCH_STALL_SECONDS: '0' }],
    ['OUTBOX_MAX_OBJECTS', { OUTBOX_MAX_OBJECTS: '-5' }],
    ['OUTBOX_MAX_OBJECTS', { OUTBOX_MAX_OBJECTS: '1.5' }],
  ])('watchers: a bad %s is refused', (name, env) => {
    expect(problems(() => loadWatcherConfig(env)).map((l) => l.split(':')[0])).toEqual([name]);
  });

  it('OUTBOX_MAX_OBJECTS defaults to 0, derived from the heap limit at start', () => {
    expect(loadWatcherConfig({}).OUTBOX_MAX_OBJECTS).toBe(0);
    expect(loadWatcherConfig({ OUTBOX_MAX_OBJECTS: '5000' }).OUTBOX_MAX_OBJECTS).toBe(5000);
  });

  it('reports every problem at once, one line each', () => {
    expect(
      problems(() => loadHandlerConfig({ LOG_LEVEL: 'x', HTTP_PORT: 'y', NAMESPACES: 'Z' }))
        .map((l) => l.split(':')[0])
        .sort(),
    ).toEqual(['HTTP_PORT', 'LOG_LEVEL', 'NAMESPACES']);
  });

  it('dashboard basic auth needs both user and password', () => {
    expect(problems(() => loadDashboardConfig({ DASHBOARD_USER: 'ops' }))).toEqual([
      'DASHBOARD_USER/DASHBOARD_PASSWORD: set both to require basic auth, or neither',
    ]);
    expect(loadDashboardConfig({}).DASHBOARD_READ_ONLY).toBe(true);
  });

  it('never repeats a Redis password in an error or a log', () => {
    expect(redact('redis://user:hunter2@host:6379/0')).not.toContain('hunter2');
    expect(problems(() => loadHandlerConfig({ REDIS_URL: 'http://user:hunter2@host' })).join()).not.toContain(
      'hunter2',
    );
  });
});
