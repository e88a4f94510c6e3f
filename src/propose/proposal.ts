import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Duration } from '../util/duration.js';
import { repoRelative } from '../util/paths.js';
import { controlCharacter, printableLine } from '../util/printable.js';

/*
 * A proposal: one concrete change with its hypothesis and a numeric prediction. Every provider
 * (LLM or rules) and every person goes through this schema; model output is untrusted data, so
 * it is strict (unknown fields are refused) and bounded in size.
 */

export const MAX_CONTENT_BYTES = 256 * 1024;
const MAX_TEXT = 64 * 1024;
/** How deep a config_set value may nest (a config file rarely goes past ten). */
const MAX_VALUE_DEPTH = 64;

const AreaName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'expected an area name of lower-case letters, digits, "_" or "-"');

const RepoPath = z
  .string()
  .min(1, 'expected a path inside the target repository')
  .max(1024, 'path is longer than 1024 characters');

const Text = (max: number) =>
  z
    .string()
    .max(max, `longer than ${max} characters`)
    .refine((s) => !s.includes('\u0000'), 'binary content (a NUL byte) is not allowed: changes must be text');

/**
 * Free text that goes into the commit message (title, hypothesis, rollback) or beside it. No NUL
 * byte: git cannot take one in an argument, so the apply would fail after writing the files. No
 * kaizen trailer: recovery and revert find commits by "Kaizen-Intervention:" / "Kaizen-Revert-Of:"
 * in their messages, so a proposal quoting another commit's SHA in one would turn a later revert of
 * that commit into a no-op.
 */
const prose = (s: z.ZodString, options: { line?: boolean } = {}) =>
  s
    .refine((t) => !t.includes('\u0000'), 'a NUL byte is not allowed')
    .superRefine((t, ctx) => {
      // Terminal escapes, carriage returns, C1 and bidi controls would reach the operator's
      // terminal, chat and git log as commands to the terminal, not as text.
      const bad = controlCharacter(t, options.line);
      if (bad)
        ctx.addIssue({
          code: 'custom',
          message: `contains the control character ${printableLine(bad.char)} at position ${bad.at}: text that could rewrite an operator's terminal is refused${options.line ? ' (this field is one line)' : ''}`,
        });
    })
    .refine(
      (t) => !/kaizen-(intervention|revert-of)\s*:/i.test(t),
      'must not contain a kaizen commit trailer ("Kaizen-Intervention:" or "Kaizen-Revert-Of:")',
    );

/** A lesson id as a proposal cites it: one line, no control characters. */
const LessonRef = prose(z.string().max(64), { line: true });

export const EditChange = z.strictObject({
  kind: z.literal('edit'),
  path: RepoPath,
  /** Exact text to find; it must occur exactly once in the file. */
  search: Text(MAX_TEXT).pipe(z.string().min(1, 'search text is empty')),
  replace: Text(MAX_TEXT),
});

export const WriteChange = z.strictObject({
  kind: z.literal('write'),
  path: RepoPath,
  // Bounded in bytes, as the name says: 256 Ki characters of "é" are 512 KiB. (A string too long in
  // characters is already reported by Text, so it is not reported twice.)
  content: Text(MAX_CONTENT_BYTES).refine(
    (s) => s.length > MAX_CONTENT_BYTES || Buffer.byteLength(s, 'utf8') <= MAX_CONTENT_BYTES,
    `larger than ${MAX_CONTENT_BYTES} bytes of UTF-8`,
  ),
});

export const ConfigSetChange = z.strictObject({
  kind: z.literal('config_set'),
  /** A YAML or JSON file. */
  path: RepoPath,
  /** Dotted key path, with [n] for list items: `worker.interval_ms`, `pools[0].size`. */
  key: z
    .string()
    .regex(
      /^[A-Za-z0-9_$-]+(\[\d+\])*(\.[A-Za-z0-9_$-]+(\[\d+\])*)*$/,
      'expected a dotted key path such as "worker.interval_ms"',
    ),
  // Bounded like a write's content: a value is one "line" to the risk floor, whatever its size.
  // Depth first, without recursion: z.json() recurses per level and overflows the stack on a value
  // nested a few thousand deep (a RangeError instead of PROPOSAL_INVALID).
  value: z
    .unknown()
    .refine((v) => depthAtMost(v, MAX_VALUE_DEPTH), `nested more than ${MAX_VALUE_DEPTH} levels deep`)
    .pipe(z.json())
    .refine(
      (v) => Buffer.byteLength(JSON.stringify(v), 'utf8') <= MAX_CONTENT_BYTES,
      `larger than ${MAX_CONTENT_BYTES} bytes as JSON`,
    ),
});

function depthAtMost(value: unknown, max: number): boolean {
  const todo: [unknown, number][] = [[value, 0]];
  for (let item = todo.pop(); item; item = todo.pop()) {
    const [v, depth] = item;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return false;
    for (const child of Object.values(v)) todo.push([child, depth + 1]);
  }
  return true;
}

export const RunbookChange = z.strictObject({
  kind: z.literal('runbook'),
  /** A named action from the config's allow-list. */
  action: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'expected a runbook action name'),
  params: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/), z.string().max(256)).default({}),
});

export const CHANGE_KINDS = ['edit', 'write', 'config_set', 'runbook'] as const;
export const ChangeKind = z.enum(CHANGE_KINDS);
export type ChangeKind = z.infer<typeof ChangeKind>;

export const Change = z.discriminatedUnion(
  'kind',
  [EditChange, WriteChange, ConfigSetChange, RunbookChange],
  {
    error: () => `expected change kind to be one of ${CHANGE_KINDS.map((k) => `"${k}"`).join(', ')}`,
  },
);
export type Change = z.infer<typeof Change>;

export const Prediction = z.strictObject({
  /** The signal expected to move. */
  signal: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a signal name'),
  direction: z.enum(['up', 'down']),
  /** How far: a fraction of the baseline median when `relative` (0.3 = 30 %), else in the signal's unit. */
  magnitude: z.number().positive().finite(),
  relative: z.boolean().default(true),
});
export type Prediction = z.infer<typeof Prediction>;

export const RISKS = ['low', 'medium', 'high'] as const;
export const Risk = z.enum(RISKS);
export type Risk = z.infer<typeof Risk>;

export const Proposal = z
  .strictObject({
    title: prose(z.string().min(1).max(200), { line: true }),
    area: AreaName,
    kind: ChangeKind,
    changes: z
      .array(Change)
      .min(1, 'expected at least one change')
      .max(20, 'at most 20 changes in one proposal'),
    hypothesis: prose(z.string().min(1).max(4000)),
    prediction: Prediction,
    risk: Risk,
    /** How long after the apply the outcome is judged (default: validation.window). */
    validationWindow: Duration.optional(),
    /** How to undo it, in words; for a runbook the inverse action is what counts. */
    rollback: prose(z.string().max(1000)).default(''),
    /** The backup step taken before a change that touches a schema or data migration. */
    backup: prose(z.string().max(1000)).optional(),
    citesLessons: z.array(LessonRef).max(50).default([]),
    arguesAgainst: z
      .array(z.strictObject({ lesson: LessonRef, why: prose(z.string().min(1).max(2000)) }))
      .max(50)
      .default([]),
    /** What prompted it: an alert, a schedule, a person. */
    trigger: prose(z.string().max(500), { line: true }).optional(),
  })
  .superRefine((p, ctx) => {
    p.changes.forEach((c, i) => {
      if (c.kind !== p.kind) {
        ctx.addIssue({
          code: 'custom',
          path: ['changes', i, 'kind'],
          message: `is "${c.kind}" but the proposal's kind is "${p.kind}"`,
        });
      }
    });
    if (p.kind === 'runbook' && p.changes.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['changes'],
        message: 'a runbook proposal carries exactly one action',
      });
    }
  });
export type Proposal = z.infer<typeof Proposal>;
export type ProposalInput = z.input<typeof Proposal>;

/**
 * What the change does, independent of wording: the same edit proposed twice (with another
 * title, hypothesis or area) has the same fingerprint, which dedup and the "no repeat of a failed fix"
 * rule compare.
 */
export function fingerprint(p: Pick<Proposal, 'kind' | 'changes'>): string {
  const canonical = p.changes
    .map((c) =>
      canonicalJson(c.kind === 'runbook' ? c : { ...c, path: repoRelative(c.path).replace(/\/+$/, '') }),
    )
    .sort()
    .join('\n');
  // The area is left out on purpose: it is the proposer's own label, and the same change under
  // another area name is still the same change.
  return createHash('sha256').update(`${p.kind}\n${canonical}`).digest('hex').slice(0, 16);
}

/**
 * What a proposal touches, whatever it calls itself: the repo-relative path of every file it
 * changes, and `runbook:<action>` for an action. Freezes and canaries key on these as well as on the
 * area, which is only the proposer's label.
 */
export function touches(p: Pick<Proposal, 'changes'>): string[] {
  const keys = p.changes.map((c) =>
    c.kind === 'runbook' ? `runbook:${c.action}` : repoRelative(c.path).replace(/\/+$/, ''),
  );
  return [...new Set(keys)];
}

/** JSON with object keys sorted at every depth, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
