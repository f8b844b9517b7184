// Renders the SVG plots of bench reports already written: node bench/plots.ts <report.json>... [--out DIR]
// (pnpm bench writes them next to each report itself; DIR defaults to the report's folder).
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { plots, type PlotInput } from './lib/plots.ts';

const args = process.argv.slice(2);
const at = args.indexOf('--out');
const out = at >= 0 ? args[at + 1] : undefined;
const files = args.filter((a, i) => (a !== '--out' && i !== at + 1) || at < 0);
if (files.length === 0) {
  console.error('usage: node bench/plots.ts <report.json>... [--out DIR]');
  process.exit(2);
}
for (const file of files) {
  const result = JSON.parse(readFileSync(file, 'utf8')) as PlotInput;
  const written = await plots(result);
  for (const p of written) {
    const path = join(out ?? dirname(file), `${basename(file, '.json')}-${p.name}.svg`);
    writeFileSync(path, p.svg);
    console.log(path);
  }
  if (written.length === 0) console.error(`${file}: nothing to plot (no idle, standby or curve part)`);
}
