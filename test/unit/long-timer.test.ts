import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setIdleTimeout, setLongInterval, setLongTimeout, TIMER_MAX_MS } from '../../src/lib/long-timer.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('long timers', () => {
  it('a timeout longer than Node can hold waits the whole time', () => {
    const fn = vi.fn();
    setLongTimeout(fn, 3 * TIMER_MAX_MS + 5);
    vi.advanceTimersByTime(3 * TIMER_MAX_MS);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('an interval of 1000h fires once per 1000h, and clear stops it', () => {
    const fn = vi.fn();
    const hour = 3_600_000;
    const t = setLongInterval(fn, 1000 * hour);
    vi.advanceTimersByTime(999 * hour);
    expect(fn).toHaveBeenCalledTimes(0);
    vi.advanceTimersByTime(hour);
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000 * hour);
    expect(fn).toHaveBeenCalledTimes(2);
    t.clear();
    vi.advanceTimersByTime(5000 * hour);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});

/** A socket whose idle timer behaves as net.Socket's: re-armed on each setTimeout, reset by traffic. */
class FakeSocket extends EventEmitter {
  bytesRead = 0;
  bytesWritten = 0;
  private timer: NodeJS.Timeout | undefined;
  private ms = 0;
  setTimeout(ms: number) {
    this.ms = ms;
    this.arm();
  }
  traffic(n: number) {
    this.bytesRead += n;
    this.arm();
  }
  private arm() {
    clearTimeout(this.timer);
    if (this.ms > 0) this.timer = setTimeout(() => this.emit('timeout'), this.ms);
  }
}

describe('idle limit on a socket', () => {
  it('past the step, quiet steps add up to the limit and traffic starts the count again, without the socket timer', () => {
    const socket = new FakeSocket();
    const armed = vi.spyOn(socket, 'setTimeout');
    const onIdle = vi.fn();
    setIdleTimeout(socket, 250, onIdle, 100);
    vi.advanceTimersByTime(150);
    socket.traffic(10); // seen at the poll of t=200: the count starts again there
    vi.advanceTimersByTime(300); // t=450: 200 ms of quiet steps counted
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(50); // t=500: 300 >= 250
    expect(onIdle).toHaveBeenCalledTimes(1);
    // Node's HTTP server destroys a socket whose own timer fires with no request listener.
    expect(armed).not.toHaveBeenCalled();
  });

  it('within the step it is the socket timeout itself, and the returned function removes the listener', () => {
    const socket = new FakeSocket();
    const onIdle = vi.fn();
    const stop = setIdleTimeout(socket, 50, onIdle, 100);
    stop();
    vi.advanceTimersByTime(100);
    expect(onIdle).not.toHaveBeenCalled();
  });
});
