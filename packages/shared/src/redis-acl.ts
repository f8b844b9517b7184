// Least Redis rights per process (Redis 7 ACL users): whoever takes one process's password gets
// only what that process needs. Every user is limited to the queue's keys (BullMQ's prefix
// `bull:<QUEUE_NAME>:`): no other key, no FLUSHALL, CONFIG, ACL, KEYS, SCAN, DEBUG, SHUTDOWN.
// Redis checks every command a Lua script runs against the user running it, keys included
// (whether the script declared them in KEYS or built them itself), so BullMQ's scripts get no
// more than the user has; a script that hits a refused command stops there (NOPERM) and keeps
// what it already wrote: each role below has every command of the scripts it runs on the paths
// critsvc takes (redis-acl.test.ts reads them out of the installed bullmq).
// - watchers: add jobs (HSET/HMSET/INCR/LPUSH/ZADD/XADD inside BullMQ's add script), count them,
//   PUBLISH on the fast-path channel. No command that removes anything (DEL, UNLINK, LREM,
//   LTRIM, xPOP, ZREM...): they cannot delete waiting jobs nor the queue, nor SUBSCRIBE.
// - handler: BullMQ's Worker (take, finish, retry, stalled jobs, locks, metrics), SUBSCRIBE to
//   the fast-path channel, its marker key (redis-identity.ts), DEL (redis-full.ts), INFO.
// - dashboard: read commands only. Its getters (EVALSHA) run with its rights, so a write inside
//   one is refused as a plain one is. (Read-only key patterns, %R~, cannot be used: Redis takes
//   the keys an EVAL declares as written, and refuses every script.) No CLIENT LIST: bull-board's
//   workers panel stays empty; DASHBOARD_READ_ONLY=false cannot work with this user.
// deploy/redis.yaml spells these rules out for QUEUE_NAME=critsvc-events (delivery.test pins
// them to this file); the local cluster (scripts/cluster/up.ts) writes them to an ACL file for
// every queue name (`*`), since tests and the demo use a queue each.

export type RedisRole = 'watcher' | 'handler' | 'dashboard';

/** The processes, each with a user of its own (the three watchers share a role, not a password). */
export const REDIS_USERS = {
  'watcher-services': { user: 'critsvc-watcher-services', role: 'watcher' },
  'watcher-pods': { user: 'critsvc-watcher-pods', role: 'watcher' },
  'watcher-crds': { user: 'critsvc-watcher-crds', role: 'watcher' },
  handler: { user: 'critsvc-handler', role: 'handler' },
  dashboard: { user: 'critsvc-dashboard', role: 'dashboard' },
} as const satisfies Record<string, { user: string; role: RedisRole }>;

export type RedisProcess = keyof typeof REDIS_USERS;

/** The Secret's key holding a process's password (REDIS_ADMIN_PASSWORD for the admin). */
export function redisPasswordKey(proc: RedisProcess | 'admin'): string {
  return `REDIS_${proc.toUpperCase().replace(/-/g, '_')}_PASSWORD`;
}

/** The operator's user (and tests acting as one): everything. */
export const REDIS_ADMIN_USER = 'critsvc-admin';

/** What every client does on connecting: ioredis's ready check (INFO), HELLO, its connection name, db. */
const CONNECT = [
  '+ping',
  '+info',
  '+hello',
  '+auth',
  '+select',
  '+client|setname',
  '+client|getname',
  '+client|id',
  '+client|info',
  '+quit',
  '+reset',
];

/** Read commands: the dashboard's getters and BullMQ's scripts (counts, states, job hashes, metrics). */
const READ = [
  '+exists',
  '+type',
  '+pttl',
  '+ttl',
  '+get',
  '+hget',
  '+hmget',
  '+hgetall',
  '+hexists',
  '+hlen',
  '+hscan',
  '+llen',
  '+lrange',
  '+lindex',
  '+lpos',
  '+scard',
  '+smembers',
  '+sismember',
  '+sscan',
  '+zscore',
  '+zcard',
  '+zcount',
  '+zlexcount',
  '+zrange',
  '+zrangebyscore',
  '+zrangebylex',
  '+zrevrange',
  '+zrevrangebyscore',
  '+zrank',
  '+xlen',
  '+xrange',
  '+xrevrange',
  '+time',
];

/** BullMQ runs its Lua scripts with EVALSHA, EVAL when Redis does not have one yet (ioredis's pipelines: SCRIPT EXISTS/LOAD). */
const SCRIPTS = ['+evalsha', '+eval', '+script|load', '+script|exists'];

/** Transactions (BullMQ's addBulk, bull-board's job logs): each command queued in one is checked as it is queued. */
const MULTI = ['+multi', '+exec', '+discard'];

/** A watcher's writes: BullMQ's add script (job hash, id counter, wait list, marker, events stream) and the Queue's meta hash. */
const ADD = ['+hset', '+hmset', '+incr', '+lpush', '+rpush', '+zadd', '+xadd'];

/** The handler's writes: BullMQ's Worker scripts (moveToActive, moveToFinished, moveToDelayed, retryJob, moveStalledJobsToWait, extendLock(s), ...), redis-full.ts's DELs. */
const WORK = [
  ...ADD,
  '+set',
  '+del',
  '+unlink',
  '+hdel',
  '+hincrby',
  '+lrem',
  '+ltrim',
  '+rpop',
  '+rpoplpush',
  '+sadd',
  '+srem',
  '+pexpire',
  '+xtrim',
  '+zpopmin',
  '+zrem',
  '+zremrangebyrank',
  '+zremrangebyscore',
  '+bzpopmin',
];

export function queueKeys(queueName: string): string {
  return `~bull:${queueName}:*`;
}

/** ACL rules of a role for one queue (without its password: add `>password`); queueName `*`: every queue. */
export function redisAclRules(role: RedisRole, queueName: string): string[] {
  const channel = `&critsvc:${queueName}:fast-path`;
  const base = ['on', 'resetkeys', 'resetchannels', '-@all'];
  switch (role) {
    case 'watcher':
      return [...base, queueKeys(queueName), channel, ...CONNECT, ...READ, ...SCRIPTS, ...MULTI, ...ADD, '+publish'];
    case 'handler':
      return [
        ...base,
        queueKeys(queueName),
        `~critsvc:${queueName}:handler-marker`,
        channel,
        ...CONNECT,
        ...READ,
        ...SCRIPTS,
        ...MULTI,
        ...WORK,
        '+subscribe',
        '+unsubscribe',
      ];
    case 'dashboard':
      return [...base, queueKeys(queueName), ...CONNECT, ...READ, ...SCRIPTS, ...MULTI];
  }
}

/**
 * The default user disabled (`off`, no password): no connection can be it, every one must AUTH as
 * one of the users. Its rights stay whole because redis-server replays its append-only file as
 * `default`: with `-@all`, Redis 7.0.15 refused every command of a replayed MULTI/EXEC (BullMQ's
 * addBulk) after a restart (ACL LOG: user default, context multi; seen in recovery.test.ts).
 */
export const REDIS_DEFAULT_USER_RULES = ['off', 'resetpass', '~*', '&*', '+@all'];

export const REDIS_ADMIN_RULES = ['on', '~*', '&*', '+@all'];

type Passwords = Record<RedisProcess | 'admin', string>;

/** Every user, default first: [name, rules with `>password`]. */
function users(queueName: string, passwords: Passwords, password: (p: string) => string): [string, string[]][] {
  return [
    ['default', REDIS_DEFAULT_USER_RULES],
    [REDIS_ADMIN_USER, [...REDIS_ADMIN_RULES, password(passwords.admin)]],
    ...Object.entries(REDIS_USERS).map(([proc, { user, role }]): [string, string[]] => [
      user,
      [...redisAclRules(role, queueName), password(passwords[proc as RedisProcess])],
    ]),
  ];
}

/**
 * redis-server's command line for every user: `--user default off ...`, the admin, one per process
 * (deploy/redis.yaml: passwords given as $(VAR), which redis-server hides by rewriting its process title).
 */
export function redisUserArgs(queueName: string, passwords: Passwords): string[] {
  return users(queueName, passwords, (p) => `>${p}`).flatMap(([name, rules]) => ['--user', name, ...rules]);
}

/**
 * The same users as an ACL file (redis-server --aclfile; read again on every start, so a restarted
 * redis-server has them), passwords as their SHA-256 (`#hex`): the file holds no password.
 */
export function redisAclFile(queueName: string, passwords: Passwords, sha256: (s: string) => string): string {
  return users(queueName, passwords, (p) => `#${sha256(p)}`)
    .map(([name, rules]) => `user ${name} ${rules.join(' ')}\n`)
    .join('');
}

/** redis://user:password@host:port with the parts escaped. */
export function redisUserUrl(hostPort: string, user: string, password: string): string {
  return `redis://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${hostPort}`;
}
