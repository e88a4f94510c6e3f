import { KaizenError } from '../errors.js';

/**
 * The intervention state machine of DESIGN.md, plus `inconclusive` (a validation window whose
 * samples were too few to judge: its own outcome, never a silent pass).
 */
export const STATES = [
  'proposed',
  'rejected',
  'backlog',
  'applying',
  'failed',
  'rolled_back',
  'applied',
  'validated',
  'no_effect',
  'reverted',
  'inconclusive',
] as const;
export type State = (typeof STATES)[number];

const TRANSITIONS: Readonly<Record<State, readonly State[]>> = {
  proposed: ['rejected', 'backlog', 'applying'],
  // A person approves (guarded again: applying, or still waiting), rejects, or it expires.
  backlog: ['applying', 'backlog', 'rejected'],
  applying: ['failed', 'rolled_back', 'applied'],
  applied: ['validated', 'no_effect', 'reverted', 'inconclusive'],
  // A person may still revert what validation kept.
  validated: ['reverted'],
  no_effect: ['reverted'],
  inconclusive: ['reverted'],
  rejected: [],
  failed: [],
  rolled_back: [],
  reverted: [],
};

/** States in which an intervention still holds a slot (counted by the concurrency check). */
export const ACTIVE_STATES: readonly State[] = ['applying', 'applied'];
/** States that undid a change; three in a row freeze the area. */
export const ROLLBACK_STATES: readonly State[] = ['rolled_back', 'reverted'];
/** States in which the change is finished and judged. */
export const OUTCOME_STATES: readonly State[] = [
  'rolled_back',
  'reverted',
  'validated',
  'no_effect',
  'inconclusive',
];

export class IllegalTransitionError extends KaizenError {
  /** `expected`: the state the caller read before; when it differs, the intervention changed meanwhile. */
  constructor(id: string, from: State, to: State, expected?: State) {
    const allowed = TRANSITIONS[from];
    super(
      'ILLEGAL_TRANSITION',
      expected !== undefined && expected !== from
        ? `intervention ${id} is ${from}, not ${expected} as expected (it changed meanwhile), so it was not moved to ${to}`
        : `intervention ${id} is ${from} and cannot become ${to}` +
            (allowed.length ? ` (from ${from} it can become ${allowed.join(', ')})` : ` (${from} is final)`),
    );
  }
}

export function canTransition(from: State, to: State): boolean {
  return TRANSITIONS[from].includes(to);
}

export function nextStates(from: State): readonly State[] {
  return TRANSITIONS[from];
}
