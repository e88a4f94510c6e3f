import { m0001Init } from './0001-init.js';
import { m0002Interventions } from './0002-interventions.js';
import { m0003LlmCalls } from './0003-llm-calls.js';
import { m0004Learn } from './0004-learn.js';
import { m0005Notify } from './0005-notify.js';
import { m0006ReadIndexes } from './0006-read-indexes.js';
import { m0007DistillSalt } from './0007-distill-salt.js';
import { m0008LessonVersions } from './0008-lesson-versions.js';
import { m0009TargetLeases } from './0009-target-leases.js';

/** One forward-only schema step. Versions are consecutive from 1; a shipped migration never changes. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration, in order. Append only. */
export const MIGRATIONS: readonly Migration[] = [
  m0001Init,
  m0002Interventions,
  m0003LlmCalls,
  m0004Learn,
  m0005Notify,
  m0006ReadIndexes,
  m0007DistillSalt,
  m0008LessonVersions,
  m0009TargetLeases,
];
