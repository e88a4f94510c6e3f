import { describe, expect, it } from 'vitest';
import { judgeVersion } from './versions.js';

const seen = (version: number, digest = 'd3') => ({
  signer: '0123456789abcdef',
  lessonId: 'L1',
  version,
  digest,
  at: Date.UTC(2026, 5, 1, 12, 30),
});

describe('judgeVersion', () => {
  it.each([
    ['nothing seen yet', { version: 1, digest: 'd1' }, undefined],
    ['nothing seen yet, unversioned', { version: 0, digest: 'd0' }, undefined],
    ['a newer version', { version: 4, digest: 'd4' }, seen(3)],
    ['the version seen, same content', { version: 3, digest: 'd3' }, seen(3)],
    [
      'unversioned after unversioned (ordered by the ledger instead)',
      { version: 0, digest: 'other' },
      seen(0),
    ],
  ])('takes %s', (_what, incoming, before) => {
    expect(judgeVersion(incoming, before)).toEqual({ ok: true });
  });

  it('refuses an older version, an unversioned envelope after a versioned one, and a same-version conflict', () => {
    expect(judgeVersion({ version: 1, digest: 'd1' }, seen(3))).toEqual({
      ok: false,
      kind: 'replay',
      reason:
        'it is version 1, older than version 3 that this system has seen signed by that key (since 2026-06-01 12:30 UTC): an old envelope put back on the shared branch? The newer version was kept',
    });
    expect(judgeVersion({ version: 0, digest: 'd0' }, seen(1))).toMatchObject({
      ok: false,
      kind: 'replay',
      reason: expect.stringMatching(
        /^it is in the old unversioned envelope format \(kaizen-lesson-v1\), but this system has seen version 1 signed by that key/,
      ) as unknown,
    });
    expect(judgeVersion({ version: 3, digest: 'other' }, seen(3))).toMatchObject({
      ok: false,
      kind: 'version_conflict',
    });
  });
});
