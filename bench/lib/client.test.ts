import { describe, expect, it } from 'vitest';
import { containerdTimes, proxySyncs, view, type Req } from './client.ts';

const req = (start: number, outcome: Req['outcome']): Req => ({ start, end: start + 1, outcome });

describe('view: what one client saw in a window', () => {
  it.each([
    { name: 'no failure', reqs: [req(0, 'app'), req(5, 'app')], longest: 0, failed: 0 },
    {
      name: 'a run ended by the page',
      reqs: [req(0, 'app'), req(5, 'refused'), req(10, 'timeout'), req(15, 'page')],
      longest: 10,
      failed: 2,
    },
    {
      name: 'the longer of two runs',
      reqs: [req(0, 'reset'), req(5, 'page'), req(10, 'refused'), req(15, 'unreachable'), req(30, 'app')],
      longest: 20,
      failed: 3,
    },
    {
      name: "a run still going at the window's end",
      reqs: [req(0, 'app'), req(90, 'refused')],
      longest: 10,
      failed: 1,
    },
  ])('$name', ({ reqs, longest, failed }) => {
    const v = view(reqs, 0, 100);
    expect(v.longestFailRunMs).toBe(longest);
    expect(v.failed).toBe(failed);
  });

  it("the first 503 is timed from the window's start, requests outside the window ignored", () => {
    const v = view([req(-10, 'page'), req(20, 'refused'), req(40, 'page'), req(200, 'refused')], 0, 100);
    expect(v.firstPageMs).toBe(41);
    expect(v.requests).toBe(2);
  });
});

describe("the components' own timestamps", () => {
  it('containerd: sandbox asked, ready and the container started, for one pod', () => {
    const uid = '1b2c';
    const log = [
      `time="2026-12-07T06:00:00.100000000Z" level=info msg="RunPodSandbox for &PodSandboxMetadata{Name:p,Uid:${uid},Namespace:n,Attempt:0,}"`,
      `time="2026-12-07T06:00:00.600000000Z" level=info msg="RunPodSandbox for &PodSandboxMetadata{Name:p,Uid:${uid},Namespace:n,Attempt:0,} returns sandbox id \\"abc\\""`,
      'time="2026-12-07T06:00:00.700000000Z" level=info msg="CreateContainer within sandbox \\"abc\\" for &ContainerMetadata{Name:c,Attempt:0,} returns container id \\"def\\""',
      'time="2026-12-07T06:00:00.900000000Z" level=info msg="StartContainer for \\"def\\" returns successfully"',
    ].join('\n');
    const base = Date.parse('2026-12-07T06:00:00Z');
    expect(containerdTimes(log, uid)).toEqual({
      sandboxAsked: base + 100,
      sandboxReady: base + 600,
      containerStarted: base + 900,
    });
    expect(containerdTimes(log, 'other')).toEqual({
      sandboxAsked: undefined,
      sandboxReady: undefined,
      containerStarted: undefined,
    });
  });

  it("kube-proxy: the end of each sync, klog's local time", () => {
    const log =
      'I1207 06:41:49.046205    9410 proxier.go:668] "Syncing iptables rules"\nI1207 06:41:49.159899    9410 proxier.go:662] "SyncProxyRules complete" elapsed="113ms"\n';
    expect(proxySyncs(log, new Date(2026, 11, 7))).toEqual([new Date(2026, 11, 7, 6, 41, 49).getTime() + 159.899]);
  });
});
