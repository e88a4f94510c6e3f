import { describe, expect, it } from 'vitest';
import { KaizenError } from '../errors.js';
import {
  ACTIVE_STATES,
  IllegalTransitionError,
  OUTCOME_STATES,
  ROLLBACK_STATES,
  STATES,
  canTransition,
  nextStates,
  type State,
} from './states.js';

/** The state machine as DESIGN.md draws it, written out independently of the code under test. */
const EXPECTED: Record<State, State[]> = {
  proposed: ['rejected', 'backlog', 'applying'],
  backlog: ['applying', 'backlog', 'rejected'],
  applying: ['failed', 'rolled_back', 'applied'],
  applied: ['validated', 'no_effect', 'reverted', 'inconclusive'],
  validated: ['reverted'],
  no_effect: ['reverted'],
  inconclusive: ['reverted'],
  rejected: [],
  failed: [],
  rolled_back: [],
  reverted: [],
};
const TERMINAL: State[] = ['rejected', 'failed', 'rolled_back', 'reverted'];

const ALL_PAIRS = STATES.flatMap((from) => STATES.map((to) => [from, to] as [State, State]));
const ALLOWED = ALL_PAIRS.filter(([from, to]) => EXPECTED[from].includes(to));
const DISALLOWED = ALL_PAIRS.filter(([from, to]) => !EXPECTED[from].includes(to));

describe('the intervention state machine', () => {
  it('has exactly the eleven states, each once', () => {
    expect([...STATES].sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(new Set(STATES).size).toBe(11);
  });

  it('the corpus covers every pair: 16 allowed, 105 refused, 121 in all', () => {
    expect(ALLOWED).toHaveLength(16);
    expect(DISALLOWED).toHaveLength(11 * 11 - 16);
    expect(ALLOWED.length + DISALLOWED.length).toBe(121);
  });

  it.each(STATES.map((s) => [s]))('nextStates(%s) is exactly the table row', (from) => {
    expect([...nextStates(from)].sort()).toEqual([...EXPECTED[from]].sort());
  });

  it.each(ALLOWED)('%s → %s is allowed', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it.each(DISALLOWED)('%s → %s is refused, and the error names both states', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    const err = new IllegalTransitionError('K0007', from, to);
    expect(err).toBeInstanceOf(KaizenError);
    expect(err.code).toBe('ILLEGAL_TRANSITION');
    expect(err.name).toBe('IllegalTransitionError');
    const allowed = EXPECTED[from];
    expect(err.message).toBe(
      `intervention K0007 is ${from} and cannot become ${to}` +
        (allowed.length ? ` (from ${from} it can become ${allowed.join(', ')})` : ` (${from} is final)`),
    );
  });

  it.each(TERMINAL.map((s) => [s]))('%s is final: nothing follows it', (state) => {
    expect(nextStates(state)).toEqual([]);
    for (const to of STATES) expect(canTransition(state, to)).toBe(false);
    expect(new IllegalTransitionError('K0001', state, 'applying').message).toBe(
      `intervention K0001 is ${state} and cannot become applying (${state} is final)`,
    );
  });

  it('only the four terminal states have no successor', () => {
    expect(STATES.filter((s) => nextStates(s).length === 0).sort()).toEqual([...TERMINAL].sort());
  });

  it('says so when the state changed under the caller rather than blaming the table', () => {
    expect(new IllegalTransitionError('K0003', 'applying', 'applying', 'backlog').message).toBe(
      'intervention K0003 is applying, not backlog as expected (it changed meanwhile), so it was not moved to applying',
    );
    // An expectation that holds changes nothing about the usual message.
    expect(new IllegalTransitionError('K0003', 'backlog', 'validated', 'backlog').message).toBe(
      'intervention K0003 is backlog and cannot become validated (from backlog it can become applying, backlog, rejected)',
    );
  });

  it('every state is reachable from proposed', () => {
    const seen = new Set<State>(['proposed']);
    const queue: State[] = ['proposed'];
    while (queue.length)
      for (const n of nextStates(queue.shift()!)) if (!seen.has(n) && seen.add(n)) queue.push(n);
    expect([...seen].sort()).toEqual([...STATES].sort());
  });

  it('groups the states the checks count', () => {
    expect([...ACTIVE_STATES].sort()).toEqual(['applied', 'applying']);
    expect([...ROLLBACK_STATES].sort()).toEqual(['reverted', 'rolled_back']);
    expect([...OUTCOME_STATES].sort()).toEqual([
      'inconclusive',
      'no_effect',
      'reverted',
      'rolled_back',
      'validated',
    ]);
    // Slots are held only while the change can still move; rollbacks are outcomes.
    for (const s of ACTIVE_STATES) expect(nextStates(s).length).toBeGreaterThan(0);
    for (const s of ROLLBACK_STATES) expect(OUTCOME_STATES).toContain(s);
    // An outcome never leads back to applying.
    for (const s of OUTCOME_STATES) expect(nextStates(s).filter((n) => n !== 'reverted')).toEqual([]);
  });
});
