// The values each variable accepts (envalid validators: namespaces, DNS labels, ports, numbers,
// Redis URLs), the parsing of a Sentinel URL and the redaction of a URL's password.
import { makeValidator } from 'envalid';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const namespaceList = makeValidator<string[]>((input) => {
  const names = input
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = names.filter((n) => n.length > 63 || !DNS_LABEL.test(n));
  if (bad.length)
    throw new Error(
      `not valid namespace names: ${bad.join(', ')} (expected a comma-separated list of DNS labels, or empty for all namespaces)`,
    );
  return [...new Set(names)];
});

export const dnsLabel = makeValidator<string>((input) => {
  if (input.length > 63 || !DNS_LABEL.test(input))
    throw new Error(`"${input}" is not a DNS label (lowercase letters, digits and '-', at most 63 characters)`);
  return input;
});

export const podNamePrefix = makeValidator<string>((input) => {
  if (input.length > 40 || !DNS_LABEL.test(input))
    throw new Error(`"${input}" is not a valid prefix (lowercase letters, digits and '-', at most 40 characters)`);
  return input;
});

export const redisUrl = makeValidator<string>((input) => {
  if (/^rediss?\+sentinel:/.test(input)) {
    parseSentinelUrl(input);
    return input;
  }
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    throw new Error(
      `"${redact(input)}" is not a URL (expected redis://[user:password@]host:port[/db], rediss://... or redis+sentinel://[user:password@]host:port,host:port/master[/db])`,
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new Error(`scheme ${u.protocol} is not redis:, rediss: or redis+sentinel:`);
  return input;
});

export interface SentinelUrl {
  tls: boolean;
  username?: string;
  password?: string;
  sentinels: { host: string; port: number }[];
  name: string;
  db?: number;
}

/**
 * redis+sentinel://[user:password@]host:port[,host:port...]/master[/db] (rediss+sentinel: TLS to
 * the Redis nodes): the Redis primary named master, found through those Sentinels. The password
 * is the Redis nodes'; the Sentinels are asked without one.
 */
export function parseSentinelUrl(input: string): SentinelUrl {
  const m = /^(rediss?)\+sentinel:\/\/(?:([^@/]*)@)?([^/]+)\/([^/]+)(?:\/(\d+))?\/?$/.exec(input);
  if (!m)
    throw new Error(
      `"${redact(input)}" is not a Sentinel URL (expected redis+sentinel://[user:password@]host:port[,host:port...]/master[/db])`,
    );
  const [, scheme, auth, hosts = '', name = '', db] = m;
  const sentinels = hosts.split(',').map((h) => {
    const hp = /^([^:,]+):(\d{1,5})$/.exec(h.trim());
    if (!hp || Number(hp[2]) > 65535) throw new Error(`Sentinel address "${h}" is not host:port`);
    return { host: hp[1] ?? '', port: Number(hp[2]) };
  });
  const [user = '', password = ''] = (auth ?? '').split(/:(.*)/s);
  return {
    tls: scheme === 'rediss',
    sentinels,
    name: decodeURIComponent(name),
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    ...(db ? { db: Number(db) } : {}),
  };
}

export const httpPort = makeValidator<number>((input) => {
  const n = Number(input);
  if (!/^\d+$/.test(input) || n > 65535)
    throw new Error(`"${input}" is not a port number (0-65535; 0 picks a free port)`);
  return n;
});

export const nonNegative = makeValidator<number>((input) => {
  const n = Number(input);
  if (input.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new Error(`"${input}" is not a number of seconds (0 or more)`);
  return n;
});

export const count = makeValidator<number>((input) => {
  if (!/^\d+$/.test(input.trim())) throw new Error(`"${input}" is not a whole number (0 or more)`);
  return Number(input);
});

export const positive = makeValidator<number>((input) => {
  const n = Number(input);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`"${input}" is not a positive number`);
  return n;
});

/** Hides the password of a redis URL for logs and error messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
