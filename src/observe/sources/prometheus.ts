import { SourceError } from '../../errors.js';
import { httpGet } from './http-json.js';
import {
  formatLabels,
  formatMatchers,
  parsePrometheusText,
  parseSelector,
  SelectorSyntaxError,
  selectorMatches,
  type MetricSelector,
  type PromDocument,
  type PromSample,
} from './prometheus-text.js';
import type { SignalSource, SourceContext } from './types.js';
import { listSome, withDefaultHeader } from './support.js';

type Aggregate = 'sum' | 'max' | 'min' | 'avg' | 'count';

/** What a `mode: rate` signal keeps between samples: the previous aggregated value and when it was read. */
export interface RateState {
  value: number;
  t: number;
}

export const prometheus: SignalSource<'prometheus'> = {
  kind: 'prometheus',
  describe:
    'scrape a Prometheus /metrics page and read one series (or an aggregate of several), as a value or a per-second rate',
  async sample(config, ctx) {
    const selector = selectorOrThrow(config.metric);
    const headers = withDefaultHeader(config.headers, 'accept', 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1');
    const { body } = await httpGet({ url: config.url, headers, timeoutMs: config.timeoutMs }, ctx);
    const doc = parsePrometheusText(body);
    const series = doc.samples.filter((s) => selectorMatches(selector, s));
    if (series.length === 0) throw new SourceError(notFoundMessage(config.url, config.metric, selector, doc));
    const value = aggregate(series, config.aggregate);
    if (!Number.isFinite(value)) {
      throw new SourceError(
        `${config.metric} at ${config.url} is ${value} (${config.aggregate} of ${series.length} series), not a finite number`,
      );
    }
    return config.mode === 'rate' ? rate(value, ctx) : value;
  },
};

function selectorOrThrow(metric: string): MetricSelector {
  try {
    return parseSelector(metric);
  } catch (err) {
    if (err instanceof SelectorSyntaxError) throw new SourceError(err.message);
    throw err;
  }
}

export function aggregate(series: readonly PromSample[], how: Aggregate): number {
  const values = series.map((s) => s.value);
  switch (how) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'max':
      return values.reduce((a, b) => (b > a ? b : a));
    case 'min':
      return values.reduce((a, b) => (b < a ? b : a));
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'count':
      return values.length;
  }
}

/**
 * Per-second increase since the previous sample. A value lower than before means the counter was
 * reset (the process restarted), so, as Prometheus does, the new value counts as the increase since 0.
 * The state is saved before any error so that the next sample has something to compare with.
 */
function rate(value: number, ctx: SourceContext): number {
  const now = ctx.clock.now();
  const prev = readRateState(ctx.state);
  ctx.setState({ value, t: now } satisfies RateState);
  if (prev === undefined) throw new SourceError('first sample of a rate: no previous value yet');
  const seconds = (now - prev.t) / 1000;
  if (seconds <= 0) {
    throw new SourceError('no time has passed since the previous sample, so there is no rate yet');
  }
  const increase = value >= prev.value ? value - prev.value : value;
  return increase / seconds;
}

function readRateState(state: unknown): RateState | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const { value, t } = state as Partial<RateState>;
  return typeof value === 'number' && Number.isFinite(value) && typeof t === 'number' && Number.isFinite(t)
    ? { value, t }
    : undefined;
}

/** Say what is there instead: the series of the metric when only the labels miss, else similar names. */
function notFoundMessage(url: string, metric: string, selector: MetricSelector, doc: PromDocument): string {
  const problem = doc.problems[0];
  const unreadable = problem
    ? `; ${doc.problems.length} line(s) could not be read, first line ${problem.line}: ${problem.message}`
    : '';
  if (doc.samples.length === 0) return `${url} exposes no metrics${unreadable}`;
  const sameName = selector.name === undefined ? [] : doc.samples.filter((s) => s.name === selector.name);
  if (sameName.length > 0) {
    const seen = listSome(
      sameName.map((s) => formatLabels(s.labels)),
      5,
    );
    return `no series of ${selector.name} at ${url} matches ${formatMatchers(selector.matchers)}; its series: ${seen}`;
  }
  const names = [...new Set(doc.samples.map((s) => s.name))];
  const similar = selector.name === undefined ? [] : similarNames(selector.name, names);
  const hint =
    similar.length > 0 ? `similar names: ${similar.join(', ')}` : `it exposes e.g. ${listSome(names, 5)}`;
  return `metric ${metric} not found at ${url}; ${hint}${unreadable}`;
}

/**
 * At most 5 names like the wanted one, best first: near-misses by spelling (a typo, a missing "s")
 * before names that merely share words (split on "_" and ":") or a prefix with it.
 */
export function similarNames(wanted: string, names: readonly string[]): string[] {
  const typoLimit = Math.max(2, Math.floor(wanted.length / 4));
  const words = new Set(wanted.toLowerCase().split(/[_:]/).filter(Boolean));
  const related = (name: string) => {
    const lower = name.toLowerCase();
    const shared = lower.split(/[_:]/).filter((w) => words.has(w)).length;
    let prefix = 0;
    while (prefix < lower.length && lower[prefix] === wanted[prefix]?.toLowerCase()) prefix++;
    return shared * 100 + (prefix >= 3 ? prefix : 0);
  };
  return names
    .map((name) => {
      const distance = editDistance(wanted, name);
      return { name, typo: distance <= typoLimit, distance, related: related(name) };
    })
    .filter((c) => c.typo || c.related > 0)
    .sort(
      (a, b) =>
        Number(b.typo) - Number(a.typo) ||
        (a.typo ? a.distance - b.distance : 0) ||
        b.related - a.related ||
        a.name.localeCompare(b.name),
    )
    .slice(0, 5)
    .map((c) => c.name);
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
