/**
 * Boot configuration data (BCD) for network boot: the element IDs and encodings the Windows boot
 * manager reads, and the edits that point a store at one image's files. Pure: a store is read and
 * written through hivex (hive.ts); this file decides what goes in it.
 *
 * A BCD store is a registry hive: `Objects\{GUID}\Description` holds the object's `Type` (REG_DWORD),
 * `Objects\{GUID}\Elements\<8 hex digits>` holds one value `Element`. An element ID is
 * class (bits 28-31: 1 library, 2 application, 3 device) | format (bits 24-27: 1 device, 2 string,
 * 3 object GUID, 4 object list, 5 integer, 6 boolean) | subtype. Integers are stored as 8-byte
 * little-endian REG_BINARY, booleans as 1-byte REG_BINARY, strings as REG_SZ, lists as REG_MULTI_SZ.
 * Sources: learn.microsoft.com "BcdElementType", "BcdLibraryElementTypes", "BcdOSLoaderElementTypes",
 * "BcdBootMgrElementTypes", "BcdDeviceObjectElementTypes"; the DiscUtils BootConfig library.
 */

export const BCD_ELEMENT = {
  /** BcdLibraryDevice_ApplicationDevice: where the application (winload) is read from. */
  APPLICATION_DEVICE: 0x11000001,
  /** BcdLibraryString_ApplicationPath. */
  APPLICATION_PATH: 0x12000002,
  /** BcdLibraryString_Description. */
  DESCRIPTION: 0x12000004,
  /** BcdBootMgrObjectList_DisplayOrder. */
  DISPLAY_ORDER: 0x24000001,
  /** BcdBootMgrObject_DefaultObject. */
  DEFAULT_OBJECT: 0x23000003,
  /** BcdBootMgrInteger_Timeout (seconds). */
  TIMEOUT: 0x25000004,
  /** BcdOSLoaderDevice_OSDevice. */
  OS_DEVICE: 0x21000001,
  /** BcdOSLoaderString_SystemRoot. */
  SYSTEM_ROOT: 0x22000002,
  /** BcdOSLoaderBoolean_DetectKernelAndHal. */
  DETECT_HAL: 0x26000010,
  /** BcdOSLoaderBoolean_WinPEMode. */
  WINPE: 0x26000022,
  /** BcdDeviceInteger_SdiDevice (a device despite its name: format 1). */
  RAMDISK_SDI_DEVICE: 0x31000003,
  /** BcdDeviceInteger_SdiPath (a string: format 2). */
  RAMDISK_SDI_PATH: 0x32000004,
  /**
   * ramdisktftpblocksize / ramdisktftpwindowsize: device class, integer format, subtypes 7 and 8.
   * The enumeration page spells them 0x36000007 / 0x36000008 (boolean format), against their own
   * names (BcdDeviceInteger_...) and what bcdedit stores: an integer element, 0x35.
   */
  RAMDISK_TFTP_BLOCK_SIZE: 0x35000007,
  RAMDISK_TFTP_WINDOW_SIZE: 0x35000008,
  /** BcdDeviceBoolean_RamdiskTftpVarWindow (ramdisktftpvarwindow): the msftwindow exchange. */
  RAMDISK_TFTP_VAR_WINDOW: 0x3600000b,
} as const;

export const BCD_OBJECT_TYPE = {
  BOOT_MANAGER: 0x10100002,
  OS_LOADER: 0x10200003,
  DEVICE: 0x30000000,
} as const;

/** Well-known objects ({bootmgr}, {ramdiskoptions}) as bcdedit names them. */
export const BCD_GUID = {
  BOOT_MANAGER: '{9dea862c-5cdd-4e70-acc1-f32b344d4795}',
  RAMDISK_OPTIONS: '{ae5534e0-a924-466c-b836-758539a3ee3a}',
  /** The loader entry a new store gets (any GUID works; a fixed one keeps stores comparable). */
  WINPE_LOADER: '{7619dcc9-fafe-11d9-b411-000476eba25f}',
} as const;

/**
 * Device element layout (DiscUtils BootConfig DeviceElementValue / DeviceRecord):
 *   0x00 GUID of an options object ({ramdiskoptions} for a RAM disk), zero if none
 *   0x10 device record: u32 type, u32 flags, u32 length (of the record), u32 reserved, type data
 * Record type 0 is a device inside a file: at +0x10 u32 local type (3 = RAM disk), at +0x34 the record
 * of the device holding the file (type 5 = the boot device, 0x48 bytes, all zero after its header),
 * then the file's path, UTF-16LE and NUL-terminated.
 */
const DEVICE = { FILE: 0, BOOT: 5, RAMDISK_LOCAL_TYPE: 3, CONTAINER_AT: 0x34, BOOT_RECORD_SIZE: 0x48 } as const;

export class BcdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BcdError';
  }
}

/** A GUID `{xxxxxxxx-xxxx-...}` as Windows lays it out in memory (first three groups little-endian). */
export function guidBytes(guid: string): Buffer {
  const hex = guid.replace(/[{}-]/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new BcdError(`not a GUID: ${guid}`);
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
}

export function guidText(b: Buffer): string {
  const r = (s: Buffer) => Buffer.from(s).reverse().toString('hex');
  const tail = b.subarray(8, 16).toString('hex');
  return `{${r(b.subarray(0, 4))}-${r(b.subarray(4, 6))}-${r(b.subarray(6, 8))}-${tail.slice(0, 4)}-${tail.slice(4)}}`;
}

/** The boot device (`boot` in bcdedit): the network boot device when booted by PXE. */
export function bootDevice(): Buffer {
  const b = Buffer.alloc(0x10 + DEVICE.BOOT_RECORD_SIZE);
  b.writeUInt32LE(DEVICE.BOOT, 0x10);
  b.writeUInt32LE(DEVICE.BOOT_RECORD_SIZE, 0x18);
  return b;
}

/** `ramdisk=[boot]<path>,<optionsGuid>`. */
export function ramdiskDevice(path: string, optionsGuid: string): Buffer {
  const name = Buffer.from(`${path}\0`, 'utf16le');
  const length = DEVICE.CONTAINER_AT + DEVICE.BOOT_RECORD_SIZE + name.length;
  const rec = Buffer.alloc(length);
  rec.writeUInt32LE(DEVICE.FILE, 0);
  rec.writeUInt32LE(length, 8);
  rec.writeUInt32LE(DEVICE.RAMDISK_LOCAL_TYPE, 0x10);
  bootDevice().copy(rec, DEVICE.CONTAINER_AT, 0x10);
  name.copy(rec, DEVICE.CONTAINER_AT + DEVICE.BOOT_RECORD_SIZE);
  return Buffer.concat([guidBytes(optionsGuid), rec]);
}

export interface RamdiskDevice {
  optionsGuid: string;
  /** Where the container is: `boot` for the network boot device. */
  container: 'boot' | 'other';
  path: string;
}

/** Reads a device element as a RAM disk device, or null when it is another kind of device. */
export function parseRamdiskDevice(b: Buffer): RamdiskDevice | null {
  if (b.length < 0x10 + DEVICE.CONTAINER_AT + 0x10) return null;
  const type = b.readUInt32LE(0x10);
  const length = b.readUInt32LE(0x18);
  if (type !== DEVICE.FILE || b.readUInt32LE(0x20) !== DEVICE.RAMDISK_LOCAL_TYPE) return null;
  if (0x10 + length > b.length) throw new BcdError(`RAM disk device record claims ${length} bytes but only ${b.length - 0x10} remain`);
  const cAt = 0x10 + DEVICE.CONTAINER_AT;
  const cType = b.readUInt32LE(cAt);
  const cLen = b.readUInt32LE(cAt + 8);
  const pathAt = cAt + cLen;
  if (cLen < 0x10 || pathAt > 0x10 + length) throw new BcdError(`RAM disk container record claims ${cLen} bytes, past its device record`);
  const path = b.subarray(pathAt, 0x10 + length).toString('utf16le').replace(/\0.*$/s, '');
  return { optionsGuid: guidText(b.subarray(0, 16)), container: cType === DEVICE.BOOT ? 'boot' : 'other', path };
}

export const integerElement = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
export const booleanElement = (v: boolean): Buffer => Buffer.from([v ? 1 : 0]);
export const readInteger = (b: Buffer): number => Number(Buffer.concat([b, Buffer.alloc(8)]).readBigUInt64LE(0));

export const elementKey = (id: number): string => id.toString(16).padStart(8, '0');
