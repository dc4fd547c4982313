/**
 * The only error a decoder may throw. Every bounds failure in protocol/ becomes one of these,
 * so the socket edge can count and log it and never crash on hostile bytes.
 */
export type DecodeErrorCode =
  | 'ERR_DHCP_TRUNCATED'
  | 'ERR_DHCP_BAD_MAGIC'
  | 'ERR_DHCP_BAD_OPTION'
  | 'ERR_DHCP_BAD_OVERLOAD'
  | 'ERR_DHCP_NOT_BOOTP'
  | 'ERR_TFTP_TRUNCATED'
  | 'ERR_TFTP_BAD_OPCODE'
  | 'ERR_TFTP_BAD_STRING'
  | 'ERR_TFTP_BAD_OPTION'
  | 'ERR_PCAP_BAD'
  | 'ERR_DHCPV6_TRUNCATED'
  | 'ERR_DHCPV6_NOT_CLIENT'
  | 'ERR_DHCPV6_BAD_OPTION';

export class DecodeError extends Error {
  readonly code: DecodeErrorCode;
  constructor(code: DecodeErrorCode, message: string) {
    super(message);
    this.name = 'DecodeError';
    this.code = code;
  }
}
