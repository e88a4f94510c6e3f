import { describe, expect, it } from 'vitest';
import {
  clockFromEnv,
  CLOCK_START_ENV,
  clockStartValue,
  ScaledClock,
  SimulatedClock,
  SystemClock,
} from './clock.js';
import { UsageError } from './errors.js';

describe('SimulatedClock', () => {
  it('starts where told and moves only on advance', async () => {
    const clock = new SimulatedClock('2026-03-01T00:00:00Z');

    const before = clock.now();
    await clock.advance(90_000);

    expect(before).toBe(Date.UTC(2026, 2, 1));
    expect(clock.now()).toBe(Date.UTC(2026, 2, 1, 0, 1, 30));
  });

  it('wakes sleepers in time order, each at its own time, and days pass in no real time', async () => {
    const clock = new SimulatedClock(0);
    const woke: [string, number][] = [];
    const sleep = (name: string, ms: number) => clock.sleep(ms).then(() => woke.push([name, clock.now()]));

    const all = Promise.all([sleep('day', 86_400_000), sleep('minute', 60_000), sleep('hour', 3_600_000)]);
    await clock.advance(3 * 86_400_000);
    await all;

    expect(woke).toEqual([
      ['minute', 60_000],
      ['hour', 3_600_000],
      ['day', 86_400_000],
    ]);
    expect(clock.now()).toBe(3 * 86_400_000);
  });

  it('does not wake a sleeper before its time', async () => {
    const clock = new SimulatedClock(0);
    let woke = false;
    void clock.sleep(1000).then(() => (woke = true));

    await clock.advance(999);
    expect(woke).toBe(false);
    await clock.advance(1);
    expect(woke).toBe(true);
  });

  it('lets a woken task sleep again within the same advance (a loop runs every tick)', async () => {
    const clock = new SimulatedClock(0);
    const ticks: number[] = [];
    const loop = async () => {
      for (let i = 0; i < 5; i++) {
        await clock.sleep(300_000);
        ticks.push(clock.now());
      }
    };
    const done = loop();

    await clock.advance(3_600_000);
    await done;

    expect(ticks).toEqual([300_000, 600_000, 900_000, 1_200_000, 1_500_000]);
  });

  it('rejects an aborted sleep with the abort reason and forgets it', async () => {
    const clock = new SimulatedClock(0);
    const controller = new AbortController();
    const slept = clock.sleep(1000, controller.signal);

    controller.abort(new Error('shutting down'));

    await expect(slept).rejects.toThrow('shutting down');
    expect(clock.pending).toBe(0);
  });

  it('refuses to move backwards or start at an invalid time', async () => {
    const clock = new SimulatedClock(1000);
    await expect(clock.advance(-1)).rejects.toThrow('time only moves forward');
    expect(() => new SimulatedClock('not a date')).toThrow('invalid start time');
  });
});

describe('SystemClock', () => {
  it('reads the real time and its sleep can be aborted', async () => {
    const clock = new SystemClock();
    const controller = new AbortController();

    const t = clock.now();
    const slept = clock.sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));

    expect(Math.abs(t - Date.now())).toBeLessThan(1000);
    await expect(slept).rejects.toThrow('stop');
  });
});

describe('clockFromEnv (KAIZEN_CLOCK_START)', () => {
  it('is the system clock when unset or empty', () => {
    expect(clockFromEnv({})).toBeInstanceOf(SystemClock);
    expect(clockFromEnv({ [CLOCK_START_ENV]: '  ' })).toBeInstanceOf(SystemClock);
    expect(clockFromEnv({}, 60)).toBeInstanceOf(ScaledClock);
  });

  it('starts at the time it names, ISO or epoch milliseconds, and runs on from there', async () => {
    const iso = clockFromEnv({ [CLOCK_START_ENV]: '2031-03-05T23:59:59.500+02:00' });
    const ms = clockFromEnv({ [CLOCK_START_ENV]: String(Date.UTC(2019, 0, 1)) });

    const first = iso.now();
    await iso.sleep(5);

    expect(first - Date.UTC(2031, 2, 5, 21, 59, 59, 500)).toBeGreaterThanOrEqual(0);
    expect(first - Date.UTC(2031, 2, 5, 21, 59, 59, 500)).toBeLessThan(60_000);
    expect(iso.now()).toBeGreaterThan(first);
    expect(Math.abs(ms.now() - Date.UTC(2019, 0, 1))).toBeLessThan(60_000);
    expect(clockStartValue(new SimulatedClock('2026-11-02T12:00:00Z'))).toBe('2026-11-02T12:00:00.000Z');
  });

  it('runs `scale` times faster from its start under --time-scale', () => {
    const clock = clockFromEnv({ [CLOCK_START_ENV]: '2030-01-01T00:00:00Z' }, 600);

    expect(clock).toBeInstanceOf(ScaledClock);
    expect((clock as ScaledClock).scale).toBe(600);
    expect(clock.now()).toBeGreaterThanOrEqual(Date.UTC(2030, 0, 1));
  });

  it.each([
    ['yesterday'],
    ['2026-11-02T12:00:00'], // no zone: local time would be a guess
    ['2026-13-45T00:00:00Z'],
    ['1e30'],
  ])('refuses %j and says what it expects', (value) => {
    expect(() => clockFromEnv({ [CLOCK_START_ENV]: value })).toThrow(
      new UsageError(
        `KAIZEN_CLOCK_START=${JSON.stringify(value)}: expected an ISO-8601 time with a zone, such as 2026-11-02T12:00:00Z, or milliseconds since the epoch; unset it to run on the system clock`,
      ),
    );
  });
});
