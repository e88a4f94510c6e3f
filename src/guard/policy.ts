import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import type { KaizenConfig, TargetConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { ChangeKind, Risk } from '../propose/proposal.js';
import { Duration } from '../util/duration.js';

/** The shipped policy (works from src/ and dist/ alike: both sit two levels below the root). */
export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('../../guards/default.yaml', import.meta.url));

const Globs = z.array(z.string().min(1));

/**
 * An area with canary infrastructure, and the paths that deploy through it. A bare name (the older
 * form) says the area has a canary but not where: it covers the area's runbook actions, never a
 * file change, because the area is the proposer's own label and a label cannot put a file behind
 * a canary.
 */
const CanaryArea = z
  .union([z.string().min(1), z.strictObject({ area: z.string().min(1), paths: Globs.min(1) })])
  .transform((a): { area: string; paths?: string[] } => (typeof a === 'string' ? { area: a } : a));
export type CanaryArea = z.infer<typeof CanaryArea>;

export const GuardPolicy = z
  .strictObject({
    blockedPaths: Globs,
    blockedKinds: z.array(ChangeKind),
    dailyBudget: z.number().int().min(0),
    maxConcurrent: z.number().int().min(1),
    dedupWindow: Duration,
    failedFixWindow: Duration,
    backlogExpiry: Duration,
    freeze: z.strictObject({ after: z.number().int().min(1), for: Duration }),
    canaryAreas: z.array(CanaryArea),
    risk: z.strictObject({
      highPaths: Globs,
      migrationPaths: Globs,
      testPaths: Globs,
      maxLowLines: z.number().int().min(0),
      maxLowFiles: z.number().int().min(1),
      maxLowBytes: z.number().int().min(0),
      mediumKinds: z.array(ChangeKind),
    }),
    approvalFrom: Risk,
  })
  .transform(({ dedupWindow, failedFixWindow, backlogExpiry, freeze, ...rest }) => ({
    ...rest,
    backlogExpiryMs: backlogExpiry,
    dedupWindowMs: dedupWindow,
    failedFixWindowMs: failedFixWindow,
    freeze: { after: freeze.after, forMs: freeze.for },
  }));
export type GuardPolicy = z.infer<typeof GuardPolicy>;

/**
 * The policy for one target: the shipped default, overridden key by key by the config's
 * guard.policy file and then by the target's guardPolicy file.
 */
export function loadPolicy(
  config: Pick<KaizenConfig, 'guard'>,
  target: Pick<TargetConfig, 'guardPolicy'>,
): GuardPolicy {
  const files = [DEFAULT_POLICY_FILE, config.guard.policy, target.guardPolicy].filter(
    (f): f is string => f !== undefined,
  );
  let merged: Record<string, unknown> = {};
  // Which file last set each key (`risk`, `risk.maxLowLines`), so an error names the file to fix.
  const origin = new Map<string, string>();
  for (const file of files) {
    if (!existsSync(file)) {
      throw new ConfigError(
        'CONFIG_NOT_FOUND',
        `guard policy file ${file} does not exist; fix guard.policy (or guardPolicy) in the config`,
      );
    }
    const doc: unknown = parse(readFileSync(file, 'utf8')) ?? {};
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      throw ConfigError.fromIssues([
        { file, line: 1, path: '', message: 'expected a mapping of policy settings' },
      ]);
    }
    merged = mergePolicy(merged, doc as Record<string, unknown>);
    for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
      origin.set(k, file);
      if (isMapping(v)) for (const sub of Object.keys(v)) origin.set(`${k}.${sub}`, file);
    }
  }
  const result = GuardPolicy.safeParse(merged);
  if (!result.success) {
    throw ConfigError.fromIssues(
      result.error.issues.map((i) => {
        const at = i.code === 'unrecognized_keys' ? [...i.path, ...i.keys.slice(0, 1)] : i.path;
        const file = origin.get(at.slice(0, 2).join('.')) ?? origin.get(String(at[0])) ?? files.at(-1)!;
        return { file, line: undefined, path: i.path.join('.'), message: i.message };
      }),
    );
  }
  return result.data;
}

/** Mappings merge key by key (one level deep for `risk` and `freeze`); lists and scalars replace. */
function mergePolicy(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isMapping(b) && isMapping(v) ? { ...b, ...v } : v;
  }
  return out;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
