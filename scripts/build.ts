// `pnpm build`: the JavaScript the processes run (scripts/run/build.ts).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './run/build.ts';

build(resolve(dirname(fileURLToPath(import.meta.url)), '..'));
