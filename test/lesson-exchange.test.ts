import { execFileSync } from 'node:child_process';
import { sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { compose } from '../src/compose.js';
import { loadConfig } from '../src/config/load.js';
import {
  canonicalJson,
  contentBytes,
  ENVELOPE_FORMAT,
  LEGACY_FORMAT,
  sealLesson,
  signedBytes,
} from '../src/learn/exchange/envelope.js';
import { generateSigningKey, loadSigningKey } from '../src/learn/exchange/keys.js';
import { loadLessons } from '../src/learn/lesson-files.js';
import { Lesson } from '../src/propose/context/lesson.js';
import type { ExchangeEntry } from '../src/store/lesson-exchange.js';
import { runCli } from './helpers/cli.js';
import { GIT_ENV, git, gitRepo } from './helpers/git.js';
import { tempDir } from './helpers/temp.js';

/*
 * Two kaizen systems (two config files, two data folders, two target repositories) exchanging signed
 * lessons through a real bare git repository, with the real CLI.
 */

interface Instance {
  name: string;
  dir: string;
  repo: string;
  config: string;
  lessonsDir: string;
  fingerprint: string;
  publicKey: string;
}

function sharedRepo(): string {
  const dir = path.join(tempDir('kaizen-shared-'), 'lessons.git');
  execFileSync('git', ['init', '-q', '--bare', dir], { env: GIT_ENV });
  return dir;
}

function writeYaml(inst: Pick<Instance, 'config' | 'name'>, exchange: Record<string, unknown>): void {
  writeFileSync(
    inst.config,
    stringify({ dataDir: 'data', target: { name: inst.name, repo: 'repo' }, signals: [], exchange }),
  );
}

/** A kaizen system with its key pair made by `kaizen keys init`. */
async function instance(
  name: string,
  shared: string | undefined,
  files?: Record<string, string>,
): Promise<Instance> {
  const dir = tempDir(`kaizen-${name}-`);
  const repo = path.join(dir, 'repo');
  execFileSync('git', ['clone', '-q', gitRepo(files), repo], { env: GIT_ENV });
  const config = path.join(dir, 'kaizen.yaml');
  writeYaml({ config, name }, shared ? { repo: shared } : {});
  const r = await runCli('keys', 'init', '--config', config, '--json');
  expect(r.err).toBe('');
  const made = JSON.parse(r.out) as { fingerprint: string; publicKey: string };
  return { name, dir, repo, config, lessonsDir: path.join(dir, 'data', 'lessons'), ...made };
}

function trust(inst: Instance, shared: string, ...peers: Instance[]): void {
  writeYaml(inst, {
    repo: shared,
    trustedKeys: peers.map((p) => ({ name: p.name, publicKey: p.publicKey })),
  });
}

function lessonYaml(id: string, extra: Record<string, unknown> = {}): string {
  return stringify({
    id,
    scope: 'database',
    when: 'the connection pool has a single connection',
    prefer: 'a pool of at least 4 connections',
    because: 'one connection serialises every request behind the slowest query',
    falsifiable: 'true iff p95 latency drops after the pool grows',
    source: 'human',
    status: 'active',
    created_at: '2026-05-30',
    scan: { pattern: 'pool_size:\\s*1\\b', files: '**/*.yaml' },
    ...extra,
  });
}

function addLesson(inst: Instance, id: string, extra: Record<string, unknown> = {}): void {
  mkdirSync(inst.lessonsDir, { recursive: true });
  writeFileSync(path.join(inst.lessonsDir, `${id}.yaml`), lessonYaml(id, extra));
}

function readLesson(inst: Instance, id: string): Lesson {
  return Lesson.parse(parse(readFileSync(path.join(inst.lessonsDir, `${id}.yaml`), 'utf8')));
}

/** A person's clone of the shared repository, to change the branch behind kaizen's back. */
function meddle(shared: string, change: (dir: string) => void): void {
  const dir = path.join(tempDir('kaizen-meddle-'), 'clone');
  execFileSync('git', ['clone', '-q', '--branch', 'kaizen-lessons', shared, dir], { env: GIT_ENV });
  change(dir);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'meddling');
  git(dir, 'push', '-q', 'origin', 'kaizen-lessons');
}

/** Like meddle, on a shared repository that has no lessons branch yet. */
function meddleNew(shared: string, change: (dir: string) => void): void {
  const dir = path.join(tempDir('kaizen-meddle-'), 'clone');
  execFileSync('git', ['init', '-q', '-b', 'kaizen-lessons', dir], { env: GIT_ENV });
  change(dir);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'meddling');
  git(dir, 'push', '-q', shared, 'kaizen-lessons');
}

interface SyncJson {
  pushed: { files: string[]; commit?: string };
  outcomes: { outcome: string; id: string; peer: string; kind?: string; message?: string }[];
  unchanged: number;
}

/** What `lessons sync` says on stderr when it refused `n` envelopes (it then exits 14). */
const refusedLine = (n: number, json = false) =>
  `kaizen: refused ${n} envelope${n === 1 ? '' : 's'} on the shared branch (${json ? 'see "outcomes"' : 'the reasons are above'}); nothing refused was written, what verified was imported\n`;

/** `lessons sync --json`: exit 0 when nothing was refused, 14 (and a line saying so) when anything was. */
async function syncJson(inst: Instance): Promise<SyncJson> {
  const r = await runCli('lessons', 'sync', '--config', inst.config, '--json');
  const json = JSON.parse(r.out) as SyncJson;
  const refused = json.outcomes.filter((o) => o.outcome === 'refused').length;
  expect(r.err).toBe(refused === 0 ? '' : refusedLine(refused, true));
  expect(r.code).toBe(refused === 0 ? 0 : 14);
  return json;
}

function ledger(inst: Instance, direction: ExchangeEntry['direction']): ExchangeEntry[] {
  const rt = compose(loadConfig(inst.config));
  try {
    return rt.store.exchange.list({ direction });
  } finally {
    rt.close();
  }
}

describe('cross-system lessons over a shared git branch', () => {
  it('A exports and syncs a signed lesson; B imports it, audits its own code with it, and refuses tampered, unsigned and untrusted envelopes', async () => {
    const shared = sharedRepo();
    const a = await instance('alpha', shared);
    const b = await instance('beta', shared, { 'db.yaml': 'db:\n  pool_size: 1\n', 'README.md': '# b\n' });
    trust(a, shared, b);
    trust(b, shared, a);
    addLesson(a, 'L0042', { evidence: ['K0003'], action: { when: { signal: 'latency_ms' } } });

    const exported = await runCli('lessons', 'export', '--config', a.config);
    const again = await runCli('lessons', 'export', '--config', a.config);
    const pushed = await runCli('lessons', 'sync', '--config', a.config);
    const pulled = await runCli('lessons', 'sync', '--config', b.config);

    expect(exported.code).toBe(0);
    expect(exported.out).toContain(`signed 1 lesson with key ${a.fingerprint}`);
    expect(exported.out).toMatch(/L0042 {2}new/);
    expect(again.out).toContain('nothing new to export');
    expect(pushed.out).toMatch(/^pushed 1 envelope to .* \(kaizen-lessons\)/m);
    expect(pulled.code).toBe(0);
    expect(pulled.out).toContain(`imported lesson L0042 from ${a.fingerprint} ("alpha")`);
    const imported = readLesson(b, 'L0042');
    expect(imported).toMatchObject({
      id: 'L0042',
      source: 'imported',
      imported_from: a.fingerprint,
      prefer: 'a pool of at least 4 connections',
      // A's intervention ids mean nothing here, and a peer's action template never proposes here.
      evidence: [],
    });
    expect(imported.action).toBeUndefined();
    expect(ledger(b, 'imported').map((e) => [e.lessonId, e.peer])).toEqual([['L0042', a.fingerprint]]);
    expect(ledger(a, 'exported').map((e) => [e.lessonId, e.peer])).toEqual([['L0042', a.fingerprint]]);
    // The envelope on the branch sits in A's folder; B's own target repository was never touched.
    expect(git(b.repo, 'status', '--porcelain')).toBe('');

    // B's proposer audits B's code with the imported lesson's scan rule.
    const dry = await runCli('propose', '--dry-run', '--config', b.config);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('## Scan findings');
    expect(dry.out).toMatch(/L0042.*db\.yaml|db\.yaml.*L0042/);

    // Syncing again changes nothing.
    const quiet = await syncJson(b);
    expect(quiet).toMatchObject({ outcomes: [], unchanged: 1 });

    // Someone edits the lesson text on the branch: B refuses it and keeps the version that verified.
    meddle(shared, (dir) => {
      const file = path.join(dir, a.fingerprint, 'L0042.json');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace('at least 4 connections', 'exactly 1 connection'),
      );
    });
    const tampered = await runCli('lessons', 'sync', '--config', b.config);
    // Refusals have their own exit code, so that a cron job notices; what was said is still printed.
    expect(tampered.code).toBe(14);
    expect(tampered.err).toBe(refusedLine(1));
    expect(tampered.out).toMatch(
      /^0 imported, 0 unchanged, 1 refused \(nothing refused was written; see the reasons above\)$/m,
    );
    expect(tampered.out).toContain(
      `refused lesson L0042 from ${a.fingerprint} ("alpha"): signature does not verify against trusted key "alpha": the file was changed after it was signed; it was not imported`,
    );
    expect(readLesson(b, 'L0042').prefer).toBe('a pool of at least 4 connections');

    // An unsigned envelope, and one signed by a key B does not trust.
    const stranger = loadSigningKey(
      path.dirname(generateSigningKey(path.join(tempDir(), 'keys')).privateKeyFile),
    );
    meddle(shared, (dir) => {
      const good = JSON.parse(readFileSync(path.join(dir, a.fingerprint, 'L0042.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      const unsigned: Record<string, unknown> = {
        ...good,
        lesson: { ...(good.lesson as object), id: 'L0050' },
      };
      delete unsigned.signature;
      writeFileSync(path.join(dir, a.fingerprint, 'L0050.json'), JSON.stringify(unsigned));
      const lesson = Lesson.parse(parse(lessonYaml('L0051')));
      mkdirSync(path.join(dir, stranger.fingerprint));
      writeFileSync(path.join(dir, stranger.fingerprint, 'L0051.json'), sealLesson(lesson, stranger, 1).text);
    });
    const refused = await syncJson(b);

    // Folders are read in name order (fingerprints), files in each in name order.
    refused.outcomes.sort((x, y) => x.id.localeCompare(y.id));
    expect(refused.outcomes.map((o) => [o.id, o.outcome, o.kind])).toEqual([
      ['L0042', 'refused', 'bad_signature'],
      ['L0050', 'refused', 'unsigned'],
      ['L0051', 'refused', 'untrusted'],
    ]);
    expect(refused.outcomes[1]!.message).toBe(
      `lesson L0050 from ${a.fingerprint} ("alpha"): it is not signed (no signature): kaizen imports only lessons signed by a key in exchange.trustedKeys; it was not imported`,
    );
    expect(refused.outcomes[2]!.message).toBe(
      `lesson L0051 from ${stranger.fingerprint}: it is signed by key ${stranger.fingerprint}, which is not in exchange.trustedKeys: if you trust that system, add the public key its "kaizen keys init" printed; it was not imported`,
    );
    expect(existsSync(path.join(b.lessonsDir, 'L0050.yaml'))).toBe(false);
    expect(existsSync(path.join(b.lessonsDir, 'L0051.yaml'))).toBe(false);
    // Each refusal is in the ledger once, however often the same envelope is seen.
    expect(
      ledger(b, 'refused')
        .map((e) => e.lessonId)
        .sort(),
    ).toEqual(['L0042', 'L0050', 'L0051']);

    // A's next sync puts its signed envelope back; B then has nothing new.
    const healed = await syncJson(a);
    const after = await syncJson(b);
    expect(healed.pushed.files).toEqual([`${a.fingerprint}/L0042.json`]);
    expect(after.outcomes.map((o) => o.id).sort()).toEqual(['L0050', 'L0051']);
    expect(after.unchanged).toBe(1);
  });

  it('a newer signed version replaces the imported one; an older one put back, or an id B has itself, is refused', async () => {
    const shared = sharedRepo();
    const a = await instance('alpha', shared);
    const b = await instance('beta', shared);
    trust(a, shared, b);
    trust(b, shared, a);
    addLesson(a, 'L0901');
    addLesson(a, 'L0902');
    addLesson(b, 'L0902', { prefer: "beta's own advice" });
    await runCli('lessons', 'export', '--config', a.config);
    await syncJson(a);
    const first = await syncJson(b);
    let oldEnvelope = '';
    meddle(shared, (dir) => {
      oldEnvelope = readFileSync(path.join(dir, a.fingerprint, 'L0901.json'), 'utf8');
      writeFileSync(path.join(dir, 'NOTES.txt'), 'a stray file\n');
    });

    addLesson(a, 'L0901', { prefer: 'a pool of 8 connections' });
    const exported = await runCli('lessons', 'export', '--config', a.config);
    await syncJson(a);
    const second = await syncJson(b);
    meddle(shared, (dir) => writeFileSync(path.join(dir, a.fingerprint, 'L0901.json'), oldEnvelope));
    const third = await syncJson(b);

    expect(first.outcomes.map((o) => [o.id, o.outcome, o.kind])).toEqual([
      ['L0901', 'imported', undefined],
      ['L0902', 'refused', 'id_taken'],
    ]);
    expect(first.outcomes[1]!.message).toMatch(
      /^lesson L0902 from [0-9a-f]{16} \("alpha"\): this system has its own lesson L0902 \(.*L0902\.yaml\): one of the two must be renamed; it was not imported$/,
    );
    expect(readLesson(b, 'L0902').prefer).toBe("beta's own advice");
    expect(exported.out).toMatch(/L0901 {2}new version/);
    expect(second.outcomes.map((o) => [o.id, o.outcome])).toEqual([
      ['L0901', 'updated'],
      ['L0902', 'refused'],
    ]);
    expect(third.outcomes.map((o) => [o.id, o.outcome, o.kind])).toEqual([
      ['L0901', 'refused', 'replay'],
      ['L0902', 'refused', 'id_taken'],
    ]);
    expect(readLesson(b, 'L0901')).toMatchObject({ prefer: 'a pool of 8 connections', source: 'imported' });
  });

  it('a retired lesson that was exported goes out again, so peers retire it too', async () => {
    const shared = sharedRepo();
    const a = await instance('alpha', shared);
    const b = await instance('beta', shared);
    trust(b, shared, a);
    writeYaml(a, { repo: shared });
    addLesson(a, 'L0907');
    addLesson(a, 'L0908', { status: 'retired', retired_at: '2026-06-01', retired_why: 'never held' });
    await runCli('lessons', 'export', '--config', a.config);
    await syncJson(a);
    await syncJson(b);

    addLesson(a, 'L0907', { status: 'retired', retired_at: '2026-06-02', retired_why: 'the pool is gone' });
    const exported = await runCli('lessons', 'export', '--config', a.config);
    await syncJson(a);
    const pulled = await syncJson(b);

    expect(exported.out).toMatch(/L0907 {2}new version, retired/);
    expect(exported.out).not.toContain('L0908');
    expect(pulled.outcomes.map((o) => [o.id, o.outcome])).toEqual([['L0907', 'updated']]);
    expect(readLesson(b, 'L0907')).toMatchObject({ status: 'retired', retired_why: 'the pool is gone' });
  });
});

/** The envelope of `id` in `inst`'s folder on the shared branch, as it is there now. */
function onBranch(shared: string, inst: Instance, id: string): string {
  return `${git(shared, 'show', `kaizen-lessons:${inst.fingerprint}/${id}.json`)}\n`;
}

/** An envelope of before versions (`kaizen-lesson-v1`, no version), signed with `inst`'s key. */
function legacyEnvelope(inst: Instance, lesson: Lesson): string {
  const key = loadSigningKey(path.join(inst.dir, 'data', 'keys'));
  return JSON.stringify({
    format: LEGACY_FORMAT,
    signer: inst.fingerprint,
    lesson: JSON.parse(canonicalJson(lesson)) as unknown,
    signature: sign(null, contentBytes(lesson), key.privateKey).toString('base64'),
  });
}

describe('versions: an old envelope put back cannot revive a retired lesson (issue 18)', () => {
  it('B, whose first sync found the retired v3, refuses v1 and v2 put back, a v3 with other content and an unversioned envelope; exit 14 each time', async () => {
    const shared = sharedRepo();
    const a = await instance('alpha', shared);
    const b = await instance('beta', shared);
    trust(b, shared, a);
    addLesson(a, 'L0070');
    const v1 = await runCli('lessons', 'export', '--config', a.config);
    await syncJson(a);
    const envelopeV1 = onBranch(shared, a, 'L0070');
    addLesson(a, 'L0070', { prefer: 'a pool of 8 connections' });
    const v2 = await runCli('lessons', 'export', '--config', a.config);
    await syncJson(a);
    const envelopeV2 = onBranch(shared, a, 'L0070');
    await runCli(
      'lessons',
      'retire',
      'L0070',
      '--why',
      'the pool is gone',
      '--config',
      a.config,
      '--by',
      'ana',
    );
    const v3 = await runCli('lessons', 'export', '--config', a.config);
    await syncJson(a);

    const first = await syncJson(b);
    meddle(shared, (dir) => writeFileSync(path.join(dir, a.fingerprint, 'L0070.json'), envelopeV1));
    const replayedV1 = await runCli('lessons', 'sync', '--config', b.config);
    meddle(shared, (dir) => writeFileSync(path.join(dir, a.fingerprint, 'L0070.json'), envelopeV2));
    const replayedV2 = await syncJson(b);

    expect([v1.out, v2.out, v3.out].map((o) => /L0070 {2}(.*)$/m.exec(o)?.[1])).toEqual([
      'new (v1)',
      'new version (v2)',
      'new version, retired (v3)',
    ]);
    expect(first.outcomes).toEqual([
      expect.objectContaining({ id: 'L0070', outcome: 'imported', version: 3 }),
    ]);
    expect(replayedV1.code).toBe(14);
    expect(replayedV1.err).toBe(refusedLine(1));
    expect(replayedV1.out).toMatch(
      new RegExp(
        `^refused lesson L0070 from ${a.fingerprint} \\("alpha"\\): it is version 1, older than version 3 that this system has seen signed by that key \\(since \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC\\): an old envelope put back on the shared branch\\? The newer version was kept; it was not imported$`,
        'm',
      ),
    );
    expect(replayedV2.outcomes).toEqual([
      expect.objectContaining({ id: 'L0070', outcome: 'refused', kind: 'replay', version: 2 }),
    ]);
    expect(replayedV2.outcomes[0]!.message).toContain('it is version 2, older than version 3');
    // Retirement wins: the lesson B has stays retired.
    expect(readLesson(b, 'L0070')).toMatchObject({ status: 'retired', retired_why: 'the pool is gone' });

    // A v3 with other content, signed with A's key (copied to a second system, say).
    const key = loadSigningKey(path.join(a.dir, 'data', 'keys'));
    const other = Lesson.parse(parse(lessonYaml('L0070', { prefer: 'one connection is plenty' })));
    meddle(shared, (dir) =>
      writeFileSync(path.join(dir, a.fingerprint, 'L0070.json'), sealLesson(other, key, 3).text),
    );
    const conflict = await syncJson(b);
    // The first content again, in the unversioned format of before.
    const first1 = Lesson.parse(parse(lessonYaml('L0070')));
    meddle(shared, (dir) =>
      writeFileSync(path.join(dir, a.fingerprint, 'L0070.json'), legacyEnvelope(a, first1)),
    );
    const legacy = await syncJson(b);

    expect(conflict.outcomes).toEqual([
      expect.objectContaining({ id: 'L0070', kind: 'version_conflict', version: 3 }),
    ]);
    expect(conflict.outcomes[0]!.message).toMatch(
      /: it is signed as version 3, but differs from the version 3 this system has seen signed by that key \(since .* UTC\): one key signed two different lessons as one version, so the key is copied or shared between systems; nothing was changed; it was not imported$/,
    );
    expect(legacy.outcomes).toEqual([expect.objectContaining({ id: 'L0070', kind: 'replay', version: 0 })]);
    expect(legacy.outcomes[0]!.message).toContain(
      'it is in the old unversioned envelope format (kaizen-lesson-v1), but this system has seen version 3 signed by that key',
    );
    expect(readLesson(b, 'L0070')).toMatchObject({ status: 'retired', prefer: 'a pool of 8 connections' });
    expect(ledger(b, 'refused').map((e) => [e.lessonId, e.version])).toEqual([
      ['L0070', 0],
      ['L0070', 3],
      ['L0070', 2],
      ['L0070', 1],
    ]);

    // A's next sync puts its v3 back; B then has nothing new and exits 0.
    await syncJson(a);
    const healed = await syncJson(b);
    expect(healed).toMatchObject({ outcomes: [], unchanged: 1 });
  });

  it('a lesson sent unversioned before the upgrade is taken while nothing versioned was seen; A signs it again with a version, and then the unversioned one is refused', async () => {
    const shared = sharedRepo();
    const a = await instance('alpha', shared);
    const b = await instance('beta', shared);
    trust(b, shared, a);
    const unversioned = legacyEnvelope(a, Lesson.parse(parse(lessonYaml('L0080'))));
    meddleNew(shared, (dir) => {
      mkdirSync(path.join(dir, a.fingerprint));
      writeFileSync(path.join(dir, a.fingerprint, 'L0080.json'), unversioned);
    });
    const before = await syncJson(b);
    addLesson(a, 'L0080', { status: 'retired', retired_at: '2026-06-03', retired_why: 'superseded' });
    const rt = compose(loadConfig(a.config));
    try {
      // A sent L0080 before versions existed: its ledger says so (no version).
      rt.store.exchange.record({
        lessonId: 'L0080',
        direction: 'exported',
        at: 0,
        peer: a.fingerprint,
        digest: 'sent-before-versions',
      });
    } finally {
      rt.close();
    }
    const exported = await runCli('lessons', 'export', '--config', a.config);
    await syncJson(a);
    const after = await syncJson(b);
    meddle(shared, (dir) => writeFileSync(path.join(dir, a.fingerprint, 'L0080.json'), unversioned));
    const replayed = await syncJson(b);

    expect(before.outcomes).toEqual([
      expect.objectContaining({ id: 'L0080', outcome: 'imported', version: 0 }),
    ]);
    expect(exported.out).toMatch(/L0080 {2}new version, retired \(v1\)/);
    expect(after.outcomes).toEqual([
      expect.objectContaining({ id: 'L0080', outcome: 'updated', version: 1 }),
    ]);
    expect(replayed.outcomes).toEqual([expect.objectContaining({ id: 'L0080', kind: 'replay', version: 0 })]);
    expect(readLesson(b, 'L0080')).toMatchObject({ status: 'retired', retired_why: 'superseded' });
  });
});

describe('scan rules from a peer cannot stall the proposer (issue 18)', () => {
  it('B imports (a+)+$ from A and proposes over a 5,000-character line of a and !; a lookahead or a backreference is refused at import with the reason', async () => {
    const shared = sharedRepo();
    const a = await instance('alpha', shared);
    const b = await instance('beta', shared, {
      'data/hostile.txt': `${'a'.repeat(5000)}!\n`,
      'data/plain.txt': 'aaaa\n',
    });
    trust(b, shared, a);
    const file = path.join(a.dir, 'L0090.yaml');
    writeFileSync(file, lessonYaml('L0090', { scan: { pattern: '(a+)+$', files: '**/*.txt' } }));
    const added = await runCli('lessons', 'add', file, '--config', a.config, '--by', 'ana');
    await runCli('lessons', 'export', '--config', a.config);
    await syncJson(a);
    const imported = await syncJson(b);

    const dry = await runCli('propose', '--dry-run', '--config', b.config);

    expect(added.code).toBe(0);
    expect(imported.outcomes).toEqual([expect.objectContaining({ id: 'L0090', outcome: 'imported' })]);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('## Scan findings');
    expect(dry.out).toMatch(/L0090.*data\/plain\.txt|data\/plain\.txt.*L0090/);
    expect(dry.out).not.toMatch(/hostile\.txt:1/);

    // Lessons signed with A's key that no kaizen would have exported: refused, saying what is unsupported.
    const key = loadSigningKey(path.join(a.dir, 'data', 'keys'));
    const signed = (id: string, scan: Record<string, string>) => {
      const lesson = { ...(parse(lessonYaml(id)) as Record<string, unknown>), scan };
      return JSON.stringify({
        format: ENVELOPE_FORMAT,
        signer: a.fingerprint,
        version: 1,
        lesson,
        signature: sign(null, signedBytes(lesson, 1), key.privateKey).toString('base64'),
      });
    };
    meddle(shared, (dir) => {
      const put = (id: string, text: string) =>
        writeFileSync(path.join(dir, a.fingerprint, `${id}.json`), text);
      put('L0091', signed('L0091', { pattern: '(\\w+)=\\1', files: '**' }));
      put('L0092', signed('L0092', { pattern: 'get\\((?!.*timeout)', files: '**' }));
    });
    const refused = await syncJson(b);

    expect(refused.outcomes.map((o) => [o.id, o.kind])).toEqual([
      ['L0091', 'invalid_lesson'],
      ['L0092', 'invalid_lesson'],
    ]);
    expect(refused.outcomes[0]!.message).toBe(
      `lesson L0091 from ${a.fingerprint} ("alpha"): it is signed, but not a valid lesson: scan.pattern: lesson L0091: the pattern uses a backreference "\\1" at character 7, which kaizen's linear-time regex engine (RE2) does not support: spell out the repeated text, or drop the scan rule; it was not imported`,
    );
    expect(refused.outcomes[1]!.message).toBe(
      `lesson L0092 from ${a.fingerprint} ("alpha"): it is signed, but not a valid lesson: scan.pattern: lesson L0092: the pattern uses a lookahead "(?!" at character 6, which kaizen's linear-time regex engine (RE2) does not support: write what a matching line must not contain as the scan rule's "unless" pattern (a line that matches it is not a finding); it was not imported`,
    );
    expect(existsSync(path.join(b.lessonsDir, 'L0091.yaml'))).toBe(false);
    expect(existsSync(path.join(b.lessonsDir, 'L0092.yaml'))).toBe(false);
  });
});

const shippedIds = loadLessons({ lessonsDir: '' }).lessons.map((l) => l.id);

describe.runIf(shippedIds.length > 0)('shipped seed lessons', () => {
  it('are not exported (every kaizen has them), and an envelope with a shipped id is refused', async () => {
    const shared = sharedRepo();
    const a = await instance('alpha', shared);
    const b = await instance('beta', shared);
    trust(b, shared, a);
    const seed = shippedIds[0]!;
    addLesson(a, seed, { prefer: "alpha's edit of a seed lesson" });

    const exported = await runCli('lessons', 'export', '--config', a.config);
    meddleNew(shared, (dir) => {
      const key = loadSigningKey(path.join(a.dir, 'data', 'keys'));
      mkdirSync(path.join(dir, a.fingerprint));
      const lesson = Lesson.parse(parse(lessonYaml(seed)));
      writeFileSync(path.join(dir, a.fingerprint, `${seed}.json`), sealLesson(lesson, key, 1).text);
    });
    const pulled = await syncJson(b);

    expect(exported.out).toContain('nothing new to export');
    expect(pulled.outcomes).toEqual([
      expect.objectContaining({
        id: seed,
        kind: 'id_taken',
        message: `lesson ${seed} from ${a.fingerprint} ("alpha"): its id is that of a lesson shipped with kaizen: the peer must give it another id; it was not imported`,
      }),
    ]);
  });
});

describe('the exchange commands say what to do', () => {
  it('a push the shared repository rejects once is redone on the newer branch; twice is SYNC_FAILED', async () => {
    const shared = sharedRepo();
    const a = await instance('alpha', shared);
    addLesson(a, 'L0042');
    await runCli('lessons', 'export', '--config', a.config);
    const hook = path.join(shared, 'hooks', 'pre-receive');
    writeFileSync(
      hook,
      '#!/bin/sh\nif [ ! -e rejected-once ]; then touch rejected-once; echo "busy: try again" >&2; exit 1; fi\n',
      { mode: 0o755 },
    );

    const retried = await syncJson(a);
    addLesson(a, 'L0043');
    await runCli('lessons', 'export', '--config', a.config);
    writeFileSync(hook, '#!/bin/sh\necho "closed for maintenance" >&2\nexit 1\n', { mode: 0o755 });
    const failed = await runCli('lessons', 'sync', '--config', a.config);

    expect(retried.pushed).toMatchObject({ files: [`${a.fingerprint}/L0042.json`], attempts: 2 });
    expect(git(shared, 'ls-tree', '-r', '--name-only', 'kaizen-lessons').split('\n').sort()).toEqual(
      [`${a.fingerprint}/L0042.json`, 'README.md'].sort(),
    );
    expect(failed.code).toBe(69);
    expect(failed.err).toMatch(
      /^kaizen: pushing the outbox to .* \(kaizen-lessons\) failed twice: .*closed for maintenance.*; nothing was imported, run "kaizen lessons sync" again\n$/,
    );
  });

  it('keys init refuses to replace a key pair without --force, and --force replaces it', async () => {
    const a = await instance('alpha', undefined);
    const key = path.join(a.dir, 'data', 'keys', 'lessons-ed25519.key');

    const twice = await runCli('keys', 'init', '--config', a.config);
    const forced = await runCli('keys', 'init', '--force', '--config', a.config, '--json');

    expect(twice.code).toBe(64);
    expect(twice.err).toBe(
      `kaizen: a signing key already exists at ${key} (fingerprint ${a.fingerprint}); it was kept. "kaizen keys init --force" replaces it, and then every peer must be sent the new public key (they will not trust lessons signed with it until they add it to exchange.trustedKeys)\n`,
    );
    expect(forced.code).toBe(0);
    const made = JSON.parse(forced.out) as { fingerprint: string; replaced: string };
    expect(made.replaced).toBe(a.fingerprint);
    expect(made.fingerprint).not.toBe(a.fingerprint);
    expect(statSync(key).mode & 0o777).toBe(0o600);
  });

  it('export needs a key pair first', async () => {
    const dir = tempDir();
    const config = path.join(dir, 'kaizen.yaml');
    writeYaml({ config, name: 'alpha' }, {});

    const r = await runCli('lessons', 'export', '--config', config);

    expect(r.code).toBe(78);
    expect(r.err).toBe(
      `kaizen: no signing key at ${path.join(dir, 'data', 'keys', 'lessons-ed25519.key')}: run "kaizen keys init" first, and give peers the public key it prints\n`,
    );
  });

  it('sync --help documents what is refused and the exit code 65 a refusal gives', async () => {
    const r = await runCli('lessons', 'sync', '--help');

    expect(r.code).toBe(0);
    expect(r.out).toContain('older than the newest version of that lesson\nseen from its signer (a replay)');
    expect(r.out).toContain(
      'Exit codes: 0 everything on the branch was taken in or unchanged; 14 at least one envelope\nwas refused',
    );
  });

  it('sync needs exchange.repo', async () => {
    const a = await instance('alpha', undefined);

    const r = await runCli('lessons', 'sync', '--config', a.config);

    expect(r.code).toBe(78);
    expect(r.err).toBe(
      `kaizen: exchange.repo is not set in ${a.config}: set it to the shared git repository (a URL, or a path) that this system and its peers exchange lessons through\n`,
    );
  });

  it('sync says when the shared repository cannot be reached', async () => {
    const a = await instance('alpha', path.join(tempDir(), 'missing.git'));

    const r = await runCli('lessons', 'sync', '--config', a.config);

    expect(r.code).toBe(69);
    expect(r.err).toMatch(
      /^kaizen: could not reach the shared repository .*missing\.git: .*; check exchange\.repo and that this machine can reach it\n$/,
    );
  });

  it('a trusted key that is not an Ed25519 public key is a config error on its line', async () => {
    const dir = tempDir();
    const config = path.join(dir, 'kaizen.yaml');
    writeYaml({ config, name: 'alpha' }, { trustedKeys: [{ name: 'beta', publicKey: 'bm90IGEga2V5' }] });

    const r = await runCli('config', 'check', '--config', config);

    expect(r.code).toBe(78);
    expect(r.err).toMatch(
      /kaizen\.yaml:\d+ exchange\.trustedKeys\[0\]\.publicKey: expected an Ed25519 public key: the base64 text "kaizen keys init" prints \(or a PEM block\)/,
    );
  });
});
