// Kube client loading and error classification shared by every process.
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiException, KubeConfig } from '@kubernetes/client-node';

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
  if (!cluster?.server) throw new Error(`the kubeconfig from ${source} has no current cluster with a server (current-context: "${kc.getCurrentContext()}")`);
  if (cluster.server.includes('undefined')) throw new Error(`in-cluster config is incomplete (server ${cluster.server}): KUBERNETES_SERVICE_HOST/PORT unset`);
  return kc;
}

export function httpStatus(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  if (typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number') return err.statusCode;
  return undefined;
}

/** Network errors, timeouts, 429 and 5xx are worth retrying; 4xx answers are not. */
export function isTransient(err: unknown): boolean {
  const code = httpStatus(err);
  if (code === undefined) return true;
  return code === 429 || code >= 500;
}

/** The Kubernetes Status message of an API error, for logs and status conditions. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    try {
      const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
      if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') return `${err.code}: ${body.message}`;
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

export interface RawPage {
  items: unknown[];
  resourceVersion: string;
  continue?: string;
}

/**
 * A GET answered as plain JSON (404 → undefined). client-node's typed reads build a class
 * instance (and Date objects) for every field; the handler parses raw objects, as from the queue.
 */
export async function getJson(kc: KubeConfig, path: string, query: Record<string, string> = {}): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const url = new URL(cluster.server + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const opts: RequestOptions = { method: 'GET', headers: { accept: 'application/json' }, timeout: 60_000 };
  await kc.applyToHTTPSOptions(opts);
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within 60 s`)));
    req.on('error', reject);
    req.end();
  });
  if (status === 404) return undefined;
  if (status !== 200) {
    throw Object.assign(new Error(`GET ${path}: HTTP ${status}: ${body.slice(0, 300)}`), { statusCode: status });
  }
  return JSON.parse(body) as unknown;
}

/**
 * One page of a list as plain JSON. client-node's typed lists build a class instance (and Date
 * objects) for every field of every object: for 20,000 pods that is most of a process's memory
 * and start-up time, for objects we trim right away.
 */
export async function listPage(kc: KubeConfig, path: string, limit: number, cont?: string, query: Record<string, string> = {}): Promise<RawPage> {
  const list = (await getJson(kc, path, { ...query, limit: String(limit), ...(cont ? { continue: cont } : {}) })) as
    { items?: unknown[]; metadata?: { resourceVersion?: string; continue?: string } } | undefined;
  if (!list) throw Object.assign(new Error(`GET ${path}: HTTP 404`), { statusCode: 404 });
  return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '', ...(list.metadata?.continue ? { continue: list.metadata.continue } : {}) };
}
