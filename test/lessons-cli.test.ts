import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SHIPPED_LESSONS_DIR } from '../src/learn/lesson-files.js';
import { openStore } from '../src/store/index.js';
import { runCli } from './helpers/cli.js';
import { writeConfig } from './helpers/config.js';
import { gitRepo } from './helpers/git.js';
import { tempDir } from './helpers/temp.js';

const lessonYaml = (id: string, extra: Record<string, unknown> = {}) =>
  [
    `id: ${id}`,
    'scope: queue_workers',
    'when: the worker queue grows for an hour while workers are idle',
    'prefer: restart the dispatcher, not the workers',
    'because: the dispatcher holds a stale lease; workers are fine',
    'falsifiable: true iff the queue drains within 10 minutes of the dispatcher restart',
    'source: human',
    'status: active',
    "created_at: '2026-11-01'",
    ...Object.entries(extra).map(([k, v]) => `${k}: ${JSON.stringify(v)}`),
    '',
  ].join('\n');

function setup() {
  const dir = tempDir();
  const config = writeConfig({ lessonsDir: 'lessons' }, dir);
  const c = ['-c', config.configPath];
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  return { dir, config, c, file };
}

describe('kaizen lessons', () => {
  it('adds a lesson file atomically into the lessons folder, lists it, shows it, and indexes it', async () => {
    const { config, c, file } = setup();
    const add = await runCli('lessons', 'add', file('q.yaml', lessonYaml('Q0001')), ...c, '--by', 'ana');
    expect(add.err).toBe('');
    expect(add.out).toBe(
      `added lesson Q0001 (active, scope queue_workers) as ${path.join(config.lessonsDir, 'Q0001.yaml')}\n`,
    );
    expect(readdirSync(config.lessonsDir)).toEqual(['Q0001.yaml']); // no temporary file left behind
    expect(parse(readFileSync(path.join(config.lessonsDir, 'Q0001.yaml'), 'utf8'))).toMatchObject({
      id: 'Q0001',
      prefer: 'restart the dispatcher, not the workers',
    });

    const listed = await runCli('lessons', '--scope', 'queue_workers', ...c);
    expect(listed.out).toMatch(/^ID\s+STATUS\s+SOURCE\s+SCOPE\s+SCAN\s+PREFER\n/);
    expect(listed.out).toMatch(/Q0001\s+active\s+human\s+queue_workers\s+restart the dispatcher/);
    expect(listed.out).toContain('1 lesson(s)');

    const shown = await runCli('lessons', 'show', 'Q0001', ...c);
    expect(shown.out).toContain(
      `# ${path.join(config.lessonsDir, 'Q0001.yaml')} (this system's lessons folder)`,
    );
    expect(shown.out).toContain('because: the dispatcher holds a stale lease; workers are fine');
    expect(shown.out).toContain('not cited or argued against by any intervention yet');

    const store = openStore(config.dataDir);
    expect(store.lessons.get('Q0001')?.origin).toBe('local');
    const event = store.events.list({ kind: 'lesson_added' })[0];
    expect(event?.data).toMatchObject({ lesson: 'Q0001', actor: 'ana' });
    store.close();
  });

  it('refuses an existing id without --replace, and replaces with it', async () => {
    const { c, file } = setup();
    await runCli('lessons', 'add', file('a.yaml', lessonYaml('Q0002')), ...c, '--by', 'ana');
    const again = file(
      'b.yaml',
      lessonYaml('Q0002').replace('restart the dispatcher, not the workers', 'drain the queue first'),
    );
    const refused = await runCli('lessons', 'add', again, ...c, '--by', 'ana');
    expect(refused.code).toBe(64);
    expect(refused.err).toMatch(
      /^kaizen: lesson Q0002 already exists \(.*Q0002\.yaml\): use --replace to replace it, or give the new lesson another id\n$/,
    );
    const replaced = await runCli('lessons', 'add', again, '--replace', ...c, '--by', 'ana');
    expect(replaced.out).toMatch(/replacing .*Q0002\.yaml/);
    const shown = await runCli('lessons', 'show', 'Q0002', '--json', ...c);
    expect((JSON.parse(shown.out) as { prefer: string }).prefer).toBe('drain the queue first');
  });

  it('refuses a malformed lesson file, saying which file and what is wrong, and adds nothing', async () => {
    const { config, c, file } = setup();
    const bad = file('bad.yaml', lessonYaml('Q0003').replace('source: human', 'source: rumour'));
    const r = await runCli('lessons', 'add', bad, ...c, '--by', 'ana');
    expect(r.code).toBe(65);
    expect(r.err).toBe(
      `kaizen: ${bad}: source: Invalid option: expected one of "human"|"distilled"|"imported"; nothing was added\n`,
    );
    const notYaml = file('broken.yaml', 'id: [unclosed\n');
    expect((await runCli('lessons', 'add', notYaml, ...c, '--by', 'ana')).err).toMatch(
      new RegExp(`^kaizen: ${notYaml.replaceAll('/', '\\/')}: not valid YAML: `),
    );
    expect(existsSync(config.lessonsDir)).toBe(false);
  });

  it('skips a malformed file in the lessons folder with a warning naming it, and lists the rest', async () => {
    const { config, c } = setup();
    mkdirSync(config.lessonsDir, { recursive: true });
    writeFileSync(path.join(config.lessonsDir, 'Q0004.yaml'), lessonYaml('Q0004'));
    writeFileSync(path.join(config.lessonsDir, 'half.yaml'), 'id: Q0005\nscope: x\n');
    const r = await runCli('lessons', '--source', 'human', ...c);
    expect(r.code).toBe(0);
    expect(r.err).toContain(
      `kaizen: skipped lesson file ${path.join(config.lessonsDir, 'half.yaml')}: when:`,
    );
    expect(r.out).toContain('Q0004');
    expect(r.out).not.toContain('Q0005');
  });

  it('retires a lesson with when and why; it stays on file, and cannot be retired twice', async () => {
    const { config, c, file } = setup();
    await runCli('lessons', 'add', file('q.yaml', lessonYaml('Q0006')), ...c, '--by', 'ana');
    const r = await runCli(
      'lessons',
      'retire',
      'Q0006',
      '--why',
      'the dispatcher was rewritten',
      ...c,
      '--by',
      'bo',
    );
    expect(r.out).toBe(
      `retired lesson Q0006 (${path.join(config.lessonsDir, 'Q0006.yaml')}): the dispatcher was rewritten\n`,
    );
    const onFile = parse(readFileSync(path.join(config.lessonsDir, 'Q0006.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(onFile).toMatchObject({ status: 'retired', retired_why: 'the dispatcher was rewritten' });
    expect(onFile.retired_at).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect((await runCli('lessons', '--status', 'retired', ...c)).out).toContain('Q0006');
    expect((await runCli('lessons', '--status', 'active', ...c)).out).not.toContain('Q0006');

    const twice = await runCli('lessons', 'retire', 'Q0006', '--why', 'again', ...c, '--by', 'bo');
    expect(twice.code).toBe(64);
    expect(twice.err).toMatch(
      /^kaizen: lesson Q0006 is already retired \(\d{4}-\d{2}-\d{2}: the dispatcher was rewritten\)\n$/,
    );
  });

  it('retires a shipped lesson with a local copy, never writing into kaizen’s install', async () => {
    const shipped = readdirSync(SHIPPED_LESSONS_DIR).filter((f) => f.endsWith('.yaml'));
    if (shipped.length === 0) return; // covered once seed lessons ship
    const id = shipped[0]!.replace(/\.yaml$/, '');
    const before = readFileSync(path.join(SHIPPED_LESSONS_DIR, shipped[0]!), 'utf8');
    const { config, c } = setup();
    const r = await runCli('lessons', 'retire', id, '--why', 'not how we run things', ...c, '--by', 'ana');
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(SHIPPED_LESSONS_DIR, shipped[0]!), 'utf8')).toBe(before);
    expect(existsSync(path.join(config.lessonsDir, `${id}.yaml`))).toBe(true);
    const shown = JSON.parse((await runCli('lessons', 'show', id, '--json', ...c)).out) as Record<
      string,
      unknown
    >;
    expect(shown).toMatchObject({ status: 'retired', origin: 'local' });
  });

  it.each([
    [
      'a lookahead',
      { pattern: 'requests\\.get\\((?!.*timeout)', files: '**/*.py' },
      `scan.pattern: lesson Q0010: the pattern uses a lookahead "(?!" at character 16, which kaizen's linear-time regex engine (RE2) does not support: write what a matching line must not contain as the scan rule's "unless" pattern (a line that matches it is not a finding)`,
    ],
    [
      'a backreference',
      { pattern: '(\\w+) \\1', files: '**/*.md' },
      `scan.pattern: lesson Q0010: the pattern uses a backreference "\\1" at character 7, which kaizen's linear-time regex engine (RE2) does not support: spell out the repeated text, or drop the scan rule`,
    ],
    [
      'a lookbehind in "unless"',
      { pattern: 'timeout', unless: '(?<=#.*)timeout', files: '**/*.py' },
      `scan.unless: lesson Q0010: the "unless" pattern uses a lookbehind "(?<=" at character 1, which kaizen's linear-time regex engine (RE2) does not support: match the character before explicitly, e.g. (^|[^\\w.]) for "not after a word character or a dot", or use "unless"`,
    ],
    [
      'an exponential glob',
      { pattern: 'x', files: '{*a*a,*a*a}{*a*a,*a*a}b' },
      `scan.files: lesson Q0010: the glob has 0 "**" segment(s) and 8 other "*" wildcard(s); a scan glob may have at most 2 and 3, 4 in all (matching more takes time that grows steeply with the length of a path): name the files more plainly, e.g. **/*.{py,ts}`,
    ],
  ])(
    'refuses a scan rule with %s, naming the lesson and what is unsupported, and adds nothing (issue 18)',
    async (_what, scan, why) => {
      const { config, c, file } = setup();
      const bad = file('scan.yaml', lessonYaml('Q0010', { scan }));

      const r = await runCli('lessons', 'add', bad, ...c, '--by', 'ana');

      expect(r.code).toBe(65);
      expect(r.err).toBe(`kaizen: ${bad}: ${why}; nothing was added\n`);
      expect(existsSync(config.lessonsDir)).toBe(false);
    },
  );

  it('accepts (a+)+$, and a dry-run proposal over a 5,000-character line of a and ! finishes with its findings (issue 18)', async () => {
    const dir = tempDir();
    const repo = gitRepo({ 'logs/hostile.txt': `${'a'.repeat(5000)}!\n`, 'logs/plain.txt': 'aaaa\n' });
    const config = writeConfig({ lessonsDir: 'lessons', target: { name: 'app', repo } }, dir);
    const c = ['-c', config.configPath];
    const lesson = path.join(dir, 'q.yaml');
    writeFileSync(lesson, lessonYaml('Q0011', { scan: { pattern: '(a+)+$', files: '**/*.txt' } }));

    const added = await runCli('lessons', 'add', lesson, ...c, '--by', 'ana');
    const dry = await runCli('propose', '--dry-run', ...c);

    expect(added.code).toBe(0);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('## Scan findings');
    expect(dry.out).toMatch(/Q0011.*logs\/plain\.txt|logs\/plain\.txt.*Q0011/);
    expect(dry.out).not.toMatch(/hostile\.txt:1/);
  });

  it('skips a distilled lesson file whose scan rule the engine cannot run, with a warning naming the lesson (issue 18)', async () => {
    const { config, c } = setup();
    mkdirSync(config.lessonsDir, { recursive: true });
    const distilled = path.join(config.lessonsDir, 'D-0a1b2c3d.yaml');
    writeFileSync(
      distilled,
      lessonYaml('D-0a1b2c3d', {
        source: 'distilled',
        scan: { pattern: '(?<![.\\w])urlopen\\(', files: '**/*.py' },
      }).replace('source: human\n', ''),
    );
    writeFileSync(path.join(config.lessonsDir, 'Q0012.yaml'), lessonYaml('Q0012'));

    const r = await runCli('lessons', ...c);

    expect(r.code).toBe(0);
    expect(r.err).toBe(
      `kaizen: skipped lesson file ${distilled}: scan.pattern: lesson D-0a1b2c3d: the pattern uses a lookbehind "(?<!" at character 1, which kaizen's linear-time regex engine (RE2) does not support: match the character before explicitly, e.g. (^|[^\\w.]) for "not after a word character or a dot", or use "unless"\n`,
    );
    expect(r.out).toContain('Q0012');
    expect(r.out).not.toContain('D-0a1b2c3d');
  });

  it('says what is wrong with bad input', async () => {
    const { c } = setup();
    expect((await runCli('lessons', '--status', 'dead', ...c)).err).toBe(
      'kaizen: --status "dead": expected active or retired\n',
    );
    expect((await runCli('lessons', '--source', 'me', ...c)).err).toBe(
      'kaizen: --source "me": expected human or distilled or imported\n',
    );
    const missing = await runCli('lessons', 'show', 'NOPE1', ...c);
    expect(missing.code).toBe(66);
    expect(missing.err).toBe('kaizen: no lesson "NOPE1": "kaizen lessons" lists them\n');
    expect((await runCli('lessons', 'retire', 'NOPE1', '--why', 'x', ...c, '--by', 'a')).err).toBe(
      'kaizen: no lesson "NOPE1": "kaizen lessons" lists them\n',
    );
    expect((await runCli('lessons', 'retire', 'NOPE1', ...c)).err).toContain(
      "required option '--why <reason>' not specified",
    );
    const noFile = await runCli('lessons', 'add', '/nonexistent/x.yaml', ...c, '--by', 'a');
    expect(noFile.err).toMatch(/^kaizen: \/nonexistent\/x\.yaml: cannot be read: ENOENT/);
  });
});
