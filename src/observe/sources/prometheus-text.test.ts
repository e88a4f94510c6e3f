import { describe, expect, it } from 'vitest';
import {
  parsePrometheusText,
  parseSelector,
  selectorMatches,
  SelectorSyntaxError,
  type PromSample,
} from './prometheus-text.js';

describe('parsePrometheusText', () => {
  it('reads names, labels, values and timestamps, and skips HELP/TYPE comments', () => {
    const doc = parsePrometheusText(
      [
        '# HELP http_requests_total The total number of HTTP requests.',
        '# TYPE http_requests_total counter',
        'http_requests_total{method="post",code="200"} 1027 1395066363000',
        'http_requests_total{method="post",code="400"}    3 1395066363000',
        '',
        'process_open_fds 12',
        'trailing_comma{a="1",} 2',
        '  spaced { a = "x" , b="y" }\t5',
      ].join('\n'),
    );
    expect(doc.problems).toEqual([]);
    expect(doc.samples).toEqual([
      {
        name: 'http_requests_total',
        labels: { method: 'post', code: '200' },
        value: 1027,
        timestamp: 1395066363000,
      },
      {
        name: 'http_requests_total',
        labels: { method: 'post', code: '400' },
        value: 3,
        timestamp: 1395066363000,
      },
      { name: 'process_open_fds', labels: {}, value: 12 },
      { name: 'trailing_comma', labels: { a: '1' }, value: 2 },
      { name: 'spaced', labels: { a: 'x', b: 'y' }, value: 5 },
    ]);
  });

  it('unescapes \\" \\\\ and \\n in label values', () => {
    const doc = parsePrometheusText(
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
    );
    expect(doc.samples[0]!.labels).toEqual({
      path: 'C:\\DIR\\FILE.TXT',
      error: 'Cannot find file:\n"FILE.TXT"',
    });
    expect(doc.samples[0]!.value).toBe(1.458255915e9);
  });

  it('reads +Inf, -Inf, NaN and exponents', () => {
    const doc = parsePrometheusText('a +Inf\nb -Inf\nc NaN\nd 1e3\ne -2.5E-1\nf{le="+Inf"} 7');
    expect(doc.samples.map((s) => s.value)).toEqual([Infinity, -Infinity, NaN, 1000, -0.25, 7]);
    expect(doc.samples[5]!.labels).toEqual({ le: '+Inf' });
  });

  it('ignores OpenMetrics exemplars and # EOF, and reads quoted UTF-8 names', () => {
    const doc = parsePrometheusText('foo_total 17 # {trace_id="abc"} 1\n{"my.metric", a="b"} 3\n# EOF\n');
    expect(doc.problems).toEqual([]);
    expect(doc.samples).toEqual([
      { name: 'foo_total', labels: {}, value: 17 },
      { name: 'my.metric', labels: { a: 'b' }, value: 3 },
    ]);
  });

  it('reports bad lines with their number and keeps the good ones', () => {
    const doc = parsePrometheusText('good 1\nbad{a="x} 2\nnovalue\nworse 12abc\nok 2');
    expect(doc.samples.map((s) => s.name)).toEqual(['good', 'ok']);
    expect(doc.problems).toEqual([
      { line: 2, message: 'the string starting here is never closed with " (column 7)' },
      { line: 3, message: 'expected a space and a value after the series, found the end (column 8)' },
      { line: 4, message: 'expected a number, found "12abc" (column 12)' },
    ]);
  });
});

describe('parseSelector', () => {
  const series = (name: string, labels: Record<string, string> = {}): PromSample => ({
    name,
    labels,
    value: 1,
  });

  it('matches by name alone', () => {
    const sel = parseSelector('up');
    expect(selectorMatches(sel, series('up', { job: 'x' }))).toBe(true);
    expect(selectorMatches(sel, series('upper'))).toBe(false);
  });

  it('supports =, !=, =~ and !~ with fully anchored regexes', () => {
    const sel = parseSelector(
      'http_requests_total{status=~"5..", method="GET", path!="/health", env!~"dev|test"}',
    );
    expect(sel.name).toBe('http_requests_total');
    const m = (labels: Record<string, string>) => selectorMatches(sel, series('http_requests_total', labels));
    expect(m({ status: '503', method: 'GET', path: '/', env: 'prod' })).toBe(true);
    expect(m({ status: '5030', method: 'GET', path: '/', env: 'prod' })).toBe(false); // anchored at the end
    expect(m({ status: '1503', method: 'GET', path: '/', env: 'prod' })).toBe(false); // anchored at the start
    expect(m({ status: '503', method: 'POST', path: '/', env: 'prod' })).toBe(false);
    expect(m({ status: '503', method: 'GET', path: '/health', env: 'prod' })).toBe(false);
    expect(m({ status: '503', method: 'GET', path: '/', env: 'dev' })).toBe(false);
    expect(m({ status: '503', method: 'GET', path: '/', env: 'devel' })).toBe(true); // !~ anchored too
  });

  it('treats a missing label as the empty string, as PromQL does', () => {
    expect(selectorMatches(parseSelector('x{a=""}'), series('x'))).toBe(true);
    expect(selectorMatches(parseSelector('x{a!="v"}'), series('x'))).toBe(true);
    expect(selectorMatches(parseSelector('x{a=~".+"}'), series('x'))).toBe(false);
  });

  it('accepts a name given as __name__ matcher and single-quoted or backtick values', () => {
    const sel = parseSelector(`{__name__=~"node_.*", mode='idle', cpu=\`0\`}`);
    expect(sel.name).toBeUndefined();
    expect(selectorMatches(sel, series('node_cpu_seconds_total', { mode: 'idle', cpu: '0' }))).toBe(true);
    expect(selectorMatches(sel, series('process_cpu', { mode: 'idle', cpu: '0' }))).toBe(false);
  });

  it('keeps backslashes of regex escapes such as \\d', () => {
    const sel = parseSelector('x{code=~"5\\d\\d"}');
    expect(selectorMatches(sel, series('x', { code: '503' }))).toBe(true);
    expect(selectorMatches(sel, series('x', { code: '5xx' }))).toBe(false);
  });

  it('says where and how a malformed selector goes wrong', () => {
    const bad = (text: string) => () => parseSelector(text);
    expect(bad('x{status=5}')).toThrow(SelectorSyntaxError);
    expect(bad('x{status=5}')).toThrow(
      'malformed metric selector "x{status=5}": expected a quoted string, found "5}" (at character 10)',
    );
    expect(bad('x{status}')).toThrow(
      'expected "=", "!=", "=~" or "!~" after label status, found "}" (at character 9)',
    );
    expect(bad('x{a="1" b="2"}')).toThrow(
      'expected "," or "}" after a matcher, found "b=\\"2\\"}" (at character 9)',
    );
    expect(bad('x{a="1"')).toThrow('expected "," or "}" after a matcher, found the end (at character 8)');
    expect(bad('x{a="1",')).toThrow('expected a label name, found the end (at character 9)');
    expect(bad('x y')).toThrow('unexpected "y" (at character 3)');
    expect(bad('{}')).toThrow('expected a metric name or at least one label matcher');
    expect(bad('x{a=~"("}')).toThrow(/invalid regular expression "\(": .* \(at character 6\)/);
  });
});
