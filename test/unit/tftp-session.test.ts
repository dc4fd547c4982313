/**
 * The transfer state machine driven by a discrete-event simulation: a fake clock, a lossy (and
 * optionally ACK-duplicating) link, and a client modelled on atftp's RFC 7440 receiver (ACK at the end
 * of each window, one extra ACK on the first out-of-order block, ACK again on its own timeout).
 * Nothing sleeps; every run is deterministic (seeded PRNG).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockCount, createSession, step, type SessionAction, type SessionConfig, type SessionEvent, type SessionState } from '../../daemon/tftp/session.js';

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

interface LinkOptions {
  /** One-way delay, ms. */
  delay: number;
  /** Probability of losing a server->client DATA/OACK packet, and a client->server ACK. */
  lossDown: number;
  lossUp: number;
  /** Deliver every ACK twice (a duplicating network, or a hostile client). */
  duplicateAcks: boolean;
  seed: number;
  /** Client ignores DATA altogether (gives the server nothing to work with). */
  silentClient?: boolean;
  /** The client's own retransmission timeout, ms (atftp default 5 s). */
  clientTimeout?: number;
}

const base: SessionConfig = {
  size: 0,
  blksize: 1428,
  windowSize: 16,
  windowMax: 64,
  msftWindow: false,
  oack: true,
  retries: 6,
  maxRtoMs: 1000,
  minRtoMs: 10,
};

type Delivery = { at: number; kind: 'toServer'; ev: SessionEvent } | { at: number; kind: 'toClient'; what: 'oack' | 'data'; block?: number };
type Ev = Delivery & { seq: number };

interface RunResult {
  state: SessionState;
  dataSent: number;
  dataBeforeOackAck: number;
  received: number[];
  elapsed: number;
  actions: SessionAction[];
}

/** Runs one transfer to its end (or the step limit) and returns what happened. */
function simulate(cfg: SessionConfig, link: LinkOptions, maxSteps = 2_000_000): RunResult {
  const rnd = prng(link.seed);
  let now = 0;
  let seq = 0;
  const queue: Ev[] = [];
  const push = (e: Delivery) => {
    queue.push({ ...e, seq: seq++ });
  };
  const total = blockCount(cfg.size, cfg.blksize);
  let state = createSession(cfg);
  let dataSent = 0;
  let dataBeforeOackAck = 0;
  let oackAcked = !cfg.oack;
  const all: SessionAction[] = [];
  // Client model.
  let expected = 1;
  let count = 0;
  let extraSent = false;
  let clientDeadline = Infinity;
  const window = cfg.windowSize;
  const received: number[] = [];
  const clientTimeout = link.clientTimeout ?? 5000;
  // RFC 7440 receiver (as atftp does it): every ACK it sends, for a full window, a gap or a timeout,
  // starts a new window count.
  const sendAck = (block: number) => {
    count = 0;
    if (rnd() < link.lossUp) return;
    const ev: SessionEvent = { type: 'ack', block: block % 65536 };
    push({ at: now + link.delay, kind: 'toServer', ev });
    if (link.duplicateAcks) push({ at: now + link.delay, kind: 'toServer', ev });
    if (block === 0) oackAcked = true;
  };
  const run = (ev: SessionEvent) => {
    const r = step(state, ev, now);
    state = r.state;
    for (const a of r.actions) {
      all.push(a);
      if (a.type === 'data') {
        for (let b = a.from; b <= a.to; b++) {
          dataSent++;
          if (!oackAcked) dataBeforeOackAck++;
          if (rnd() >= link.lossDown) push({ at: now + link.delay, kind: 'toClient', what: 'data', block: b });
        }
      } else if (a.type === 'oack') {
        if (rnd() >= link.lossDown) push({ at: now + link.delay, kind: 'toClient', what: 'oack' });
      }
    }
  };
  const clientGets = (e: Extract<Ev, { kind: 'toClient' }>) => {
    if (link.silentClient) return;
    if (expected > total) {
      // RFC 1350 section 6: the receiver of the last block dallies and ACKs it again if it comes back.
      if (e.what === 'data') sendAck(total);
      return;
    }
    clientDeadline = now + clientTimeout;
    if (e.what === 'oack') {
      if (expected === 1) sendAck(0);
      return;
    }
    const b = e.block as number;
    if (b === expected) {
      received.push(b);
      expected++;
      count++;
      extraSent = false;
      if (count >= window || b === total) sendAck(b);
    } else if (!extraSent) {
      extraSent = true;
      sendAck(expected - 1);
    }
  };
  run({ type: 'start' });
  for (let i = 0; i < maxSteps && state.phase !== 'done'; i++) {
    queue.sort((x, y) => x.at - y.at || x.seq - y.seq);
    const nextEv = queue[0];
    const t = Math.min(nextEv?.at ?? Infinity, state.deadline, clientDeadline);
    if (t === Infinity) break;
    now = t;
    if (nextEv !== undefined && nextEv.at === t) {
      queue.shift();
      if (nextEv.kind === 'toServer') run(nextEv.ev);
      else clientGets(nextEv);
    } else if (state.deadline === t) {
      run({ type: 'timeout' });
    } else {
      clientDeadline = now + clientTimeout;
      if (!link.silentClient && expected <= total) sendAck(expected - 1);
    }
  }
  return { state, dataSent, dataBeforeOackAck, received, elapsed: now, actions: all };
}

const lossless: LinkOptions = { delay: 0.05, lossDown: 0, lossUp: 0, duplicateAcks: false, seed: 1 };

function assertInOrder(received: number[], total: number): void {
  assert.equal(received.length, total);
  for (let i = 0; i < received.length; i++) assert.equal(received[i], i + 1);
}

test('lossless windowed transfer: every block once, in order, no retransmission', () => {
  const cfg = { ...base, size: 1428 * 1000 + 77 };
  const r = simulate(cfg, lossless);
  assert.equal(r.state.result, 'ok');
  assertInOrder(r.received, 1001);
  assert.equal(r.dataSent, 1001);
  assert.equal(r.state.retransmits, 0);
  assert.equal(r.state.bytesSent, cfg.size);
});

test('a size that is a multiple of blksize ends with an empty block', () => {
  const cfg = { ...base, size: 1428 * 32 };
  const r = simulate(cfg, lossless);
  assert.equal(r.state.result, 'ok');
  assertInOrder(r.received, 33);
  const last = r.actions.filter((a) => a.type === 'data').at(-1);
  assert.deepEqual(last, { type: 'data', from: 33, to: 33, resent: 0 });
});

test('empty file: one empty DATA block', () => {
  const r = simulate({ ...base, size: 0 }, lossless);
  assert.equal(r.state.result, 'ok');
  assert.deepEqual(r.received, [1]);
});

test('duplicated ACKs never double the DATA sent', () => {
  for (const windowSize of [1, 4, 16]) {
    const cfg = { ...base, size: 1428 * 500 + 1, windowSize };
    const r = simulate(cfg, { ...lossless, duplicateAcks: true });
    assert.equal(r.state.result, 'ok');
    assert.equal(r.dataSent, 501, `window ${windowSize}`);
    assert.equal(r.state.retransmits, 0);
  }
});

test('no DATA before the OACK is acknowledged, even when the OACK is lost repeatedly', () => {
  const cfg = { ...base, size: 100_000 };
  for (let seed = 1; seed <= 20; seed++) {
    const r = simulate(cfg, { delay: 0.1, lossDown: 0.3, lossUp: 0.3, duplicateAcks: false, seed });
    assert.equal(r.dataBeforeOackAck, 0, `seed ${seed}`);
  }
});

test('a client that never ACKs the OACK gets OACK retries, then an error, and no DATA at all', () => {
  const r = simulate({ ...base, size: 10_000_000 }, { ...lossless, silentClient: true });
  assert.equal(r.state.result, 'timeout');
  assert.equal(r.dataSent, 0);
  assert.equal(r.actions.filter((a) => a.type === 'oack').length, 1 + base.retries);
  const err = r.actions.find((a) => a.type === 'error');
  assert.ok(err && err.type === 'error' && err.code === 0);
  // The give-up time is bounded by retries * maxRto.
  assert.ok(r.elapsed <= (base.retries + 1) * base.maxRtoMs);
});

test('random loss in both directions: the transfer completes in order (20 seeds, 1% and 5%)', () => {
  for (const loss of [0.01, 0.05]) {
    for (let seed = 1; seed <= 20; seed++) {
      const cfg = { ...base, size: 1428 * 2000 + 5 };
      const r = simulate(cfg, { delay: 0.05, lossDown: loss, lossUp: loss, duplicateAcks: false, seed });
      assert.equal(r.state.result, 'ok', `loss ${loss} seed ${seed}`);
      assertInOrder(r.received, 2001);
      // Go-back-N: each loss costs at most about one window of resends, never a runaway.
      assert.ok(r.dataSent < 2001 * (1 + 2 * loss * cfg.windowSize), `loss ${loss} seed ${seed}: ${r.dataSent} DATA`);
    }
  }
});

test('an ACK inside the window (gap) makes the server resend from ACK+1 at once, without a timeout', () => {
  const cfg = { ...base, size: 1428 * 100, windowSize: 8 };
  let s = createSession(cfg);
  s = step(s, { type: 'start' }, 0).state;
  let r = step(s, { type: 'ack', block: 0 }, 1);
  assert.deepEqual(r.actions, [{ type: 'data', from: 1, to: 8, resent: 0 }]);
  r = step(r.state, { type: 'ack', block: 5 }, 2);
  assert.deepEqual(r.actions, [{ type: 'data', from: 6, to: 13, resent: 3 }]);
  assert.equal(r.state.retransmits, 3);
});

test('an ACK provoked by a timeout resend tops the window up instead of resending what is in flight', () => {
  const cfg = { ...base, size: 1428 * 100, windowSize: 4 };
  let s = createSession(cfg);
  s = step(s, { type: 'start' }, 0).state;
  s = step(s, { type: 'ack', block: 0 }, 1).state; // 1..4
  const rto = step(s, { type: 'timeout' }, s.deadline); // the ACK for 4 was lost, or 3..4 were
  assert.deepEqual(rto.actions, [{ type: 'data', from: 1, to: 4, resent: 4 }]);
  // The client had 1..2; the duplicate 1 made it ACK 2. Blocks 3..4 of the resend are on their way.
  const top = step(rto.state, { type: 'ack', block: 2 }, rto.state.deadline + 1);
  assert.deepEqual(top.actions, [{ type: 'data', from: 5, to: 6, resent: 0 }]);
  // A gap inside fresh blocks is a real loss: resend from there at once.
  const gap = step(top.state, { type: 'ack', block: 5 }, rto.state.deadline + 2);
  assert.deepEqual(gap.actions, [{ type: 'data', from: 6, to: 9, resent: 1 }]);
});

test('future and stale ACKs are ignored', () => {
  const cfg = { ...base, size: 1428 * 100, windowSize: 4 };
  let s = createSession(cfg);
  s = step(s, { type: 'start' }, 0).state;
  s = step(s, { type: 'ack', block: 0 }, 1).state; // 1..4 out
  for (const block of [9, 100, 65535]) {
    const r = step(s, { type: 'ack', block }, 2);
    assert.deepEqual(r.actions, [], `ack ${block}`);
    assert.equal(r.state.base, 1);
  }
  s = step(s, { type: 'ack', block: 4 }, 3).state; // 5..8 out
  const stale = step(s, { type: 'ack', block: 2 }, 4);
  assert.deepEqual(stale.actions, []);
});

test('ACKs before the OACK is acknowledged (other than block 0) do not start DATA', () => {
  let s = createSession({ ...base, size: 5000 });
  s = step(s, { type: 'start' }, 0).state;
  for (const block of [1, 2, 65535]) assert.deepEqual(step(s, { type: 'ack', block }, 1).actions, []);
});

test('block numbers roll over to 0 past 65535 and the transfer still completes', () => {
  const cfg = { ...base, blksize: 8, size: 8 * 70_000 + 3, windowSize: 16 };
  const r = simulate(cfg, { ...lossless, delay: 0.001 });
  assert.equal(r.state.result, 'ok');
  assertInOrder(r.received, 70_001);
  assert.equal(r.dataSent, 70_001);
});

test('rollover with loss: ACKs are mapped by the window, not by the 16-bit number alone', () => {
  const cfg = { ...base, blksize: 8, size: 8 * 66_000, windowSize: 32 };
  const r = simulate(cfg, { delay: 0.001, lossDown: 0.01, lossUp: 0.01, duplicateAcks: true, seed: 7 });
  assert.equal(r.state.result, 'ok');
  assertInOrder(r.received, 66_001);
});

test('RFC 1350 lockstep (no options): DATA 1 at once, 512-byte blocks, completes under loss', () => {
  const cfg = { ...base, oack: false, blksize: 512, windowSize: 1, size: 512 * 300 + 1 };
  const first = step(createSession(cfg), { type: 'start' }, 0);
  assert.deepEqual(first.actions, [{ type: 'data', from: 1, to: 1, resent: 0 }]);
  const r = simulate(cfg, { delay: 0.1, lossDown: 0.05, lossUp: 0.05, duplicateAcks: true, seed: 3, clientTimeout: 500 });
  assert.equal(r.state.result, 'ok');
  assertInOrder(r.received, 301);
});

test('the retransmission timeout follows the measured round trip', () => {
  const fast = simulate({ ...base, size: 1428 * 3000 }, { ...lossless, delay: 0.5 });
  assert.equal(fast.state.result, 'ok');
  assert.ok(fast.state.srtt !== null && Math.abs(fast.state.srtt - 1) < 0.1, `srtt ${fast.state.srtt}`);
  assert.equal(fast.state.rto, base.minRtoMs);
  const slow = simulate({ ...base, size: 1428 * 3000 }, { ...lossless, delay: 100 });
  assert.ok(slow.state.rto >= 200 && slow.state.rto <= base.maxRtoMs, `rto ${slow.state.rto}`);
});

test('timeouts back off and reset on progress; the client timeout option caps them', () => {
  let s = createSession({ ...base, size: 1428 * 100, maxRtoMs: 3000 });
  s = step(s, { type: 'start' }, 0).state;
  s = step(s, { type: 'ack', block: 0 }, 2).state; // sample 2 ms -> rto at the floor
  assert.equal(s.rto, 10);
  const t1 = step(s, { type: 'timeout' }, s.deadline);
  assert.deepEqual(t1.actions, [{ type: 'data', from: 1, to: 16, resent: 16 }]);
  assert.equal(t1.state.rto, 20);
  const early = step(t1.state, { type: 'timeout' }, t1.state.deadline - 1);
  assert.deepEqual(early.actions, [], 'a timer firing early changes nothing');
  // A second timeout in a row also sends a window of new blocks (a client holding everything answers those).
  const t2 = step(t1.state, { type: 'timeout' }, t1.state.deadline);
  assert.deepEqual(t2.actions, [{ type: 'data', from: 1, to: 32, resent: 16 }]);
  let st = t2.state;
  let endedAt = 0;
  for (let i = 0; i < 30 && st.phase !== 'done'; i++) {
    assert.ok(st.rto <= 3000);
    endedAt = st.deadline;
    st = step(st, { type: 'timeout' }, st.deadline).state;
  }
  assert.equal(st.result, 'timeout');
  // Not before retries * maxRto without progress, so the client's own timeout gets its chance.
  assert.ok(endedAt - 2 >= base.retries * 3000, `gave up after ${endedAt - 2} ms`);
  assert.ok(endedAt - 2 <= (base.retries + 2) * 3000);
});

test('OVMF tsize probe: error 8 after the OACK is a normal end ("probe"); later it is "aborted"', () => {
  let s = createSession({ ...base, size: 5000 });
  s = step(s, { type: 'start' }, 0).state;
  const probe = step(s, { type: 'error', code: 8, message: 'User aborted the transfer' }, 1);
  assert.equal(probe.state.result, 'probe');
  assert.deepEqual(probe.actions, [{ type: 'end', result: 'probe' }]);
  s = step(s, { type: 'ack', block: 0 }, 1).state;
  assert.equal(step(s, { type: 'error', code: 8, message: 'x' }, 2).state.result, 'aborted');
  assert.equal(step(s, { type: 'error', code: 0, message: 'x' }, 2).state.result, 'aborted');
});

test('msftwindow: the byte in each ACK sets the next window, clamped to the maximum', () => {
  const cfg = { ...base, size: 1428 * 1000, windowSize: 4, windowMax: 32, msftWindow: true };
  let s = createSession(cfg);
  s = step(s, { type: 'start' }, 0).state;
  let r = step(s, { type: 'ack', block: 0, windowHint: 8 }, 1);
  assert.deepEqual(r.actions, [{ type: 'data', from: 1, to: 8, resent: 0 }]);
  r = step(r.state, { type: 'ack', block: 8, windowHint: 200 }, 2);
  assert.deepEqual(r.actions, [{ type: 'data', from: 9, to: 40, resent: 0 }]);
  r = step(r.state, { type: 'ack', block: 40, windowHint: 0 }, 3);
  assert.deepEqual(r.actions, [{ type: 'data', from: 41, to: 72, resent: 0 }], 'a zero hint keeps the window');
  const plain = createSession({ ...cfg, msftWindow: false });
  const p = step(step(plain, { type: 'start' }, 0).state, { type: 'ack', block: 0, windowHint: 8 }, 1);
  assert.deepEqual(p.actions, [{ type: 'data', from: 1, to: 4, resent: 0 }], 'hints count only when negotiated');
});

test('abort from the server sends an error and ends with "error"; a finished session ignores events', () => {
  let s = createSession({ ...base, size: 5000 });
  s = step(s, { type: 'start' }, 0).state;
  const r = step(s, { type: 'abort', message: 'server shutting down' }, 1);
  assert.deepEqual(r.actions, [
    { type: 'error', code: 0, message: 'server shutting down' },
    { type: 'end', result: 'error' },
  ]);
  assert.deepEqual(step(r.state, { type: 'ack', block: 0 }, 2).actions, []);
  assert.equal(r.state.deadline, Infinity);
});

test('step never modifies its input state', () => {
  const s0 = createSession({ ...base, size: 100_000 });
  const frozen = JSON.stringify(s0);
  const s1 = step(s0, { type: 'start' }, 0).state;
  step(s1, { type: 'ack', block: 0 }, 1);
  assert.equal(JSON.stringify(s0), frozen);
});
