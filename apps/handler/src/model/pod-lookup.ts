// How a decision finds the pods it needs in a namespace without walking all of them: the
// Store answers from its label index; a plain list answers the same questions (tests, fallbacks).
import type { Labels, PodInfo } from './types.ts';

export interface PodLookup {
  /** The namespace's pods the selector may select: a superset, to be checked with selectorMatches. */
  candidates(selector: Labels): Iterable<PodInfo>;
  /** The namespace's pods carrying this label. */
  withLabel(key: string, value: string): Iterable<PodInfo>;
  named(name: string): PodInfo | undefined;
}

/** The same questions answered by walking a list. */
export function listLookup(pods: Iterable<PodInfo>): PodLookup {
  const all = [...pods];
  return {
    candidates: () => all,
    withLabel: (key, value) => all.filter((p) => p.labels[key] === value),
    named: (name) => all.find((p) => p.name === name),
  };
}

/** An index key for one label; `=` cannot occur in a label key. */
export function labelKey(key: string, value: string): string {
  return `${key}=${value}`;
}
