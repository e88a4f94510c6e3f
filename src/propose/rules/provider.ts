import { RuleAction, formatPath, type SelfHealRule, type TargetConfig } from '../../config/schema.js';
import type { Store } from '../../store/index.js';
import { Proposal, fingerprint, type ProposalInput } from '../proposal.js';
import { LESSON_COOLDOWN_MS, evaluateAction, evaluateRulesWithNotes } from './evaluate.js';

/*
 * The offline proposer: what kaizen proposes when no LLM is configured. It proposes only what
 * people wrote down in advance, so it is deterministic and needs no network:
 *
 * 1. self-heal rules from the target's config (`rules:`), in rule-name order;
 * 2. actions of active lessons (a lesson learnt from an earlier outcome may carry a rule-shaped
 *    action), in lesson-id order; their proposals cite the lesson in `citesLessons`.
 *
 * The same change (by fingerprint) is proposed once: a lesson action that repeats a rule's change is
 * dropped with a note.
 */

/** The lesson fields this provider reads. The lesson store is typed elsewhere; the action is checked here. */
export interface LessonLike {
  id: string;
  status: string;
  action?: unknown;
  /** Interventions the lesson rests on: a proposal repeating one of them follows the lesson. */
  evidence?: readonly string[];
}

export interface RulesProposeInput {
  store: Store;
  target: TargetConfig;
  now: number;
  /** The self-heal rules (default: the target's `rules`). */
  rules?: readonly SelfHealRule[];
  lessons?: readonly LessonLike[];
  /**
   * When each rule (by name) and each lesson action (by `lesson:<id>`) last fired; within its
   * cooldown it is skipped. Not modified: the caller records what it acted on (see `fired`).
   */
  lastFired?: ReadonlyMap<string, number>;
}

export interface RulesProposal {
  /** Rule name, or `lesson:<id>`: the key for `lastFired`. */
  key: string;
  signal: string;
  value: number;
  heldMs: number;
  proposal: ProposalInput;
}

export interface RulesProposeResult {
  /** Each passes `Proposal.parse`. */
  proposals: ProposalInput[];
  /** One line per rule and lesson action considered: fired, or why not. */
  notes: string[];
  /** The proposals with what fired them, in the same order. */
  fired: RulesProposal[];
}

export const lessonKey = (id: string): string => `lesson:${id}`;

export const rulesProvider = {
  name: 'rules' as const,
  propose(input: RulesProposeInput): RulesProposeResult {
    const { store, target, now } = input;
    const lastFired = input.lastFired ?? new Map<string, number>();
    const notes: string[] = [];
    const fired: RulesProposal[] = [];
    const seen = new Map<string, string>();
    const add = (f: RulesProposal, label: string): void => {
      const fp = fingerprint(Proposal.parse(f.proposal));
      const earlier = seen.get(fp);
      if (earlier !== undefined) {
        notes.push(`${label}: not proposed: the same change as ${earlier}`);
        return;
      }
      seen.set(fp, label);
      fired.push(f);
    };

    const rules = evaluateRulesWithNotes({
      store,
      target,
      rules: input.rules ?? target.rules,
      now,
      lastFired,
    });
    notes.push(...rules.notes);
    for (const r of rules.fired) add({ key: r.rule, ...r }, `rule ${r.rule}`);

    const signals = store.catalog.signalsOf(target.name);
    const lessons = [...(input.lessons ?? [])]
      .filter((l) => l.status === 'active' && l.action !== undefined && l.action !== null)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const lesson of lessons) {
      const label = `lesson ${lesson.id}`;
      const key = lessonKey(lesson.id);
      const parsed = RuleAction.safeParse(lesson.action);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        notes.push(`${label}: action is invalid: ${formatPath(issue.path) || 'action'}: ${issue.message}`);
        continue;
      }
      const last = lastFired.get(key);
      if (last !== undefined && now - last < LESSON_COOLDOWN_MS) {
        notes.push(`${label}: cooling down until ${new Date(last + LESSON_COOLDOWN_MS).toISOString()}`);
        continue;
      }
      const result = evaluateAction(label, parsed.data, signals, store, now, [lesson.id]);
      notes.push(result.note);
      if (result.ok) add({ key, ...result.fired }, label);
    }

    citeLessonsLearntFrom(fired, input.lessons ?? [], store);
    return { proposals: fired.map((f) => f.proposal), notes, fired };
  },
};

/**
 * A rule proposing exactly the change a lesson was learnt from (same fingerprint as one of its
 * evidence interventions) follows that lesson: cite it, so the lessons check sees it followed.
 */
function citeLessonsLearntFrom(fired: RulesProposal[], lessons: readonly LessonLike[], store: Store): void {
  const byFingerprint = new Map<string, string[]>();
  for (const lesson of lessons) {
    if (lesson.status !== 'active') continue;
    for (const id of lesson.evidence ?? []) {
      const fp = store.interventions.find(id)?.fingerprint;
      if (fp) byFingerprint.set(fp, [...(byFingerprint.get(fp) ?? []), lesson.id]);
    }
  }
  if (byFingerprint.size === 0) return;
  for (const f of fired) {
    const ids = byFingerprint.get(fingerprint(Proposal.parse(f.proposal))) ?? [];
    const cited = new Set(f.proposal.citesLessons ?? []);
    const add = ids.filter((id) => !cited.has(id));
    if (add.length) f.proposal = { ...f.proposal, citesLessons: [...cited, ...add] };
  }
}
