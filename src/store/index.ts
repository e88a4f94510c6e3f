import path from 'node:path';
import { Catalog } from './catalog.js';
import { DistillLog } from './distill.js';
import { DB_FILE, openDb, type Db, type OpenOptions } from './db.js';
import { EventLog } from './events.js';
import { IntentStore } from './intents.js';
import { InterventionStore } from './interventions.js';
import { LeaseStore } from './leases.js';
import { LessonExchangeLog } from './lesson-exchange.js';
import { LessonIndex } from './lessons.js';
import { SampleStore } from './samples.js';
import { SourceStateStore } from './source-state.js';
import { UsageStore } from './usage.js';

/** The store: one SQLite file, one object per table group. */
export interface Store {
  db: Db;
  file: string;
  catalog: Catalog;
  samples: SampleStore;
  sourceState: SourceStateStore;
  events: EventLog;
  interventions: InterventionStore;
  intents: IntentStore;
  leases: LeaseStore;
  usage: UsageStore;
  lessons: LessonIndex;
  distill: DistillLog;
  exchange: LessonExchangeLog;
  close(): void;
}

export function openStore(dataDir: string, options: OpenOptions = {}): Store {
  const file = dataDir === ':memory:' ? dataDir : path.join(dataDir, DB_FILE);
  const db = openDb(file, options);
  return {
    db,
    file,
    catalog: new Catalog(db),
    samples: new SampleStore(db),
    sourceState: new SourceStateStore(db),
    events: new EventLog(db),
    interventions: new InterventionStore(db),
    intents: new IntentStore(db),
    leases: new LeaseStore(db),
    usage: new UsageStore(db),
    lessons: new LessonIndex(db),
    distill: new DistillLog(db),
    exchange: new LessonExchangeLog(db),
    close: () => db.close(),
  };
}
