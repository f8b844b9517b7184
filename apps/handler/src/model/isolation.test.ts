// The decision model is pure: loading it must not load the I/O stack (client-node, BullMQ,
// ioredis, pino, prom-client, undici) that the `@critsvc/shared` barrel pulls in. Checked in a
// fresh Node process, as the product loads it (type stripping, no bundler): a resolve hook
// records every module the model's files bring in.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const modelDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

const probe = `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.add(r.url); return r; } });
for (const url of JSON.parse(process.argv[1])) await import(url);
console.log(JSON.stringify([...loaded]));
`;

// A file of an npm package counts as that package, so a failure names what got pulled in.
function origin(path: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(path);
  return pkg ? `npm:${pkg[1]}` : path;
}

function modulesLoadedBy(files: string[]): string[] {
  const urls = files.map((f) => pathToFileURL(f).href);
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe, JSON.stringify(urls)], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as string[];
}

describe('model isolation', () => {
  it('loading every model module loads only the model, @critsvc/shared/model and node built-ins', () => {
    const files = readdirSync(modelDir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => modelDir + f);
    const loaded = modulesLoadedBy(files);
    const outside = loaded
      .filter((url) => !url.startsWith('node:'))
      .map((url) => fileURLToPath(url).slice(repoRoot.length))
      .filter((path) => !path.startsWith('apps/handler/src/model/'))
      .map(origin);
    expect([...new Set(outside)].sort()).toEqual(['packages/shared/src/model.ts', 'packages/shared/src/types.ts']);
  });
});
