import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

/** A child Node (as a watcher starts): the hook, then the barrel; what was loaded, and a KubeConfig at work. */
function watcherStart(narrow: boolean): { generated: string[]; server: string; auth: string } {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    ${narrow ? `(await import(${JSON.stringify(pathToFileURL(join(here, 'narrow-client-node.ts')).href)})).narrowClientNode();` : ''}
    const shared = await import(${JSON.stringify(pathToFileURL(join(here, 'index.ts')).href)});
    const kc = new (await import('@kubernetes/client-node/dist/config.js')).KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: true }], users: [{ name: 'u', token: 'tok' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    const opts = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    if (typeof shared.requestJson !== 'function') throw new Error('the barrel lost requestJson');
    console.log(JSON.stringify({ generated: loaded.filter((u) => /client-node\\/dist\\/(index|gen\\/index|gen\\/models\\/all|api)\\.js$/.test(u)).map((u) => u.replace(/.*client-node\\//, '')),
      server: kc.getCurrentCluster().server, auth: opts.headers.Authorization }));`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: here, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(res.stderr);
  return JSON.parse(res.stdout) as { generated: string[]; server: string; auth: string };
}

describe('narrowClientNode', () => {
  it("lets a watcher load KubeConfig, its auth and the shared barrel without client-node's generated API", () => {
    expect(watcherStart(true)).toEqual({ generated: [], server: 'https://127.0.0.1:6443', auth: 'Bearer tok' });
  });

  it("without it, client-node's config.js loads the generated API", () => {
    expect(watcherStart(false).generated).toEqual(['dist/gen/index.js', 'dist/gen/models/all.js']);
  });
});
