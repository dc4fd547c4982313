/**
 * The smallest registry hive hivex will open and edit: a base block and one 4 KiB bin holding the root
 * key and one security cell. hivex edits hives but cannot create one, and a BCD store is a hive; every
 * key and value after this is added by hivexsh, never by writing bytes here.
 *
 * Layout from the published regf format (Maxim Suhanov, "Windows registry file format specification",
 * github.com/msuhanov/regf): offsets in cells are relative to the first bin (file offset 4096); a cell
 * starts with its size as a signed 32-bit integer, negative while allocated, a multiple of 8.
 */

const BLOCK = 4096;
const ROOT_CELL = 0x20; // first cell of the first bin
const NO_CELL = 0xffffffff;

/** Base block checksum: XOR of its first 127 little-endian dwords (regf spec, "Base block"). */
function checksum(block: Buffer): number {
  let x = 0;
  for (let i = 0; i < 0x1fc; i += 4) x = (x ^ block.readUInt32LE(i)) >>> 0;
  return x;
}

/** The self-relative security descriptor with no owner, group or ACLs (control = SE_SELF_RELATIVE). */
function emptySecurityDescriptor(): Buffer {
  const sd = Buffer.alloc(20);
  sd.writeUInt8(1, 0); // revision
  sd.writeUInt16LE(0x8000, 2); // SE_SELF_RELATIVE
  return sd;
}

/**
 * A hive whose root key is `rootName` (bcdedit /createstore names it NewStoreRoot), with no subkeys or
 * values. hivex copies a parent's security cell into each key it adds, so the root must have one.
 */
export function emptyHive(rootName = 'NewStoreRoot'): Buffer {
  const name = Buffer.from(rootName, 'latin1');
  const nkSize = (4 + 0x4c + name.length + 7) & ~7;
  const sd = emptySecurityDescriptor();
  const skSize = (4 + 0x14 + sd.length + 7) & ~7;
  const skCell = ROOT_CELL + nkSize;
  const freeCell = skCell + skSize;

  const base = Buffer.alloc(BLOCK);
  base.write('regf', 0, 'latin1');
  base.writeUInt32LE(1, 0x04); // primary sequence number
  base.writeUInt32LE(1, 0x08); // secondary: equal = the hive was written completely
  base.writeUInt32LE(1, 0x14); // major version
  base.writeUInt32LE(3, 0x18); // minor version (NT 4 to Windows XP format: no fast/hash leaves needed)
  base.writeUInt32LE(0, 0x1c); // primary file
  base.writeUInt32LE(1, 0x20); // direct memory load
  base.writeUInt32LE(ROOT_CELL, 0x24);
  base.writeUInt32LE(BLOCK, 0x28); // size of the hive bins data
  base.writeUInt32LE(1, 0x2c); // clustering factor
  base.writeUInt32LE(checksum(base), 0x1fc);

  const bin = Buffer.alloc(BLOCK);
  bin.write('hbin', 0, 'latin1');
  bin.writeUInt32LE(0, 0x04); // offset of this bin
  bin.writeUInt32LE(BLOCK, 0x08); // its size

  // Root key node (nk).
  const nk = ROOT_CELL;
  bin.writeInt32LE(-nkSize, nk);
  bin.write('nk', nk + 4, 'latin1');
  bin.writeUInt16LE(0x2c, nk + 6); // KEY_HIVE_ENTRY | KEY_NO_DELETE | KEY_COMP_NAME (ASCII name)
  bin.writeUInt32LE(NO_CELL, nk + 4 + 0x10); // parent: none
  bin.writeUInt32LE(NO_CELL, nk + 4 + 0x1c); // subkeys list
  bin.writeUInt32LE(NO_CELL, nk + 4 + 0x20); // volatile subkeys list
  bin.writeUInt32LE(NO_CELL, nk + 4 + 0x28); // values list
  bin.writeUInt32LE(skCell, nk + 4 + 0x2c); // security cell
  bin.writeUInt32LE(NO_CELL, nk + 4 + 0x30); // class name
  bin.writeUInt16LE(name.length, nk + 4 + 0x48);
  name.copy(bin, nk + 4 + 0x4c);

  // Security cell (sk): a one-element list pointing at itself, used by the root key.
  const sk = skCell;
  bin.writeInt32LE(-skSize, sk);
  bin.write('sk', sk + 4, 'latin1');
  bin.writeUInt32LE(skCell, sk + 4 + 0x04); // flink
  bin.writeUInt32LE(skCell, sk + 4 + 0x08); // blink
  bin.writeUInt32LE(1, sk + 4 + 0x0c); // reference count
  bin.writeUInt32LE(sd.length, sk + 4 + 0x10);
  sd.copy(bin, sk + 4 + 0x14);

  // The rest of the bin is one free cell (positive size).
  bin.writeInt32LE(BLOCK - freeCell, freeCell);
  return Buffer.concat([base, bin]);
}
