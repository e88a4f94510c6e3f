import path from 'node:path';
import { Cron } from 'croner';
import { z } from 'zod';
import { fingerprintOf, parsePublicKey } from '../learn/exchange/keys.js';
import { CHANGE_KINDS, Proposal, RISKS } from '../propose/proposal.js';
import { Duration, describeValue } from '../util/duration.js';

/*
 * The schema of kaizen.yaml. Durations are written as strings (`30s`, `5m`, `14d`) and compiled to
 * milliseconds in fields named `…Ms`. Every field has a description: the README's config reference
 * is generated from them (`npm run docs`) and a test keeps the two in step.
 */

const dur = (fallback: string, what: string) =>
  Duration.prefault(fallback).describe(`${what} (default ${fallback})`);

export const Name = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]{0,63}$/,
    'expected a lower-case name of letters, digits and "_", starting with a letter',
  );

const HttpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const Headers = z.record(z.string(), z.string()).prefault({}).describe('extra request headers');

const RegexText = z.string().superRefine((text, ctx) => {
  try {
    new RegExp(text);
  } catch (e) {
    // "Invalid regular expression: /(x/: Unterminated group" → "Unterminated group"
    const reason = (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    ctx.addIssue({
      code: 'custom',
      message: `expected a regular expression, got ${describeValue(text)} (${reason})`,
    });
  }
});

const sourceTimeout = dur('5s', 'give up on a sample after this long');

export const HttpJsonSource = z
  .strictObject({
    kind: z.literal('http-json'),
    url: HttpUrl.describe('URL that answers with JSON'),
    path: z
      .string()
      .regex(
        /^[A-Za-z0-9_$-]+(\[\d+\])*(\.[A-Za-z0-9_$-]+(\[\d+\])*)*$/,
        'expected a dotted path such as "pipeline.coordinator_rss_mb" or "items[0].value"',
      )
      .describe('dotted path to a number in the JSON body, e.g. pipeline.coordinator_rss_mb'),
    timeout: sourceTimeout,
    headers: Headers,
  })
  .transform(({ timeout, ...rest }) => ({ ...rest, timeoutMs: timeout }));

export const PrometheusSource = z
  .strictObject({
    kind: z.literal('prometheus'),
    url: HttpUrl.describe('URL of a Prometheus text exposition (usually /metrics)'),
    metric: z
      .string()
      .min(1)
      .describe(
        'metric name with optional label matchers, e.g. http_requests_total{status=~"5..",method="GET"}',
      ),
    aggregate: z
      .enum(['sum', 'max', 'min', 'avg', 'count'])
      .default('sum')
      .describe('how several matching series become one number (default sum)'),
    mode: z
      .enum(['value', 'rate'])
      .default('value')
      .describe(
        'value: the number as exposed; rate: per-second increase since the previous sample, for counters (default value)',
      ),
    timeout: sourceTimeout,
    headers: Headers,
  })
  .transform(({ timeout, ...rest }) => ({ ...rest, timeoutMs: timeout }));

export const CommandSource = z
  .strictObject({
    kind: z.literal('command'),
    command: z
      .union([z.array(z.string()).min(1), z.string().min(1)])
      .describe('argv list, run without a shell; a single string only together with shell: true'),
    shell: z.boolean().default(false).describe('run command through /bin/sh -c (default false)'),
    cwd: z.string().optional().describe('working directory, relative to the target repo (default: the repo)'),
    env: z.record(z.string(), z.string()).prefault({}).describe('extra environment variables'),
    timeout: sourceTimeout,
  })
  .superRefine((s, ctx) => {
    if (typeof s.command === 'string' && !s.shell) {
      ctx.addIssue({
        code: 'custom',
        path: ['command'],
        message: `expected an argv list such as ["./check.sh", "--json"], or shell: true for a command string, got ${describeValue(s.command)}`,
      });
    }
  })
  .transform(({ timeout, ...rest }) => ({ ...rest, timeoutMs: timeout }));

export const LogCountSource = z
  .strictObject({
    kind: z.literal('log-count'),
    file: z.string().min(1).describe('log file, relative to the target repo or absolute'),
    pattern: RegexText.describe('regular expression counted once per matching line'),
    window: dur('5m', 'trailing window the count covers'),
    fromStart: z
      .boolean()
      .default(false)
      .describe(
        'count lines already in the file when kaizen first sees it (default false: start at its end, like tail -F)',
      ),
    timeout: sourceTimeout,
  })
  .transform(({ timeout, window, ...rest }) => ({ ...rest, timeoutMs: timeout, windowMs: window }));

export const FileAgeSource = z
  .strictObject({
    kind: z.literal('file-age'),
    path: z.string().min(1).describe('file whose age (seconds since last modification) is the value'),
    ifMissing: z
      .enum(['error', 'zero'])
      .default('error')
      .describe(
        'a missing file is an error sample, or the value 0 (for lock files that exist only while held) (default error)',
      ),
    timeout: sourceTimeout,
  })
  .transform(({ timeout, ...rest }) => ({ ...rest, timeoutMs: timeout }));

export const ProcessSource = z
  .strictObject({
    kind: z.literal('process'),
    pidFile: z
      .string()
      .min(1)
      .optional()
      .describe('file holding the pid, relative to the target repo or absolute'),
    name: z
      .string()
      .min(1)
      .optional()
      .describe('process name (as in /proc/PID/comm) when there is no pid file'),
    metric: z
      .enum(['rss_mb', 'cpu_percent'])
      .describe('resident memory in MiB, or CPU use in percent of one core'),
    timeout: sourceTimeout,
  })
  .superRefine((s, ctx) => {
    if ((s.pidFile === undefined) === (s.name === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: `expected exactly one of pidFile or name, got ${s.pidFile === undefined ? 'neither' : 'both'}`,
      });
    }
  })
  .transform(({ timeout, ...rest }) => ({ ...rest, timeoutMs: timeout }));

export const SOURCE_KINDS = [
  'http-json',
  'prometheus',
  'command',
  'log-count',
  'file-age',
  'process',
] as const;

export const SourceConfig = z.discriminatedUnion(
  'kind',
  [HttpJsonSource, PrometheusSource, CommandSource, LogCountSource, FileAgeSource, ProcessSource],
  { error: () => `expected kind to be one of ${SOURCE_KINDS.map((k) => `"${k}"`).join(', ')}` },
);
export type SourceConfig = z.infer<typeof SourceConfig>;

export const AlertThreshold = z
  .strictObject({
    above: z.number().optional().describe('alert while the value is above this'),
    below: z.number().optional().describe('alert while the value is below this'),
  })
  .refine(
    (a) => a.above !== undefined || a.below !== undefined,
    'expected above, below or both, got neither',
  );
export type AlertThreshold = z.infer<typeof AlertThreshold>;

export const SignalConfig = z.strictObject({
  name: Name.describe('unique signal name within its target'),
  description: z.string().optional().describe('what the signal means, for people and the proposer'),
  source: SourceConfig.describe('where the number comes from; kind is one of ' + SOURCE_KINDS.join(', ')),
  unit: z.string().min(1).describe('unit of the value, e.g. ms, MiB, ratio, count, s'),
  direction: z.enum(['higher_is_better', 'lower_is_better']).describe('which way is better'),
  alert: AlertThreshold.optional().describe('alert threshold; alert state is derived from samples'),
  role: z
    .enum(['liveness', 'productivity', 'performance', 'resource', 'other'])
    .default('other')
    .describe(
      'liveness (is it alive) and productivity (is it doing useful work) are different signals (default other)',
    ),
  area: Name.optional().describe('the part of the target this signal speaks for'),
});
export type SignalConfig = z.infer<typeof SignalConfig>;

export const HealthProbe = z
  .strictObject({
    url: HttpUrl.describe('URL probed after each deploy'),
    expectStatus: z
      .number()
      .int()
      .min(100)
      .max(599)
      .default(200)
      .describe('expected HTTP status (default 200)'),
    expectJson: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
      .prefault({})
      .describe('dotted JSON paths and the values they must have, e.g. { status: ok }'),
    timeout: dur('5s', 'one probe times out after'),
    maxLatency: dur('2s', 'a slower answer counts as a failed probe'),
    attempts: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(3)
      .describe('failed probes in a row that fail the deploy (default 3)'),
    interval: dur('2s', 'wait between probes'),
  })
  .transform(({ timeout, maxLatency, interval, ...rest }) => ({
    ...rest,
    timeoutMs: timeout,
    maxLatencyMs: maxLatency,
    intervalMs: interval,
  }));
export type HealthProbe = z.infer<typeof HealthProbe>;

export const DeployConfig = z
  .strictObject({
    command: z
      .array(z.string())
      .min(1)
      .describe('argv of the deploy command, run in the target repo without a shell'),
    timeout: dur('5m', 'the deploy is failed after'),
    stabilisation: dur('30s', 'wait after deploy before the first health probe'),
  })
  .transform(({ timeout, stabilisation, ...rest }) => ({
    ...rest,
    timeoutMs: timeout,
    stabilisationMs: stabilisation,
  }));

export const Runbook = z
  .strictObject({
    description: z.string().optional().describe('what the action does'),
    command: z
      .array(z.string())
      .min(1)
      .describe('argv of the action, run in the target repo without a shell'),
    inverse: z
      .array(z.string())
      .min(1)
      .describe('argv that undoes it (required: no action without a way back)'),
    timeout: dur('2m', 'the action (or its inverse) fails after'),
  })
  .transform(({ timeout, ...rest }) => ({ ...rest, timeoutMs: timeout }));
export type Runbook = z.infer<typeof Runbook>;

/*
 * Self-heal rules: "when this signal has been above/below a value (or flat) for this long, propose
 * this change". The offline rules engine (src/propose/rules) evaluates them from stored samples. The
 * proposal is a template whose strings may contain {{signal}}, {{value}} and {{held}}; it is checked
 * against the Proposal schema at load (with stand-in values), so a broken rule is a config error.
 */

/** The placeholders a rule's proposal template may use. */
export const TEMPLATE_PLACEHOLDERS = ['signal', 'value', 'held'] as const;
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Replace {{signal}}, {{value}} and {{held}} in every string of `value` (deeply); other text is kept. */
export function fillTemplate<T>(value: T, vars: Record<(typeof TEMPLATE_PLACEHOLDERS)[number], string>): T {
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string')
      return v.replace(PLACEHOLDER, (whole, name: string) =>
        Object.hasOwn(vars, name) ? vars[name as keyof typeof vars] : whole,
      );
    if (Array.isArray(v)) return v.map(fill);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  return fill(value) as T;
}

const RuleCondition = z
  .strictObject({
    signal: Name.describe('the signal of this target the rule watches'),
    condition: z
      .enum(['above', 'below', 'flat'])
      .describe(
        'above/below: every value in the window is strictly beyond value; flat: the signal moved by at most tolerance (relative to its median) over the window',
      ),
    value: z.number().optional().describe('the threshold, for above and below (required there)'),
    // The identity transform keeps the config reference's "duration" type (a described Duration is a copy).
    for: Duration.transform((ms) => ms).describe(
      'how long it must hold, e.g. 10m: the window of samples checked (at least 3 values spanning 80 % of it)',
    ),
    tolerance: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('flat only: relative change allowed over the window (default 0.01)'),
  })
  .superRefine((w, ctx) => {
    if (w.condition !== 'flat' && w.value === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `is required with condition ${w.condition} (the threshold)`,
      });
    }
    if (w.condition === 'flat' && w.value !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: 'is not used with condition flat (use tolerance)',
      });
    }
    if (w.condition !== 'flat' && w.tolerance !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['tolerance'],
        message: `is only used with condition flat, not ${w.condition}`,
      });
    }
    if (w.for <= 0) {
      ctx.addIssue({ code: 'custom', path: ['for'], message: 'expected a duration longer than 0' });
    }
  })
  .transform(({ for: forMs, ...rest }) => ({ ...rest, forMs }));
export type RuleCondition = z.infer<typeof RuleCondition>;

const ConfigScalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** Which template keys each change kind needs (the Proposal schema then checks the filled-in change). */
const CHANGE_KEYS: Record<(typeof CHANGE_KINDS)[number], readonly string[]> = {
  edit: ['path', 'search', 'replace'],
  write: ['path', 'content'],
  config_set: ['path', 'key', 'value'],
  runbook: ['action'],
};

const ChangeTemplate = z.strictObject({
  kind: z.enum(CHANGE_KINDS).describe("the change kind; the same as the proposal's kind"),
  path: z.string().optional().describe('edit, write, config_set: file in the target repository'),
  search: z.string().optional().describe('edit: exact text to find (it must occur once)'),
  replace: z.string().optional().describe('edit: the text that replaces it'),
  content: z.string().optional().describe('write: the whole new content of the file'),
  key: z.string().optional().describe('config_set: dotted key path, e.g. worker.interval_ms'),
  value: ConfigScalar.optional().describe(
    'config_set: the value to set (a list or mapping needs an edit change)',
  ),
  action: Name.optional().describe('runbook: the allow-listed action to run'),
  params: z.record(z.string(), z.string()).optional().describe('runbook: parameters of the action'),
});

export const ProposalTemplate = z.strictObject({
  title: z.string().describe('one-line title; may use {{signal}}, {{value}}, {{held}}'),
  area: z.string().describe('the part of the target it changes, e.g. cache'),
  kind: z.enum(CHANGE_KINDS).describe('kind of every change in it'),
  changes: z.array(ChangeTemplate).min(1).describe('the changes, at least one'),
  hypothesis: z.string().describe('why the change should help; may use the placeholders'),
  prediction: z
    .strictObject({
      signal: z.string().describe('the signal expected to move ({{signal}} for the watched one)'),
      direction: z.enum(['up', 'down']).describe('which way it should move'),
      magnitude: z
        .number()
        .positive()
        .describe('how far: a fraction of the baseline median when relative, else in its unit'),
      relative: z.boolean().default(true).describe('magnitude is relative (default true)'),
    })
    .describe('the numeric prediction the change is judged by'),
  risk: z.enum(RISKS).describe('risk the proposer claims; the guard may raise it'),
  rollback: z.string().optional().describe('how to undo it, in words'),
  validationWindow: Duration.transform((ms) => `${ms}ms`)
    .optional()
    .describe('how long after the apply the outcome is judged (default: validation.window)'),
});
export type ProposalTemplate = z.infer<typeof ProposalTemplate>;

/** Unknown placeholders, missing keys per change kind, then the Proposal schema on the filled-in template. */
function checkTemplate(
  rule: { when: RuleCondition; propose: ProposalTemplate },
  ctx: z.core.$RefinementCtx,
): void {
  // A problem the template's own schema found (say, an empty changes list) is not reported twice.
  if (ctx.issues.length > 0) return;
  let problems = 0;
  const walk = (v: unknown, at: (string | number)[]): void => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(PLACEHOLDER)) {
        if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
          problems++;
          ctx.addIssue({
            code: 'custom',
            path: ['propose', ...at],
            message: `unknown placeholder ${m[0]}: use {{signal}}, {{value}} or {{held}}`,
          });
        }
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, i]));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
  };
  walk(rule.propose, []);
  rule.propose.changes.forEach((c, i) => {
    const needed = CHANGE_KEYS[c.kind];
    for (const key of Object.keys(c)) {
      if (key !== 'kind' && !needed.includes(key)) {
        problems++;
        ctx.addIssue({
          code: 'custom',
          path: ['propose', 'changes', i, key],
          message: `is not used by a ${c.kind} change (it takes ${needed.join(', ')})`,
        });
      }
    }
    for (const key of needed) {
      if (!(key in c)) {
        problems++;
        ctx.addIssue({
          code: 'custom',
          path: ['propose', 'changes', i, key],
          message: `is required for a ${c.kind} change`,
        });
      }
    }
  });
  if (problems > 0) return;
  const filled = fillTemplate(rule.propose, { signal: rule.when.signal, value: '12.3', held: '10m' });
  const result = Proposal.safeParse(filled, { reportInput: true });
  for (const issue of result.error?.issues ?? []) {
    ctx.addIssue({ ...issue, path: ['propose', ...issue.path] } as z.core.$ZodRawIssue);
  }
}

/** A rule's condition and proposal template; a lesson's action has the same shape. */
export const RuleAction = z
  .strictObject({
    when: RuleCondition.describe('the condition that fires it'),
    propose: ProposalTemplate.describe('the proposal it makes (a template)'),
  })
  .superRefine(checkTemplate);
export type RuleAction = z.infer<typeof RuleAction>;

export const SelfHealRule = z
  .strictObject({
    name: Name.describe('unique rule name within its target'),
    when: RuleCondition.describe('the condition that fires the rule'),
    propose: ProposalTemplate.describe(
      'the proposal it makes: the fields of a proposal, whose strings may use {{signal}}, {{value}} (the newest value) and {{held}} (how long the condition has held)',
    ),
    cooldown: dur('6h', 'the rule does not fire again within this long after it fired'),
  })
  .superRefine(checkTemplate)
  .transform(({ cooldown, ...rest }) => ({ ...rest, cooldownMs: cooldown }));
export type SelfHealRule = z.infer<typeof SelfHealRule>;
export type SelfHealRuleInput = z.input<typeof SelfHealRule>;

const SelfHealRules = z.array(SelfHealRule).superRefine((rules, ctx) => {
  const seen = new Map<string, number>();
  rules.forEach((r, i) => {
    const prev = seen.get(r.name);
    if (prev !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'name'],
        message: `duplicate rule name "${r.name}" (also rules[${prev}])`,
      });
    }
    seen.set(r.name, i);
  });
});

const TargetFields = {
  name: Name.describe('target name'),
  repo: z.string().min(1).describe('path to the target git repository, relative to this file'),
  branch: z.string().min(1).default('main').describe('branch kaizen commits to (default main)'),
  remote: z
    .string()
    .min(1)
    .optional()
    .describe('git remote to push to and verify; none means local commits only'),
  deploy: DeployConfig.optional().describe('how a committed change goes live'),
  health: HealthProbe.optional().describe('health probe run after each deploy'),
  guardPolicy: z
    .string()
    .optional()
    .describe(
      'policy file for this target only, overriding guard.policy and the shipped default, relative to this file',
    ),
  runbooks: z
    .record(Name, Runbook)
    .prefault({})
    .describe('allow-listed runbook actions by name, each with its declared inverse'),
  rules: SelfHealRules.default([]).describe(
    'self-heal rules: when a signal holds above/below a value (or flat) for a while, propose a templated change (the offline rules engine)',
  ),
};

const Target = z.strictObject(TargetFields);
const TargetWithSignals = z.strictObject({
  ...TargetFields,
  signals: z.array(SignalConfig).default([]).describe('signals of this target'),
});

function cronExpr(fallback: string, what: string) {
  return z
    .string()
    .superRefine((text, ctx) => {
      try {
        new Cron(text, { paused: true });
      } catch (e) {
        // croner: "CronPattern: invalid configuration format ('x'), exactly five, … are required." → "exactly five, … are required"
        const reason = (e as Error).message
          .replace(/^CronPattern: /, '')
          .replace(/^invalid configuration format \(.*\), /s, '')
          .replace(/\.$/, '');
        ctx.addIssue({
          code: 'custom',
          message: `expected a cron expression such as "0 3 * * *", got ${describeValue(text)} (${reason})`,
        });
      }
    })
    .default(fallback)
    .describe(`${what} (cron, in timeZone; default "${fallback}")`);
}

export const ScheduleConfig = z
  .strictObject({
    observe: dur('5m', 'sample every signal this often'),
    propose: dur('1h', 'propose this often (and at once on an alert)'),
    distill: cronExpr('0 3 * * *', 'nightly distill'),
    metaReview: cronExpr('0 6 * * 1', 'weekly meta-review'),
  })
  .transform(({ observe, propose, ...rest }) => ({ ...rest, observeMs: observe, proposeMs: propose }));

export const ObserveConfig = z.strictObject({
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(16)
    .describe('sources sampled at once in a tick (default 16)'),
});

export const RetentionConfig = z
  .strictObject({
    rawSamples: dur('14d', 'raw samples are kept this long'),
    rollups: dur('365d', 'hourly rollups are kept this long'),
    deleteBatch: z
      .number()
      .int()
      .min(100)
      .max(1_000_000)
      .default(5000)
      .describe('rows deleted per batch (default 5000)'),
  })
  .transform(({ rawSamples, rollups, ...rest }) => ({
    ...rest,
    rawSamplesMs: rawSamples,
    rollupsMs: rollups,
  }));

export const GuardConfig = z.strictObject({
  policy: z
    .string()
    .optional()
    .describe('policy file whose keys override the shipped guards/default.yaml, relative to this file'),
  shadow: z.boolean().default(false).describe('run the whole loop except Apply (default false)'),
});

export const ProposerConfig = z
  .strictObject({
    provider: z
      .enum(['auto', 'anthropic', 'openai', 'rules'])
      .default('auto')
      .describe(
        'auto: anthropic with ANTHROPIC_API_KEY, else openai with OPENAI_API_KEY, else the offline rules engine (default auto)',
      ),
    model: z
      .string()
      .optional()
      .describe('model for every task without its own in `models` (provider default when unset)'),
    models: z
      .strictObject({
        propose: z.string().optional().describe('model that proposes interventions'),
        distill: z.string().optional().describe('model of the nightly distiller'),
        review: z.string().optional().describe('model of the weekly meta-review narrative'),
      })
      .default({})
      .describe('a model per task, so routine work can use a cheaper tier (each falls back to `model`)'),
    baseUrl: HttpUrl.optional().describe('API base URL, e.g. a local OpenAI-compatible server'),
    contextTokens: z
      .number()
      .int()
      .min(1000)
      .default(16000)
      .describe('token budget of one proposer context (default 16000)'),
    dailyTokens: z
      .number()
      .int()
      .min(0)
      .default(200_000)
      .describe(
        'model tokens (in + out) per target per calendar day; when spent, proposing pauses and says so (default 200000)',
      ),
    maxOutputTokens: z
      .number()
      .int()
      .min(256)
      .default(4096)
      .describe('longest answer asked of the model (default 4096)'),
    timeout: dur('60s', 'one model call is abandoned after'),
    alertDebounce: dur(
      '5m',
      'a cycle triggered by an alert or a stall starts at most this often per target, so a flapping signal does not start one per sample',
    ),
    stallAfter: dur(
      '2h',
      'a productivity signal flat (within 1 % of its median) for this long triggers a cycle, at most once per this long per signal',
    ),
  })
  .transform(({ timeout, alertDebounce, stallAfter, ...rest }) => ({
    ...rest,
    timeoutMs: timeout,
    alertDebounceMs: alertDebounce,
    stallAfterMs: stallAfter,
  }));

export const ValidationConfig = z
  .strictObject({
    window: dur('60m', 'validation window after an apply'),
    denseInterval: dur('30s', 'sampling interval of watched signals while a window is open'),
    confidence: z
      .number()
      .gt(0.5)
      .lt(1)
      .default(0.98)
      .describe('confidence level of the rank test (default 0.98)'),
    tolerance: z
      .number()
      .min(0)
      .max(1)
      .default(0.25)
      .describe(
        'fraction of the predicted magnitude a significant effect must reach to count as validated (default 0.25)',
      ),
  })
  .transform(({ window, denseInterval, ...rest }) => ({
    ...rest,
    windowMs: window,
    denseIntervalMs: denseInterval,
  }));

export const WebhookConfig = z
  .strictObject({
    url: HttpUrl.describe(
      'where notifications are POSTed (it often holds a token: kaizen logs only its host)',
    ),
    format: z
      .enum(['generic', 'slack', 'discord'])
      .default('generic')
      .describe('body format (default generic)'),
    timeout: dur('10s', 'one delivery attempt is abandoned after'),
    attempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(5)
      .describe(
        'attempts per notification before kaizen gives up and records notify_failed; network errors, timeouts, 429 and 5xx are retried with exponential backoff, other answers are not (default 5)',
      ),
  })
  .transform(({ timeout, ...rest }) => ({ ...rest, timeoutMs: timeout }));
export type WebhookConfig = z.infer<typeof WebhookConfig>;

export const NotificationsConfig = z
  .strictObject({
    webhooks: z.array(WebhookConfig).default([]).describe('webhook receivers'),
    dashboardUrl: HttpUrl.optional().describe(
      'public base URL of the dashboard, for links in notifications (default http://<server.host>:<server.port>)',
    ),
    interval: dur('30s', 'how often the notifier reads new events and delivers what is due'),
    driftScan: dur(
      '1h',
      'how often the drift scan looks for a dirty work tree and commits that bypassed kaizen on the target branch',
    ),
    deadline: dur(
      '2m',
      'one notifier pass stops delivering after this long; what is left goes in the next pass',
    ),
  })
  .transform(({ interval, driftScan, deadline, ...rest }) => ({
    ...rest,
    intervalMs: interval,
    driftScanMs: driftScan,
    deadlineMs: deadline,
  }));
export type NotificationsConfig = z.infer<typeof NotificationsConfig>;

/** `redis://[user:password@]host:port/db` or `rediss://…` (TLS); the password is never echoed back. */
const RedisUrl = z.string().superRefine((text, ctx) => {
  let ok = false;
  try {
    const u = new URL(text);
    ok = (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
  } catch {
    ok = false;
  }
  if (!ok)
    ctx.addIssue({
      code: 'custom',
      message: 'expected a Redis URL such as redis://127.0.0.1:6379/0 (or rediss:// for TLS)',
    });
});

const queueConcurrency = (fallback: number, what: string) =>
  z.number().int().min(1).max(64).default(fallback).describe(`${what} (default ${fallback})`);

export const RedisConfig = z
  .strictObject({
    url: RedisUrl.optional().describe(
      'run the jobs on BullMQ queues in this Redis (redis://[user:password@]host:port/db) instead of the embedded scheduler; KAIZEN_REDIS_URL overrides it (default: unset, embedded)',
    ),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected letters, digits, _ . or - (at most 64)')
      .default('kaizen')
      .describe('prefix of every Redis key, so several kaizen systems can share one Redis (default kaizen)'),
    stallTimeout: dur(
      '30s',
      'a running job whose worker stops renewing its lock for this long (killed, frozen) is handed to another worker',
    ),
    concurrency: z
      .strictObject({
        observe: queueConcurrency(4, 'observe jobs one worker process runs at once'),
        distill: queueConcurrency(1, 'distill jobs one worker process runs at once'),
        review: queueConcurrency(1, 'weekly-review jobs one worker process runs at once'),
        notify: queueConcurrency(1, 'notification jobs one worker process runs at once'),
        drift: queueConcurrency(1, 'drift-scan jobs one worker process runs at once'),
      })
      .prefault({})
      .describe(
        'jobs per queue per worker process; jobs that may commit to a repo (propose, validate) share one queue that runs one job at a time across all workers, whatever is set here',
      ),
  })
  .transform(({ stallTimeout, ...rest }) => ({ ...rest, stallTimeoutMs: stallTimeout }));
export type RedisConfig = z.infer<typeof RedisConfig>;

export const ServerConfig = z.strictObject({
  enabled: z
    .boolean()
    .default(true)
    .describe('serve /health, /metrics, the API and the dashboard (default true)'),
  host: z
    .string()
    .default('127.0.0.1')
    .describe(
      'bind address (default 127.0.0.1: loopback only); kaizen refuses to listen beyond loopback without a token',
    ),
  port: z.number().int().min(0).max(65535).default(7878).describe('port (default 7878)'),
  tokenEnv: z
    .string()
    .default('KAIZEN_TOKEN')
    .describe(
      'environment variable holding the bearer token (at least 16 characters) for state-changing calls, and for every call when host is beyond loopback (default KAIZEN_TOKEN)',
    ),
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(1_048_576)
    .default(65_536)
    .describe('largest request body accepted; a larger one is refused with 413 (default 65536)'),
});

const TrustedKey = z
  .strictObject({
    name: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .describe('what people call the peer system, e.g. shop-eu; used in messages'),
    publicKey: z
      .string()
      .min(1)
      .describe('its Ed25519 public key: the base64 text its `kaizen keys init` printed (or a PEM block)'),
  })
  .transform((k, ctx) => {
    try {
      return { ...k, fingerprint: fingerprintOf(parsePublicKey(k.publicKey)) };
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['publicKey'], message: (e as Error).message });
      return z.NEVER;
    }
  });

export const ExchangeConfig = z
  .strictObject({
    repo: z
      .string()
      .min(1)
      .optional()
      .describe(
        'the shared git repository peers exchange signed lessons through: a URL, or a path relative to this file (`kaizen lessons sync` needs it)',
      ),
    branch: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9._/-]*$/, 'expected a git branch name such as kaizen-lessons')
      .refine((b) => !b.includes('..') && !b.endsWith('.lock') && !b.endsWith('/'), {
        message: 'expected a git branch name such as kaizen-lessons',
      })
      .default('kaizen-lessons')
      .describe('the branch of the shared repository that holds the lessons (default kaizen-lessons)'),
    keyDir: z
      .string()
      .min(1)
      .optional()
      .describe(
        'where `kaizen keys init` keeps the signing key pair, relative to this file (default <dataDir>/keys)',
      ),
    outbox: z
      .string()
      .min(1)
      .optional()
      .describe(
        'where `kaizen lessons export` writes signed lessons, relative to this file (default <dataDir>/outbox)',
      ),
    trustedKeys: z
      .array(TrustedKey)
      .default([])
      .superRefine((keys, ctx) => {
        const seen = new Map<string, number>();
        keys.forEach((k, i) => {
          const prev = seen.get(k.fingerprint);
          if (prev !== undefined)
            ctx.addIssue({
              code: 'custom',
              path: [i, 'publicKey'],
              message: `the same key as trustedKeys[${prev}]`,
            });
          seen.set(k.fingerprint, i);
        });
      })
      .describe("peers whose signed lessons are imported; any other signer's lessons are refused"),
    timeout: dur('2m', 'one git command against the shared repository is stopped after'),
  })
  .transform(({ timeout, ...rest }) => ({ ...rest, timeoutMs: timeout }));
/** `exchange` after loading: paths absolute, keyDir and outbox defaulted under dataDir. */
export type ExchangeConfig = Omit<z.infer<typeof ExchangeConfig>, 'keyDir' | 'outbox'> & {
  keyDir: string;
  outbox: string;
};

/** A git URL (`https://…`, `ssh://…`, `host:path`) as it is; a local path resolved against `baseDir`. */
export function resolveGitLocation(baseDir: string, location: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location)) return location;
  // scp-like `user@host:path`: a colon before the first slash (as git itself decides).
  if (/^[^/\\]{2,}:/.test(location)) return location;
  return path.resolve(baseDir, location);
}

const TimeZone = z
  .string()
  .superRefine((tz, ctx) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `expected an IANA time zone such as "UTC" or "Europe/Berlin", got ${describeValue(tz)}`,
      });
    }
  })
  .default('UTC')
  .describe('time zone for budgets (calendar days) and nightly/weekly jobs (default UTC)');

export const KaizenConfigInput = z
  .strictObject({
    dataDir: z
      .string()
      .default('.kaizen')
      .describe('where the SQLite store and reports live, relative to this file (default .kaizen)'),
    timeZone: TimeZone,
    lessonsDir: z
      .string()
      .optional()
      .describe(
        "this system's own lessons (one YAML file each: distilled, imported, added or retired here), relative to this file; the shipped seed lessons are always read too (default <dataDir>/lessons)",
      ),
    target: Target.optional().describe('the target system (single-target form; use targets for several)'),
    signals: z.array(SignalConfig).optional().describe('signals of the single target'),
    targets: z.array(TargetWithSignals).optional().describe('several targets, each with its own signals'),
    schedule: ScheduleConfig.prefault({}).describe('how often each stage runs'),
    observe: ObserveConfig.prefault({}).describe('sampling'),
    retention: RetentionConfig.prefault({}).describe('how long samples are kept'),
    guard: GuardConfig.prefault({}).describe('guard gate'),
    proposer: ProposerConfig.prefault({}).describe('who proposes changes'),
    validation: ValidationConfig.prefault({}).describe('how outcomes are judged'),
    notifications: NotificationsConfig.prefault({}).describe('where kaizen speaks'),
    server: ServerConfig.prefault({}).describe('HTTP server'),
    redis: RedisConfig.prefault({}).describe(
      'BullMQ job queues in Redis (optional: without a URL the jobs run in-process)',
    ),
    exchange: ExchangeConfig.prefault({}).describe('sharing signed lessons with other kaizen systems'),
  })
  .superRefine((c, ctx) => {
    if (c.targets !== undefined && (c.target !== undefined || c.signals !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets'],
        message: 'use either target + signals, or targets, not both',
      });
    } else if (c.targets === undefined && c.target === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message: 'is required: the target system to watch (or a targets list)',
      });
    } else if (c.targets !== undefined && c.targets.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['targets'], message: 'expected at least one target' });
    }
    const targetNames = new Map<string, number>();
    c.targets?.forEach((t, i) => {
      const prev = targetNames.get(t.name);
      if (prev !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', i, 'name'],
          message: `duplicate target name "${t.name}" (also targets[${prev}])`,
        });
      }
      targetNames.set(t.name, i);
    });
    const checkSignals = (signals: SignalConfig[] | undefined, at: (string | number)[]) => {
      const seen = new Map<string, number>();
      signals?.forEach((s, i) => {
        const prev = seen.get(s.name);
        if (prev !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [...at, i, 'name'],
            message: `duplicate signal name "${s.name}" (also ${formatPath([...at, prev])})`,
          });
        }
        seen.set(s.name, i);
      });
    };
    checkSignals(c.signals, ['signals']);
    c.targets?.forEach((t, i) => checkSignals(t.signals, ['targets', i, 'signals']));
  });
export type KaizenConfigInput = z.infer<typeof KaizenConfigInput>;

/** `['signals', 2, 'direction']` → `signals[2].direction` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

export type TargetConfig = z.infer<typeof TargetWithSignals> & {
  /** Absolute path of the target repository. */
  repoPath: string;
};

/** The config after validation: paths made absolute, the single-target form folded into `targets`. */
export type KaizenConfig = Omit<
  KaizenConfigInput,
  'target' | 'signals' | 'targets' | 'dataDir' | 'lessonsDir' | 'exchange'
> & {
  /** Signed lesson exchange, with absolute keyDir and outbox. */
  exchange: ExchangeConfig;
  /** Absolute path of the config file it came from. */
  configPath: string;
  /** Absolute path of the data folder. */
  dataDir: string;
  /** Absolute path of this system's own lessons folder. */
  lessonsDir: string;
  targets: TargetConfig[];
};
