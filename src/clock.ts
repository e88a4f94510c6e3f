import { UsageError } from './errors.js';

/**
 * The one source of time. Nothing else in kaizen reads Date.now() or sets timers for scheduling:
 * the daemon gets a SystemClock (a ScaledClock under --time-scale, as in the demo), tests get a
 * SimulatedClock and move it by hand, and a kaizen process started by a test or a rehearsal gets
 * its parent's time through KAIZEN_CLOCK_START (see `clockFromEnv`).
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolve after `ms` of this clock's time; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * The time of the world kaizen measures and acts on: I/O timeouts, retry backoff, the wait for a
   * deploy to settle, and what a source measures (a file's age, a counter's rate, a log window).
   * The same clock, except under `--time-scale`: the schedule runs faster, the target does not.
   */
  readonly world: Clock;
}

export class SystemClock implements Clock {
  get world(): Clock {
    return this;
  }

  now(): number {
    return Date.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

interface Sleeper {
  wakeAt: number;
  resolve: () => void;
}

/**
 * A clock that only moves when told to. Sleepers wake, in wake-time order, as `advance` passes
 * their time, so a test can run days of schedules in milliseconds.
 */
export class SimulatedClock implements Clock {
  private current: number;
  private sleepers: Sleeper[] = [];

  /** A simulated world: timeouts and backoff move with the simulation too. */
  get world(): Clock {
    return this;
  }

  constructor(start: number | Date | string = Date.UTC(2026, 0, 5, 12, 0, 0)) {
    this.current = typeof start === 'number' ? start : new Date(start).getTime();
    if (!Number.isFinite(this.current))
      throw new RangeError(`SimulatedClock: invalid start time ${String(start)}`);
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper: Sleeper = { wakeAt: this.current + Math.max(0, ms), resolve };
      if (ms <= 0) return resolve();
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Move time forward by `ms`, waking every sleeper whose time has come, earliest first. */
  async advance(ms: number): Promise<void> {
    if (ms < 0) throw new RangeError('SimulatedClock.advance: time only moves forward');
    const target = this.current + ms;
    for (;;) {
      const due = this.sleepers.filter((s) => s.wakeAt <= target).sort((a, b) => a.wakeAt - b.wakeAt)[0];
      if (!due) break;
      this.sleepers = this.sleepers.filter((s) => s !== due);
      this.current = Math.max(this.current, due.wakeAt);
      due.resolve();
      // Let the woken task run (and perhaps sleep again) before the next one wakes.
      await new Promise<void>((r) => setImmediate(r));
    }
    this.current = target;
  }

  /** Jump to an absolute time (forward only). */
  async set(to: number | Date | string): Promise<void> {
    const t = typeof to === 'number' ? to : new Date(to).getTime();
    await this.advance(t - this.current);
  }

  /** How many sleepers are waiting; lets tests wait until a loop has parked itself. */
  get pending(): number {
    return this.sleepers.length;
  }
}

/**
 * Real time, sped up `scale` times from the moment it is made: `kaizen run --time-scale N`. Every
 * schedule, window, budget day, freeze and nightly job then comes N times sooner, against a real
 * target: how an operator rehearses on a staging copy before trusting kaizen with production.
 */
export class ScaledClock implements Clock {
  private readonly realStart: number;
  private readonly real: SystemClock = new SystemClock();

  /** The target lives in real time: its timeouts, settling and rates are not compressed. */
  get world(): Clock {
    return this.real;
  }

  constructor(
    readonly scale: number,
    private readonly start: number = Date.now(),
  ) {
    if (!Number.isFinite(scale) || scale < 1)
      throw new RangeError(`ScaledClock: the time scale must be a number ≥ 1, got ${scale}`);
    this.realStart = Date.now();
  }

  now(): number {
    return this.start + Math.round((Date.now() - this.realStart) * this.scale);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.real.sleep(ms / this.scale, signal);
  }
}

/**
 * The one way a process hands its time to a kaizen process it starts: `KAIZEN_CLOCK_START` holds
 * an ISO-8601 time (`2026-11-02T12:00:00Z`) or milliseconds since the epoch, and the child's clock
 * starts there and runs on at real speed (times `--time-scale`). Tests set it to their scene's
 * simulated time, so a spawned CLI or daemon judges budgets, windows and report weeks on the
 * scene's calendar and never on today's date; an operator can use it to rehearse a day boundary.
 */
export const CLOCK_START_ENV = 'KAIZEN_CLOCK_START';

/** The clock a kaizen process runs on: the system clock, or one started at KAIZEN_CLOCK_START. */
export function clockFromEnv(env: NodeJS.ProcessEnv, scale = 1): Clock {
  const raw = env[CLOCK_START_ENV];
  if (raw === undefined || raw.trim() === '') return scale === 1 ? new SystemClock() : new ScaledClock(scale);
  return new ScaledClock(scale, parseClockStart(raw));
}

/** The value of KAIZEN_CLOCK_START that starts a child's clock at `clock`'s present time. */
export function clockStartValue(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}

function parseClockStart(raw: string): number {
  const text = raw.trim();
  const t = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
  // ISO dates without a zone would be read in local time: refuse them rather than guess.
  const zoned = /^-?\d+$/.test(text) || /(Z|[+-]\d\d:?\d\d)$/i.test(text);
  if (!Number.isFinite(t) || !zoned || Math.abs(t) > 8.64e15)
    throw new UsageError(
      `${CLOCK_START_ENV}=${JSON.stringify(raw)}: expected an ISO-8601 time with a zone, such as 2026-11-02T12:00:00Z, or milliseconds since the epoch; unset it to run on the system clock`,
    );
  return t;
}
