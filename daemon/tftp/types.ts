/**
 * What the TFTP server offers the rest of the daemon: its options, the policy hook's question and
 * answer, the completions and sessions it reports (server.ts re-exports them).
 */
import type { BootgateConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

export type TftpAnswer =
  | { kind: 'file'; path: string }
  | { kind: 'content'; data: Buffer }
  | { kind: 'refuse'; code: number; message: string; reason: string };

export interface TftpRequestInfo {
  /** As the client sent it. */
  path: string;
  client: { address: string; port: number };
  options: Record<string, string>;
}

export interface TftpCompletion {
  client: { address: string; port: number };
  path: string;
  bytes: number;
  result: string;
  seconds: number;
}

/** A request socket per interface: bound to its device and address (see TftpServerOptions.devices). */
export interface TftpDevices {
  endpoints: Array<{ device: string; address: string }>;
  /** A bound UDP socket's fd for the device, address and port (made by the composition root, net/). */
  boundFd: (device: string, address: string, port: number) => number;
}

export interface TftpServerOptions {
  root: string;
  /** The request socket's address when `devices` is absent. */
  address: string;
  /**
   * One request socket per interface, each bound to its device and address: a request that arrived on
   * another interface (another subnet routed by the host) never reaches it, and another instance on
   * another interface can hold the same port. A transfer is served from the address its request reached.
   */
  devices?: TftpDevices;
  /** 0 picks a free port (tests). */
  port: number;
  config: BootgateConfig['tftp'];
  logger: Logger;
  metrics: Metrics;
  /** Policy hook; default serves the requested file from the root. */
  onRequest?: (req: TftpRequestInfo) => TftpAnswer | Promise<TftpAnswer>;
  onComplete?: (ev: TftpCompletion) => void;
  /**
   * What log lines and completions say instead of a requested path (default: the path itself); a path
   * that carries something secret (a password form's attempt, a word typed at PXELINUX's prompt) is
   * logged without it; `clientIp` is who asked (what a prompt's input is depends on the machine).
   */
  redact?: (path: string, clientIp: string) => string;
  /** Floor of the adaptive retransmission timeout (default MIN_RTO_MS); tests raise it to rule timeouts out. */
  minRtoMs?: number;
  /**
   * UDP segmentation offload for DATA windows (default on). Off sends one packet per call; the bench turns
   * it off for its nftables loss runs, because netfilter sees (and drops) a segmented window as one packet.
   */
  segmentation?: boolean;
  /**
   * Lock-step fast path (worker threads only): µs to spin on a non-blocking receive before blocking, per
   * ACK; default LOCKSTEP_SPIN_US; null turns the fast path off (every packet through the event loop).
   */
  lockstepSpinUs?: number | null;
  /**
   * Direct I/O (worker threads only, default on): DATA leaves by a send() call on the transfer's connected
   * socket, copied by the kernel before the call returns, instead of through node:dgram's queue and its
   * completion callback; the clients' ACKs are read by the worker's epoll loop (directloop.ts) instead of
   * one event-loop callback each. False keeps node:dgram for both (the bench compares).
   */
  directIo?: boolean;
  /**
   * Warm the worker threads before start returns (warmup.ts): the first machine after a restart is then
   * served by compiled code and touched memory. The daemon does; tests that count transfers need not.
   */
  warmUp?: boolean;
}

export interface TftpSessionInfo {
  client: string;
  path: string;
  bytesSent: number;
  size: number;
  startedAt: number;
}

export interface TftpServer {
  readonly port: number;
  sessions(): TftpSessionInfo[];
  close(graceMs?: number): Promise<void>;
}
