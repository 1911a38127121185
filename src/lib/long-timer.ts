/**
 * Timers for durations an operator may set to months or years. Node holds a delay of at most
 * 2^31-1 ms (24.8 days); a longer one is replaced by 1 ms with only a warning, so a GC interval of
 * `1000h` would run GC without pause and an idle limit of `1000h` would cut every upload at once.
 * These helpers wait the whole duration, in steps Node can hold.
 */
export const TIMER_MAX_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
}

/** Calls `fn` once after `ms`, however long. Unref'd: it never keeps the process alive. */
export const setLongTimeout = (fn: () => void, ms: number, maxStep = TIMER_MAX_MS): LongTimer => {
  let timer: NodeJS.Timeout | undefined;
  let left = Math.max(0, ms);
  const arm = () => {
    const step = Math.min(left, maxStep);
    left -= step;
    timer = setTimeout(() => (left > 0 ? arm() : fn()), step);
    timer.unref();
  };
  arm();
  return { clear: () => clearTimeout(timer) };
};

/** Calls `fn` every `ms`, however long; unref'd. */
export const setLongInterval = (fn: () => void, ms: number, maxStep = TIMER_MAX_MS): LongTimer => {
  let current: LongTimer | undefined;
  let cleared = false;
  const next = () => {
    current = setLongTimeout(() => {
      if (cleared) return;
      next();
      fn();
    }, ms, maxStep);
  };
  next();
  return {
    clear: () => {
      cleared = true;
      current?.clear();
    },
  };
};

/** The parts of a socket an idle limit needs (net.Socket has them). */
export interface IdleSocket {
  setTimeout(ms: number, cb?: () => void): unknown;
  on(event: 'timeout', cb: () => void): unknown;
  off(event: 'timeout', cb: () => void): unknown;
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/**
 * Calls `onIdle` once `socket` has moved no byte for `ms`, however long; returns the function that
 * removes the listener (the caller decides whether to disarm the socket's timer too: Node re-arms
 * it for keep-alive when a response finishes). Past Node's maximum, the byte counters are polled
 * every `maxStep`: each quiet step counts towards the limit, any byte moved starts it again.
 */
export const setIdleTimeout = (socket: IdleSocket, ms: number, onIdle: () => void, maxStep = TIMER_MAX_MS): (() => void) => {
  if (ms <= maxStep) {
    socket.setTimeout(ms);
    socket.on('timeout', onIdle);
    return () => socket.off('timeout', onIdle);
  }
  // Past Node's maximum the socket's own timer cannot be used at all (Node's HTTP server destroys
  // a socket whose timer fires with no request listener), so the byte counters are polled.
  let idle = 0;
  let seen = socket.bytesRead + socket.bytesWritten;
  const poll = setInterval(() => {
    const moved = socket.bytesRead + socket.bytesWritten;
    idle = moved === seen ? idle + maxStep : 0;
    seen = moved;
    if (idle >= ms) {
      clearInterval(poll);
      onIdle();
    }
  }, maxStep);
  poll.unref();
  return () => clearInterval(poll);
};
