// Kube client loading and error classification shared by every process.
import { existsSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
// client-node's own modules, not its index (which loads the whole generated API): see narrow-client-node.ts.
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import { Agent, request, type Dispatcher } from 'undici';
import { decodeStatus, PROTOBUF } from './pod-protobuf.ts';

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * KUBECONFIG, else ~/.kube/config, else the in-cluster service account. Unlike
 * loadFromDefault() it never falls back silently to http://localhost:8080.
 */
export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  const home = join(homedir(), '.kube', 'config');
  let source: string;
  try {
    if (path) {
      source = `KUBECONFIG=${path}`;
      kc.loadFromFile(path);
    } else if (existsSync(home)) {
      source = home;
      kc.loadFromFile(home);
    } else if (existsSync(IN_CLUSTER_TOKEN)) {
      source = 'the in-cluster service account';
      kc.loadFromCluster();
    } else {
      throw new Error('no kubeconfig: set KUBECONFIG, create ~/.kube/config, or run in a cluster');
    }
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('no kubeconfig')) throw err;
    // Parser messages quote the file over several lines: the first says what is wrong.
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new Error(`cannot load the kubeconfig (${path ? `KUBECONFIG=${path}` : home}): ${why}`, { cause: err });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server)
    throw new Error(
      `the kubeconfig from ${source} has no current cluster with a server (current-context: "${kc.getCurrentContext()}")`,
    );
  if (cluster.server.includes('undefined'))
    throw new Error(`in-cluster config is incomplete (server ${cluster.server}): KUBERNETES_SERVICE_HOST/PORT unset`);
  return kc;
}

export function httpStatus(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  if (typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number')
    return err.statusCode;
  return undefined;
}

/** Network errors, timeouts, 429 and 5xx are worth retrying; 4xx answers are not. */
export function isTransient(err: unknown): boolean {
  const code = httpStatus(err);
  if (code === undefined) return true;
  return code === 429 || code >= 500;
}

/** The Kubernetes Status message of an API error, for logs and status conditions. */
/**
 * An error as logs should carry it (under `err`, through pino's serializer: type, message, stack):
 * an API server error gets its Status message and code instead of client-node's whole response
 * dump; anything thrown that is not an Error becomes one.
 */
export function logError(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  if (!(err instanceof ApiException)) return err;
  const e = new Error(apiMessage(err));
  e.name = 'ApiError';
  e.stack = `ApiError: ${e.message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`;
  return Object.assign(e, { statusCode: err.code });
}

export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    try {
      const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
      if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string')
        return `${err.code}: ${body.message}`;
    } catch {
      // not JSON
    }
    return `HTTP ${err.code}`;
  }
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

/**
 * One keep-alive connection pool per KubeConfig, for every API call and list page of a process.
 * client-node 2.x builds a new undici Agent (a new TCP + TLS handshake) for each request; here the
 * library's own options (kc.createDispatcherOptions: CA, client certificate, proxy-less) make one
 * Agent, and authentication still runs per request (tokens, rotated ServiceAccount tokens).
 */
const pools = new WeakMap<KubeConfig, Promise<Dispatcher>>();

export function sharedDispatcher(kc: KubeConfig): Promise<Dispatcher> {
  let pool = pools.get(kc);
  if (!pool) {
    pool = (async () => {
      const tls: RequestOptions = {};
      await kc.applyToHTTPSOptions(tls);
      // servername: the kubeconfig's tls-server-name (an API server reached by another address).
      const opts = kc.createDispatcherOptions(kc.getCurrentCluster(), {
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
        ...(tls.servername === undefined ? {} : { servername: tls.servername }),
      });
      // A proxy or SOCKS: client-node's own dispatcher per request, as it does by default.
      if (opts.type !== 'agent') return new Agent({ connections: 32 });
      return new Agent({ connect: opts.connect, connections: 32, keepAliveTimeout: 30_000 });
    })();
    pools.set(kc, pool);
  }
  return pool;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
interface CallOptions {
  body?: unknown;
  query?: Record<string, string>;
  contentType?: string;
  timeoutMs?: number;
  accept?: string;
}

/**
 * One API call on the shared pool, its answer as bytes. A refusal throws client-node's
 * ApiException (code, body as text: a protobuf Status is turned into its JSON form), as the
 * typed calls do; a GET's 404 is an answer (the object is not there).
 */
export async function call(
  kc: KubeConfig,
  method: Method,
  path: string,
  opts: CallOptions,
): Promise<{ status: number; contentType: string; bytes: Buffer }> {
  const url = apiUrl(kc, path, opts.query);
  const auth: RequestOptions = { headers: {} };
  await kc.applyToHTTPSOptions(auth); // authentication headers, per request
  const headers: Record<string, string> = {
    ...(auth.headers as Record<string, string>),
    accept: opts.accept ?? 'application/json',
  };
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const timeout = opts.timeoutMs ?? 60_000;
  const res = await request(url, {
    method,
    headers,
    body: payload,
    dispatcher: await sharedDispatcher(kc),
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  const contentType = String(res.headers['content-type'] ?? '');
  if (res.statusCode >= 300 && !(method === 'GET' && res.statusCode === 404)) {
    const text = contentType.startsWith(PROTOBUF) ? statusJson(bytes) : bytes.toString('utf8');
    throw new ApiException(
      res.statusCode,
      `${method} ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`,
      text,
      flatHeaders(res.headers),
    );
  }
  return { status: res.statusCode, contentType, bytes };
}

/** A protobuf Status answer as the JSON text the API server would have sent (best effort). */
function statusJson(bytes: Buffer): string {
  try {
    return JSON.stringify(decodeStatus(bytes));
  } catch {
    return `(an undecodable protobuf Status of ${bytes.length} bytes)`;
  }
}

/**
 * One API call with a JSON body and a JSON answer, on the shared pool. client-node's typed calls
 * walk the model classes both ways (a pod serialized field by field, the answer rebuilt as class
 * instances with Date objects): milliseconds of CPU on the failover path, for objects the handler
 * builds and reads as plain JSON anyway. A refusal throws client-node's ApiException (code, body),
 * as the typed calls do.
 */
export async function requestJson(
  kc: KubeConfig,
  method: Method,
  path: string,
  opts: Omit<CallOptions, 'accept'> = {},
): Promise<{ status: number; body: unknown }> {
  const res = await call(kc, method, path, opts);
  const text = res.bytes.toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    // not JSON (an empty answer)
  }
  return { status: res.status, body };
}

function apiUrl(kc: KubeConfig, path: string, query: Record<string, string> = {}): URL {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const url = new URL(cluster.server + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url;
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
}

/**
 * A GET answered as plain JSON (404 → undefined). client-node's typed reads build a class
 * instance (and Date objects) for every field; the handler parses raw objects, as from the queue.
 */
export async function getJson(
  kc: KubeConfig,
  path: string,
  query: Record<string, string> = {},
  timeoutMs?: number,
): Promise<unknown> {
  const res = await requestJson(kc, 'GET', path, { query, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  return res.status === 404 ? undefined : res.body;
}
