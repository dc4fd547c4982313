/**
 * The simulated machines of the boot storm bench: machine i has its own locally administered MAC
 * (02:b7:..., never a real vendor's), SMBIOS GUID, xid and IPv4 address in 10.89.0.0/16 (the server
 * is 10.89.0.1). The generator and the namespace set-up derive them from the index alike.
 */
export const STORM_SERVER = '10.89.0.1';
export const STORM_PREFIX = 16;
export const STORM_MAX = 2000;

export interface StormMachine {
  mac: Buffer;
  guid: Buffer;
  xid: number;
  address: string;
  addressNumber: number;
}

export function stormAddress(i: number): string {
  return `10.89.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

export function stormMachine(i: number): StormMachine {
  if (!Number.isInteger(i) || i < 0 || i >= STORM_MAX) throw new RangeError(`machine index ${i} outside 0..${STORM_MAX - 1}`);
  const address = stormAddress(i);
  const addressNumber = address.split('.').reduce((n, part) => n * 256 + Number(part), 0) >>> 0;
  const guid = Buffer.alloc(16);
  guid.writeUInt32BE(0xb0070000 + i, 0);
  guid.writeUInt32BE(0x5eed0000, 12);
  return {
    mac: Buffer.from([0x02, 0xb7, 0x00, 0x00, (i >>> 8) & 0xff, i & 0xff]),
    guid,
    // Distinct per machine and per step (the generator derives the later steps' xids from this one).
    xid: (0x6b000000 + i * 16) >>> 0,
    address,
    addressNumber,
  };
}
