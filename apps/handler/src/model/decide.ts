// One Service's decision, from the current state only (level-based): duplicates, retries and
// reordered events all lead to the same answer. The only memory it is given is when the
// Service's current lame or healthy spell began, for the hold-offs.
import { deletions, planDefaultPod, planStandby, readyFirst } from './decide-plan.ts';
import { critCovers, hasRealPod, isConsidered, selectorMatches, SERVICE_LABEL } from './rules.ts';
import type { PodInfo } from './types.ts';

import type { DecideInput, Decision, Seen, Spell } from './decision.ts';

export type { Action, DecideInput, Decision, HoldOffs, Seen, Spell } from './decision.ts';

function observe(input: DecideInput): Seen {
  const svc = input.service;
  const name = input.serviceKey.slice(input.serviceKey.indexOf('/') + 1);
  // Our default pods carry the Service's name as a label (forService is read from it).
  const all = [...input.pods.withLabel(SERVICE_LABEL, name)].filter(
    (p) => p.owned && p.forService === name && !input.inFlight.deleting.has(p.uid),
  );
  const isDefault = (p: PodInfo): boolean => !p.standby || input.inFlight.promoting.has(p.uid);
  const ours = all.filter(isDefault);
  const warm = all.filter((p) => !isDefault(p) && !p.terminating).sort(readyFirst);
  const considered = svc !== undefined && isConsidered(svc, input.watched);
  const covering = considered ? [...input.crits].filter((c) => critCovers(c, svc)) : [];
  const selected = considered
    ? [...input.pods.candidates(svc.selector)].filter((p) => selectorMatches(svc.selector, p.labels))
    : [];
  const lame = considered && !hasRealPod(svc, selected, input.readyOnly);
  return {
    svc,
    key: input.serviceKey,
    ours,
    live: ours.filter((p) => !p.terminating),
    warm,
    considered,
    covering,
    lame,
    spell: considered ? continueSpell(input.spell, lame, input.now) : undefined,
    legacy: selected.filter((p) => p.legacy),
  };
}

export function decide(input: DecideInput): Decision {
  const seen = observe(input);
  const { svc, spell, covering } = seen;
  const summary = {
    considered: seen.considered,
    covering,
    lame: seen.lame,
    legacy: seen.legacy,
    defaultPods: seen.live.map((p) => p.key),
    standbyPods: seen.warm.map((p) => p.key),
    ...(spell ? { spell } : {}),
  };
  if (!svc || !spell || covering.length === 0) {
    return {
      ...summary,
      wanted: false,
      actions: deletions([...seen.live, ...seen.warm], seen.key, svc ? 'not-critical' : 'service-gone'),
    };
  }
  const held = input.now - spell.since;
  if (!seen.lame) {
    // Make before break: real pods serve the Service again; the default pod goes once they have for a while.
    const wait = input.holdOffs.healthyGraceMs - held;
    const warm = planStandby(svc, seen, input, true, undefined);
    if (seen.live.length === 0 || wait <= 0)
      return { ...summary, wanted: false, actions: [...deletions(seen.live, svc.key, 'service-healthy'), ...warm] };
    const plan = planDefaultPod(svc, seen, input, false);
    return { ...summary, wanted: true, requeueAfterMs: wait, ...plan, actions: [...plan.actions, ...warm] };
  }
  const wait = input.holdOffs.lameGraceMs - held;
  const plan = planDefaultPod(svc, seen, input, wait <= 0);
  const promoted = plan.actions.find((a) => a.type === 'promote')?.pod;
  // The next warm pod is started behind the default pod once it exists, never before (the create is on the outage's path).
  const warm = planStandby(svc, seen, input, plan.defaultPod !== undefined, promoted);
  return {
    ...summary,
    wanted: true,
    ...plan,
    actions: [...plan.actions, ...warm],
    ...(wait > 0 && !plan.defaultPod ? { requeueAfterMs: wait } : {}),
  };
}

function continueSpell(prev: Spell | undefined, lame: boolean, now: number): Spell {
  return prev && prev.lame === lame ? prev : { lame, since: now };
}
