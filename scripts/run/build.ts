// The plain JavaScript the processes run (apps/*/dist, packages/shared/dist): `tsc -b` per
// package, relative `.ts` imports rewritten to `.js`. Running JavaScript spares each process
// Node's type stripper (amaro: ~17 MB of RSS per process, measured). Tests and `node file.ts`
// still run the sources; `@critsvc/shared` resolves to its dist only under the condition below.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The export condition under which `@critsvc/shared` resolves to its built JavaScript. */
export const DIST_CONDITION = 'critsvc-dist';

/** Every package a process runs, in build order (shared first). */
export const BUILD_PROJECTS = [
  'packages/shared',
  'apps/watcher-services',
  'apps/watcher-pods',
  'apps/watcher-crds',
  'apps/handler',
  'apps/dashboard',
] as const;

/** The Node arguments that run one app's built entry point. */
export function distArgs(root: string, app: string): string[] {
  return [`--conditions=${DIST_CONDITION}`, join(root, 'apps', app, 'dist', 'main.js')];
}

/**
 * Brings every dist/ up to date (tsc -b: ~1 s when nothing changed, ~25 s from scratch on 2
 * cores), so that a local run never starts stale JavaScript. Throws with tsc's output on failure.
 */
export function build(root: string): void {
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  const res = spawnSync(
    process.execPath,
    [tsc, '-b', ...BUILD_PROJECTS.map((p) => join(root, p, 'tsconfig.build.json'))],
    { cwd: root, encoding: 'utf8' },
  );
  if (res.status !== 0)
    throw new Error(
      `tsc -b failed (exit ${res.status ?? res.signal}):\n${`${res.stdout}${res.stderr}`.trim().slice(-4000)}`,
    );
}
