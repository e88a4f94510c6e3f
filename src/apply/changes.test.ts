import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import type { Change } from '../propose/proposal.js';
import { ChangeError, planChanges, restoreEdits, writeEdits, type FileEdit } from './changes.js';
import { PathEscapeError } from './workspace.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function repo(files: Record<string, string | Buffer> = {}): string {
  const dir = tempDir('kaizen-changes-');
  fs.mkdirSync(path.join(dir, '.git'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const read = (root: string, rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');

const edit = (p: string, search: string, replace: string): Change => ({
  kind: 'edit',
  path: p,
  search,
  replace,
});
const write = (p: string, content: string): Change => ({ kind: 'write', path: p, content });
const set = (p: string, key: string, value: unknown): Change =>
  ({ kind: 'config_set', path: p, key, value }) as Change;

function planError(root: string, changes: Change[]): ChangeError {
  try {
    planChanges(root, changes);
  } catch (err) {
    expect(err).toBeInstanceOf(ChangeError);
    expect((err as ChangeError).code).toBe('CHANGE_NOT_APPLICABLE');
    return err as ChangeError;
  }
  throw new Error('expected planChanges to refuse');
}

/** The single planned content of one file. */
function after(root: string, changes: Change[]): string {
  const edits = planChanges(root, changes);
  expect(edits).toHaveLength(1);
  return edits[0]!.after;
}

describe('planChanges: edit', () => {
  it('replaces the one occurrence and writes nothing', () => {
    const root = repo({ 'src/app.py': 'a = 1\nb = 2\n' });
    const edits = planChanges(root, [edit('src/app.py', 'b = 2', 'b = 3')]);
    expect(edits).toEqual([
      {
        rel: 'src/app.py',
        abs: path.join(root, 'src/app.py'),
        before: 'a = 1\nb = 2\n',
        after: 'a = 1\nb = 3\n',
      },
    ]);
    expect(read(root, 'src/app.py')).toBe('a = 1\nb = 2\n');
  });

  it('treats $ patterns in the replacement as plain text', () => {
    const root = repo({ 'a.txt': 'price: X\n' });
    expect(after(root, [edit('a.txt', 'X', "$& $1 $$ $'")])).toBe("price: $& $1 $$ $'\n");
  });

  it('refuses search text that is missing or not unique', () => {
    const root = repo({ 'src/app.py': 'x\nx\nx\n', 'win.txt': 'a\r\nb\r\n' });
    expect(planError(root, [edit('src/app.py', 'y', 'z')]).message).toBe(
      'edit of src/app.py: search text not found',
    );
    expect(planError(root, [edit('src/app.py', 'x', 'z')]).message).toBe(
      'edit of src/app.py: search text occurs 3 times; it must be unique (add surrounding lines to the search text)',
    );
    // Overlapping occurrences count: "aa" occurs twice in "aaa".
    const r2 = repo({ 'a.txt': 'aaa' });
    expect(planError(r2, [edit('a.txt', 'aa', 'b')]).message).toContain('occurs 2 times');
    expect(planError(root, [edit('win.txt', 'a\nb', 'c')]).message).toBe(
      'edit of win.txt: search text not found (the file has Windows line endings, \\r\\n, and the search text has plain \\n)',
    );
  });

  it('refuses a missing, binary or non-UTF-8 file, and a folder', () => {
    const root = repo({
      'img.png': Buffer.from([0x89, 0x50, 0x00, 0x47]),
      'latin1.txt': Buffer.from([0x63, 0x61, 0x66, 0xe9]),
      'dir/x': 'x',
    });
    expect(planError(root, [edit('nope.py', 'a', 'b')]).message).toBe(
      'edit of nope.py: the file does not exist; use a write change to create it',
    );
    expect(planError(root, [edit('img.png', 'P', 'Q')]).message).toBe(
      'edit of img.png: it is a binary file (it contains NUL bytes); kaizen changes only text files',
    );
    expect(planError(root, [edit('latin1.txt', 'caf', 'x')]).message).toBe(
      'edit of latin1.txt: it is not UTF-8 text; kaizen changes only UTF-8 text files',
    );
    expect(planError(root, [write('img.png', 'text')]).message).toContain(
      'write of img.png: it is a binary file',
    );
    expect(planError(root, [write('dir', 'text')]).message).toBe('write of dir: it is a folder, not a file');
  });

  it('keeps a byte order mark', () => {
    const root = repo({ 'bom.txt': '\uFEFFhello\n' });
    expect(after(root, [edit('bom.txt', 'hello', 'bye')])).toBe('\uFEFFbye\n');
  });
});

describe('planChanges: write', () => {
  it('creates a new file (before: null) and replaces an existing one', () => {
    const root = repo({ 'old.txt': 'old\n' });
    const edits = planChanges(root, [write('new/dir/n.txt', 'hi\n'), write('old.txt', 'new\n')]);
    expect(edits.map((e) => [e.rel, e.before, e.after])).toEqual([
      ['new/dir/n.txt', null, 'hi\n'],
      ['old.txt', 'old\n', 'new\n'],
    ]);
  });

  it('refuses content over 256 KiB', () => {
    const root = repo();
    expect(planError(root, [write('big.txt', 'x'.repeat(256 * 1024 + 1))]).message).toBe(
      'write of big.txt: the content is 256.0 KiB, more than the limit of 256 KiB',
    );
    expect(planChanges(root, [write('ok.txt', 'x'.repeat(256 * 1024))])).toHaveLength(1);
  });
});

describe('planChanges: composition and refusals', () => {
  it('composes several changes to one file, in order, into one FileEdit', () => {
    const root = repo({ 'a.txt': 'one two three\n', 'b.txt': 'b\n' });
    const edits = planChanges(root, [
      edit('a.txt', 'one', '1'),
      edit('b.txt', 'b', 'B'),
      edit('./a.txt', '1 two', '1 2'), // sees the first edit's result; same file by another spelling
      write('c.txt', 'c0\n'),
      edit('c.txt', 'c0', 'c1'), // edits the file the write created
    ]);
    expect(edits.map((e) => [e.rel, e.before, e.after])).toEqual([
      ['a.txt', 'one two three\n', '1 2 three\n'],
      ['b.txt', 'b\n', 'B\n'],
      ['c.txt', null, 'c1\n'],
    ]);
  });

  it('refuses a change that makes no difference, and changes that cancel out', () => {
    const root = repo({ 'a.txt': 'x = 1\n', 'c.json': '{ "a": 1 }\n' });
    expect(planError(root, [write('a.txt', 'x = 1\n')]).message).toBe(
      'write of a.txt: the change makes no difference',
    );
    expect(planError(root, [edit('a.txt', '1', '1')]).message).toBe(
      'edit of a.txt: the change makes no difference',
    );
    expect(planError(root, [set('c.json', 'a', 1)]).message).toBe(
      'config_set of c.json: the change makes no difference',
    );
    expect(planError(root, [edit('a.txt', '1', '2'), edit('a.txt', '2', '1')]).message).toBe(
      'the changes to a.txt cancel out: the file would end exactly as it is now',
    );
  });

  it('refuses runbook changes (the caller filters them)', () => {
    const root = repo();
    expect(planError(root, [{ kind: 'runbook', action: 'restart', params: {} }]).message).toBe(
      'runbook action "restart" is not a file change; run it through the runbook, not planChanges',
    );
  });

  it('refuses paths outside the repository before reading anything', () => {
    const root = repo();
    expect(() => planChanges(root, [write('../x', 'y')])).toThrow(PathEscapeError);
    expect(() => planChanges(root, [write('.git/hooks/pre-commit', 'y')])).toThrow(
      'path ".git/hooks/pre-commit" is refused: it is inside a .git folder',
    );
  });
});

describe('planChanges: config_set in YAML', () => {
  const yamlText = [
    '# Worker settings',
    'worker:',
    '  # how often the worker polls, in ms',
    '  interval_ms: 500   # tuned in March',
    '  name: "poller"  # quoted on purpose',
    '  tags: [a, b]',
    'pools:',
    '  - size: 3',
    '  - size: 5',
    '',
  ].join('\n');

  it('changes only the value: comments above and beside, and all other formatting, survive', () => {
    const root = repo({ 'config/app.yaml': yamlText });
    const out = after(root, [set('config/app.yaml', 'worker.interval_ms', 800)]);
    expect(out).toBe(yamlText.replace('interval_ms: 500', 'interval_ms: 800'));
    expect(out).toContain('  # how often the worker polls, in ms\n  interval_ms: 800   # tuned in March\n');
  });

  it('keeps a quoted string quoted, and quotes a string that would read as another type', () => {
    const root = repo({ 'app.yml': yamlText });
    expect(after(root, [set('app.yml', 'worker.name', 'fetcher')])).toContain(
      '  name: "fetcher"  # quoted on purpose\n',
    );
    expect(after(root, [set('app.yml', 'worker.interval_ms', '900')])).toContain(
      '  interval_ms: "900"   # tuned in March\n',
    );
    expect(after(root, [set('app.yml', 'worker.interval_ms', true)])).toContain(
      '  interval_ms: true   # tuned in March\n',
    );
  });

  it('sets list items by existing index and refuses a missing one', () => {
    const root = repo({ 'app.yaml': yamlText });
    expect(after(root, [set('app.yaml', 'pools[1].size', 8)])).toBe(yamlText.replace('size: 5', 'size: 8'));
    expect(planError(root, [set('app.yaml', 'pools[2].size', 8)]).message).toBe(
      'config_set of app.yaml: cannot set "pools[2].size": pools has 2 item(s), so there is no [2]',
    );
    expect(planError(root, [set('app.yaml', 'worker[0]', 8)]).message).toBe(
      'config_set of app.yaml: cannot set "worker[0]": worker is a mapping, not a list',
    );
    expect(planError(root, [set('app.yaml', 'worker.interval_ms.x', 1)]).message).toBe(
      'config_set of app.yaml: cannot set "worker.interval_ms.x": worker.interval_ms is a number (500), not a mapping, so it has no key "x"',
    );
  });

  it('creates missing mappings, keeping the comments', () => {
    const root = repo({ 'app.yaml': yamlText });
    const out = after(root, [set('app.yaml', 'cache.redis.ttl_s', 60)]);
    expect(out).toContain('# Worker settings\n');
    expect(out).toContain('  # how often the worker polls, in ms\n');
    expect(out).toContain('# tuned in March');
    expect(out).toMatch(/\ncache:\n {2}redis:\n {4}ttl_s: 60\n$/);
  });

  it('replaces a scalar with a structure, and composes two sets on one file', () => {
    const root = repo({ 'app.yaml': yamlText });
    const out = after(root, [
      set('app.yaml', 'worker.tags', ['x']),
      set('app.yaml', 'worker.interval_ms', 1),
    ]);
    expect(out).toContain('interval_ms: 1');
    expect(out).toMatch(/tags:\n\s+- x\n/);
  });

  it('refuses to set a value that other keys share through an anchor', () => {
    const root = repo({ 'app.yaml': 'base: &timeout 30\napi:\n  timeout: *timeout\n' });
    expect(planError(root, [set('app.yaml', 'base', 60)]).message).toBe(
      'config_set of app.yaml: kaizen could not set "base" without changing other values (it is anchored as &timeout and used elsewhere); use an edit change',
    );
  });

  it("keeps the file's list indentation and flow style when it has to print the whole document", () => {
    const text = '# c\nlist:\n- 1\n- 2\nflow: [a, b]\n';
    const root = repo({ 'app.yaml': text });
    expect(after(root, [set('app.yaml', 'extra.on', true)])).toBe(`${text}extra:\n  on: true\n`);
  });

  it('names a file that is not valid YAML, and refuses other extensions and missing files', () => {
    const root = repo({ 'bad.yaml': 'a: [1,\nb: 2\n', 'conf.toml': 'a = 1\n', noext: 'a: 1\n' });
    expect(planError(root, [set('bad.yaml', 'a', 1)]).message).toMatch(
      /^config_set of bad\.yaml: the file is not valid YAML \(line \d+: .+\)$/,
    );
    expect(planError(root, [set('conf.toml', 'a', 2)]).message).toBe(
      'config_set of conf.toml: only .yaml, .yml and .json files can be set by key (this is ".toml"); use an edit change',
    );
    expect(planError(root, [set('noext', 'a', 2)]).message).toContain('(this is "no extension")');
    expect(planError(root, [set('missing.yaml', 'a', 2)]).message).toBe(
      'config_set of missing.yaml: the file does not exist; use a write change to create it',
    );
  });
});

describe('planChanges: config_set in JSON', () => {
  it('keeps 2-space, 4-space and tab indentation, and the trailing newline or its absence', () => {
    const two = '{\n  "a": {\n    "b": 1\n  }\n}\n';
    const four = '{\n    "a": {\n        "b": 1\n    }\n}';
    const tab = '{\n\t"a": {\n\t\t"b": 1\n\t}\n}\n';
    const root = repo({ 'two.json': two, 'four.json': four, 'tab.json': tab });
    expect(after(root, [set('two.json', 'a.b', 2)])).toBe(two.replace('1', '2'));
    expect(after(root, [set('four.json', 'a.b', 2)])).toBe(four.replace('1', '2'));
    expect(after(root, [set('tab.json', 'a.b', 2)])).toBe(tab.replace('1', '2'));
    // A new key means re-serialising, still in the file's own indentation.
    expect(after(root, [set('two.json', 'a.c', 'x')])).toBe(
      '{\n  "a": {\n    "b": 1,\n    "c": "x"\n  }\n}\n',
    );
    expect(after(root, [set('four.json', 'a.c', 'x')])).toBe(
      '{\n    "a": {\n        "b": 1,\n        "c": "x"\n    }\n}',
    );
    expect(after(root, [set('tab.json', 'd', [1])])).toBe(
      '{\n\t"a": {\n\t\t"b": 1\n\t},\n\t"d": [\n\t\t1\n\t]\n}\n',
    );
  });

  it('changes a value in place without touching the rest of the file', () => {
    const text = '{\n  "ports": [80, 443],\n  "limits": {"rps": 100, "burst": 1.0},\n  "name": "api"\n}\n';
    const root = repo({ 'c.json': text });
    expect(after(root, [set('c.json', 'limits.rps', 250)])).toBe(text.replace('100', '250'));
    expect(after(root, [set('c.json', 'ports[1]', 8443)])).toBe(text.replace('443', '8443'));
    expect(after(root, [set('c.json', 'name', 'a "b"')])).toBe(text.replace('"api"', '"a \\"b\\""'));
  });

  it('refuses a rewrite that would change other text (number spelling, big integers)', () => {
    const root = repo({ 'c.json': '{\n  "ratio": 1.0,\n  "id": 12345678901234567890\n}\n' });
    expect(planError(root, [set('c.json', 'extra', true)]).message).toBe(
      'config_set of c.json: rewriting the file would change more than "extra" (1.0 would be written as 1); use an edit change instead',
    );
    const big = repo({ 'c.json': '{\n  "id": 12345678901234567890\n}\n' });
    expect(planError(big, [set('c.json', 'extra', true)]).message).toBe(
      'config_set of c.json: rewriting the file would change more than "extra" (12345678901234567890 would be written as 12345678901234567000); use an edit change instead',
    );
    // Changing an existing value replaces just its text, so such a file can still be changed.
    expect(after(root, [set('c.json', 'ratio', 2.5)])).toBe(
      '{\n  "ratio": 2.5,\n  "id": 12345678901234567890\n}\n',
    );
  });

  it('names a file that is not valid JSON', () => {
    const root = repo({ 'c.json': '{ "a": 1, }' });
    expect(planError(root, [set('c.json', 'a', 2)]).message).toMatch(
      /^config_set of c\.json: the file is not valid JSON \(.+\)$/,
    );
  });
});

describe('writeEdits and restoreEdits', () => {
  it('writes every planned file atomically, creating folders, leaving no temp files', () => {
    const root = repo({ 'a.txt': 'a\n' });
    const edits = planChanges(root, [edit('a.txt', 'a', 'A'), write('deep/new/b.txt', 'b\n')]);
    writeEdits(root, edits);
    expect(read(root, 'a.txt')).toBe('A\n');
    expect(read(root, 'deep/new/b.txt')).toBe('b\n');
    expect(fs.readdirSync(root).filter((f) => f.includes('kaizen'))).toEqual([]);
    expect(fs.readdirSync(path.join(root, 'deep/new'))).toEqual(['b.txt']);
  });

  it('keeps the file mode (an executable script stays executable)', () => {
    const root = repo({ 'deploy.sh': '#!/bin/sh\necho 1\n' });
    fs.chmodSync(path.join(root, 'deploy.sh'), 0o750);
    writeEdits(root, planChanges(root, [edit('deploy.sh', 'echo 1', 'echo 2')]));
    expect(fs.statSync(path.join(root, 'deploy.sh')).mode & 0o777).toBe(0o750);
  });

  it('refuses to overwrite a file that changed since planning, writing nothing', () => {
    const root = repo({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const edits = planChanges(root, [edit('a.txt', 'a', 'A'), edit('b.txt', 'b', 'B')]);
    fs.writeFileSync(path.join(root, 'b.txt'), 'someone else\n');
    expect(() => writeEdits(root, edits)).toThrow(
      'b.txt changed since the change was planned (its content is different); nothing was written',
    );
    expect(read(root, 'a.txt')).toBe('a\n');
    const created = planChanges(root, [write('n.txt', 'n')]);
    fs.writeFileSync(path.join(root, 'n.txt'), 'raced');
    expect(() => writeEdits(root, created)).toThrow(
      'n.txt changed since the change was planned (it now exists)',
    );
  });

  it('refuses a symlink swapped in after planning, and writes nothing outside', () => {
    const root = repo({ 'conf/app.yaml': 'a: 1\n' });
    const outside = tempDir('kaizen-outside-');
    fs.writeFileSync(path.join(outside, 'app.yaml'), 'a: 1\n');
    const edits = planChanges(root, [set('conf/app.yaml', 'a', 2)]);
    fs.rmSync(path.join(root, 'conf'), { recursive: true });
    fs.symlinkSync(outside, path.join(root, 'conf'));
    expect(() => writeEdits(root, edits)).toThrow(PathEscapeError);
    expect(() => writeEdits(root, edits)).toThrow(
      `path "conf/app.yaml" is refused: conf is a symbolic link to ${fs.realpathSync(outside)}, outside the repository`,
    );
    expect(fs.readFileSync(path.join(outside, 'app.yaml'), 'utf8')).toBe('a: 1\n');
  });

  it('refuses an edit whose path does not match its stored absolute path', () => {
    const root = repo({ 'a.txt': 'a' });
    const forged: FileEdit = { rel: 'a.txt', abs: '/etc/passwd', before: 'a', after: 'b' };
    expect(() => writeEdits(root, [forged])).toThrow(
      'planned edit of a.txt does not match the repository path a.txt; nothing was written',
    );
  });

  it('puts the files already written back when a later write fails', () => {
    const root = repo({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const edits = planChanges(root, [
      edit('a.txt', 'a', 'A'),
      write('c.txt', 'c\n'),
      edit('b.txt', 'b', 'B'),
    ]);
    const rename = fs.renameSync;
    let calls = 0;
    // Fault injection: the third rename (b.txt) fails as a full disk would.
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      if (++calls === 3)
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      rename(from, to);
    });
    expect(() => writeEdits(root, edits)).toThrow('writing b.txt failed: ENOSPC: no space left on device');
    vi.restoreAllMocks();
    expect(read(root, 'a.txt')).toBe('a\n');
    expect(read(root, 'b.txt')).toBe('b\n');
    expect(fs.existsSync(path.join(root, 'c.txt'))).toBe(false);
    expect(fs.readdirSync(root).sort()).toEqual(['.git', 'a.txt', 'b.txt']);
  });

  it('restoreEdits puts contents back, deletes created files, and can run twice', () => {
    const root = repo({ 'a.txt': 'a\n' });
    const edits = planChanges(root, [edit('a.txt', 'a', 'A'), write('new/n.txt', 'n\n')]);
    writeEdits(root, edits);
    restoreEdits(root, edits);
    expect(read(root, 'a.txt')).toBe('a\n');
    expect(fs.existsSync(path.join(root, 'new/n.txt'))).toBe(false);
    restoreEdits(root, edits); // nothing left to undo: no error
    expect(read(root, 'a.txt')).toBe('a\n');
  });

  it('restoreEdits on a plan that was never written changes nothing', () => {
    const root = repo({ 'a.txt': 'a\n' });
    const edits = planChanges(root, [edit('a.txt', 'a', 'A')]);
    restoreEdits(root, edits);
    expect(read(root, 'a.txt')).toBe('a\n');
  });
});
