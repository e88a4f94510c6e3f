import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../clock.js';
import { BreakerOpenError, CircuitBreaker, type BreakerState } from './breaker.js';

const MIN = 60_000;

function setup(over: { failureThreshold?: number } = {}) {
  const clock = new SimulatedClock();
  const changes: [BreakerState, BreakerState][] = [];
  const breaker = new CircuitBreaker({
    failureThreshold: over.failureThreshold ?? 5,
    windowMs: 10 * MIN,
    cooldownMs: 5 * MIN,
    clock,
    onStateChange: (from, to) => changes.push([from, to]),
  });
  return { clock, breaker, changes };
}

const ok = () => Promise.resolve('ok');
const boom = () => Promise.reject(new Error('provider down'));

async function fail(b: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await expect(b.run(boom)).rejects.toThrow('provider down');
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('CircuitBreaker', () => {
  it('opens after N failures and rejects at once while open, saying until when', async () => {
    const { clock, breaker, changes } = setup();
    await fail(breaker, 4);
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().failuresInWindow).toBe(4);
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(changes).toEqual([['closed', 'open']]);

    let called = false;
    const err = await breaker
      .run(() => {
        called = true;
        return ok();
      })
      .catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(err).toBeInstanceOf(BreakerOpenError);
    const until = clock.now() + 5 * MIN;
    expect(err).toMatchObject({ code: 'BREAKER_OPEN', openUntil: until });
    expect((err as Error).message).toContain(new Date(until).toISOString());
    expect(breaker.snapshot()).toEqual({
      state: 'open',
      failuresInWindow: 5,
      openedAt: clock.now(),
      openUntil: until,
    });

    await clock.advance(5 * MIN - 1);
    await expect(breaker.run(ok)).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
  });

  it('after the cooldown lets exactly one trial through; concurrent calls are rejected', async () => {
    const { clock, breaker } = setup();
    await fail(breaker, 5);
    await clock.advance(5 * MIN);
    expect(breaker.state).toBe('half_open');

    const trial = deferred<string>();
    let trials = 0;
    const first = breaker.run(() => {
      trials++;
      return trial.promise;
    });
    const second = await breaker
      .run(() => {
        trials++;
        return ok();
      })
      .catch((e: unknown) => e);
    expect(second).toMatchObject({ code: 'BREAKER_OPEN' });
    expect((second as Error).message).toMatch(/trial call is still running/);
    expect(trials).toBe(1);

    trial.resolve('recovered');
    expect(await first).toBe('recovered');
    expect(breaker.state).toBe('closed');
  });

  it('a success in half-open closes it and clears the failures', async () => {
    const { clock, breaker, changes } = setup();
    await fail(breaker, 5);
    await clock.advance(5 * MIN);
    await expect(breaker.run(ok)).resolves.toBe('ok');
    expect(breaker.snapshot()).toEqual({
      state: 'closed',
      failuresInWindow: 0,
      openedAt: null,
      openUntil: null,
    });
    expect(changes).toEqual([
      ['closed', 'open'],
      ['half_open', 'closed'],
    ]);
    // Cleared: it takes the full threshold again to open.
    await fail(breaker, 4);
    expect(breaker.state).toBe('closed');
  });

  it('a failure in half-open reopens it for another cooldown', async () => {
    const { clock, breaker, changes } = setup();
    await fail(breaker, 5);
    await clock.advance(6 * MIN);
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot()).toMatchObject({ openedAt: clock.now(), openUntil: clock.now() + 5 * MIN });
    expect(changes).toEqual([
      ['closed', 'open'],
      ['half_open', 'open'],
    ]);
    await clock.advance(4 * MIN);
    await expect(breaker.run(ok)).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
    await clock.advance(1 * MIN);
    await expect(breaker.run(ok)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('failures age out after the window', async () => {
    const { clock, breaker } = setup();
    await fail(breaker, 4);
    await clock.advance(10 * MIN);
    expect(breaker.snapshot().failuresInWindow).toBe(0);
    await fail(breaker, 4);
    expect(breaker.state).toBe('closed');
    // Spread out: 1 failure every 3 minutes never has 5 inside 10 minutes.
    const spread = setup();
    for (let i = 0; i < 10; i++) {
      await fail(spread.breaker, 1);
      await spread.clock.advance(3 * MIN);
    }
    expect(spread.breaker.state).toBe('closed');
  });

  it('a success in closed does not erase failures: a flapping provider still opens', async () => {
    const { clock, breaker } = setup();
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 10; j++) await expect(breaker.run(ok)).resolves.toBe('ok');
      expect(breaker.state).toBe('closed');
      await fail(breaker, 1);
      await clock.advance(MIN);
    }
    // 5 failures among 50 successes inside 10 minutes.
    expect(breaker.state).toBe('open');
  });

  it('a call that started before the breaker opened does not close it when it succeeds late', async () => {
    const { breaker } = setup({ failureThreshold: 2 });
    const slow = deferred<string>();
    const late = breaker.run(() => slow.promise);
    await fail(breaker, 2);
    expect(breaker.state).toBe('open');
    slow.resolve('late');
    await expect(late).resolves.toBe('late');
    expect(breaker.state).toBe('open');
  });

  it('errors that do not count (isFailure) pass through without moving it', async () => {
    const clock = new SimulatedClock();
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      windowMs: MIN,
      cooldownMs: MIN,
      clock,
      isFailure: (e) => !(e instanceof TypeError),
    });
    await expect(breaker.run(() => Promise.reject(new TypeError('caller bug')))).rejects.toThrow(TypeError);
    expect(breaker.state).toBe('closed');
  });

  it('refuses nonsense settings', () => {
    const clock = new SimulatedClock();
    expect(() => new CircuitBreaker({ failureThreshold: 0, windowMs: 1, cooldownMs: 1, clock })).toThrow(
      RangeError,
    );
    expect(() => new CircuitBreaker({ failureThreshold: 1, windowMs: 0, cooldownMs: 1, clock })).toThrow(
      RangeError,
    );
  });
});
