import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('abortOnFailure', () => {
  it('an unhandled rejection stops the processes the bench started, runs the cleanup and exits 1', async () => {
    // A bench in miniature: one real child process started, then a promise rejected with no handler.
    const script = `
      import { spawn } from 'node:child_process';
      const { abortOnFailure } = await import(${JSON.stringify(pathToFileURL(join(here, 'abort.ts')).href)});
      const child = spawn('sleep', ['300'], { stdio: 'ignore' });
      const running = new Set([{ stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); console.log('stopped'); } }]);
      abortOnFailure({ running, cleanup: async () => console.log('cleaned up'), log: (l) => console.log(l.split('\\n')[0]) });
      console.log('pid ' + child.pid);
      setTimeout(() => void Promise.reject(new Error('a trial failed')), 100);
      setTimeout(() => console.log('still running'), 60_000);`;
    const bench = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    bench.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => bench.once('exit', r));
    const pid = Number(/pid (\d+)/.exec(out)?.[1]);
    const orphan = pid > 0 && alive(pid);
    if (orphan) process.kill(pid, 'SIGKILL');
    expect({ code, orphan, out: out.split('\n').filter((l) => !l.startsWith('pid')) }).toEqual({
      code: 1,
      orphan: false,
      out: [
        'bench: unhandled rejection; stopping the pipelines it started',
        'bench: Error: a trial failed',
        'stopped',
        'cleaned up',
        '',
      ],
    });
  }, 30_000);
});
