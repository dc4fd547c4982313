/**
 * RFC 1350 "netascii" (RFC 764 NVT ASCII): line ends travel as CR LF and a bare CR as CR NUL.
 * Boot clients use octet mode; tftp-hpa's client defaults to netascii, so text files are converted.
 */
const CR = 0x0d;
const LF = 0x0a;

/** Converts a local (Unix, LF) file's bytes to netascii. */
export function toNetascii(data: Uint8Array): Buffer {
  let extra = 0;
  for (const b of data) if (b === LF || b === CR) extra += 1;
  const out = Buffer.allocUnsafe(data.length + extra);
  let o = 0;
  for (const b of data) {
    if (b === LF) {
      out[o++] = CR;
      out[o++] = LF;
    } else if (b === CR) {
      out[o++] = CR;
      out[o++] = 0;
    } else {
      out[o++] = b;
    }
  }
  return out;
}
