// Prints docs/configuration.md's environment table from the envalid specs (the single source):
// `node scripts/env-table.ts`, then paste its output over the table there.
import { describeEnv } from '../packages/shared/src/config.ts';

console.log('| Variable | Default | Read by | Meaning |');
console.log('|---|---|---|---|');
for (const r of describeEnv()) {
  const def = r.default === '""' || r.default === '[]' ? '(empty)' : `\`${r.default.replace(/^"|"$/g, '')}\``;
  console.log(`| \`${r.name}\` | ${def} | ${r.processes} | ${r.desc} |`);
}
