/**
 * A decoded DHCP/BOOTP message (RFC 951 section 3, RFC 2131 section 2). Its own file so that the codec
 * (packet.ts) and the typed option reads (accessors.ts) both depend on it and not on each other.
 */
export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  /** Dotted quads. */
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Exactly 16 bytes; the hardware address is the first `hlen` of them (see macOf). */
  chaddr: Buffer;
  /** Text up to the first NUL (latin1, byte for byte); empty when the field was overloaded into options. */
  sname: string;
  file: string;
  /**
   * Option code -> value in order of first appearance. Instances of one code are concatenated (RFC 3396
   * section 5), across `options`, `file` and `sname` in that order. PAD and END never appear here.
   */
  options: Map<number, Buffer>;
}
