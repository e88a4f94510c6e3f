import type { SeenVersion } from '../../store/lesson-exchange.js';
import { LEGACY_FORMAT } from './envelope.js';

/*
 * The replay rule (issue 18). Each envelope signs a version with its lesson; the importer keeps,
 * per signing key and lesson id, the newest version whose signature verified (lesson_versions_seen)
 * and refuses:
 *  - an older version, whether or not this system ever saw it: a peer whose first sync found the
 *    retired v3 must not take the active v1 someone put back on the branch;
 *  - the same version with other content: a signer never signs two contents as one version, so one
 *    of the two was not made by that system's kaizen (a copied key, or two systems sharing a key);
 *  - an unversioned envelope (from before versions, version 0) once a versioned one was seen.
 * Unversioned envelopes cannot be ordered among themselves: while only those were seen, the older
 * rule stands (a content imported before and since replaced is refused, see importFromBranch).
 */

export type VersionVerdict =
  { ok: true } | { ok: false; kind: 'replay' | 'version_conflict'; reason: string };

/** Whether an envelope signed as `version` with content `digest` may be taken in, given the newest seen. */
export function judgeVersion(
  incoming: { version: number; digest: string },
  seen: SeenVersion | undefined,
): VersionVerdict {
  if (!seen) return { ok: true };
  const when = `${new Date(seen.at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  if (incoming.version < seen.version) {
    const what =
      incoming.version === 0
        ? `it is in the old unversioned envelope format (${LEGACY_FORMAT}), but this system has seen version ${seen.version}`
        : `it is version ${incoming.version}, older than version ${seen.version} that this system has seen`;
    return {
      ok: false,
      kind: 'replay',
      reason: `${what} signed by that key (since ${when}): an old envelope put back on the shared branch? The newer version was kept`,
    };
  }
  if (incoming.version === seen.version && incoming.version > 0 && incoming.digest !== seen.digest) {
    return {
      ok: false,
      kind: 'version_conflict',
      reason: `it is signed as version ${incoming.version}, but differs from the version ${seen.version} this system has seen signed by that key (since ${when}): one key signed two different lessons as one version, so the key is copied or shared between systems; nothing was changed`,
    };
  }
  return { ok: true };
}
