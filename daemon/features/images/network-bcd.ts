/**
 * The BCD an image is served with: its RAM disk options name this image's own boot.sdi and boot.wim on
 * the network boot device (so images side by side never collide), and the RAM disk TFTP block size,
 * window size and variable window follow Bootgate's TFTP limits. A media BCD keeps its other entries;
 * without one, a new store holds {bootmgr}, one WinPE loader and {ramdiskoptions}.
 */
import { writeFile } from 'node:fs/promises';
import { clampWindow } from '../../tftp/negotiate.js';
import {
  BCD_ELEMENT as E, BCD_GUID, BCD_OBJECT_TYPE, BcdError, booleanElement, bootDevice, elementKey, integerElement,
  parseRamdiskDevice, ramdiskDevice, readInteger,
} from './bcd.js';
import { childAt, dword, editHive, multiSz, readHive, REG, sz, type HiveNode, type KeyEdit, type ValueToSet } from './hive.js';
import { emptyHive } from './regf.js';

export interface TftpTuning {
  blockSize: number;
  windowSize: number;
  varWindow: boolean;
}

/** What the boot manager should ask for: the engine's largest block, and the window its in-flight budget allows at that block. */
export function tuningFrom(tftp: { blockSizeMax: number; windowSizeMax: number; inflightBytesMax: number; timeoutMs: number }): TftpTuning {
  const blockSize = tftp.blockSizeMax;
  return { blockSize, windowSize: clampWindow(tftp.windowSizeMax, blockSize, tftp), varWindow: true };
}

export interface ImagePaths {
  /** `\images\<name>\sources\boot.wim`, as the boot manager asks the TFTP server. */
  wim: string;
  sdi: string;
}

export type Firmware = 'bios' | 'uefi';

const elementEdit = (guid: string, id: number, type: number, data: Buffer): KeyEdit => ({
  path: ['Objects', guid, 'Elements', elementKey(id)],
  values: [{ name: 'Element', type, data }],
});
const objectType = (guid: string, type: number): KeyEdit => ({ path: ['Objects', guid, 'Description'], values: [{ name: 'Type', type: REG.DWORD, data: dword(type) }] });

function ramdiskOptionEdits(guid: string, paths: ImagePaths, t: TftpTuning): KeyEdit[] {
  return [
    elementEdit(guid, E.RAMDISK_SDI_DEVICE, REG.BINARY, bootDevice()),
    elementEdit(guid, E.RAMDISK_SDI_PATH, REG.SZ, sz(paths.sdi)),
    elementEdit(guid, E.RAMDISK_TFTP_BLOCK_SIZE, REG.BINARY, integerElement(t.blockSize)),
    elementEdit(guid, E.RAMDISK_TFTP_WINDOW_SIZE, REG.BINARY, integerElement(t.windowSize)),
    elementEdit(guid, E.RAMDISK_TFTP_VAR_WINDOW, REG.BINARY, booleanElement(t.varWindow)),
  ];
}

/** Every key of a new store: {bootmgr} booting one WinPE loader from this image's RAM disk. */
export function newStoreEdits(paths: ImagePaths, t: TftpTuning, firmware: Firmware, description: string): KeyEdit[] {
  const loader = BCD_GUID.WINPE_LOADER;
  const opts = BCD_GUID.RAMDISK_OPTIONS;
  const bm = BCD_GUID.BOOT_MANAGER;
  const root: ValueToSet[] = [
    { name: 'KeyName', type: REG.SZ, data: sz('BCD00000000') },
    { name: 'System', type: REG.DWORD, data: dword(1) },
    { name: 'TreatAsSystem', type: REG.DWORD, data: dword(1) },
  ];
  const device = ramdiskDevice(paths.wim, opts);
  return [
    { path: ['Description'], values: root },
    objectType(bm, BCD_OBJECT_TYPE.BOOT_MANAGER),
    elementEdit(bm, E.APPLICATION_DEVICE, REG.BINARY, bootDevice()),
    elementEdit(bm, E.DESCRIPTION, REG.SZ, sz('Windows Boot Manager')),
    elementEdit(bm, E.DEFAULT_OBJECT, REG.SZ, sz(loader)),
    elementEdit(bm, E.DISPLAY_ORDER, REG.MULTI_SZ, multiSz([loader])),
    elementEdit(bm, E.TIMEOUT, REG.BINARY, integerElement(30)),
    objectType(loader, BCD_OBJECT_TYPE.OS_LOADER),
    elementEdit(loader, E.APPLICATION_DEVICE, REG.BINARY, device),
    elementEdit(loader, E.APPLICATION_PATH, REG.SZ, sz(firmware === 'uefi' ? '\\windows\\system32\\boot\\winload.efi' : '\\windows\\system32\\boot\\winload.exe')),
    elementEdit(loader, E.DESCRIPTION, REG.SZ, sz(description)),
    elementEdit(loader, E.OS_DEVICE, REG.BINARY, device),
    elementEdit(loader, E.SYSTEM_ROOT, REG.SZ, sz('\\windows')),
    elementEdit(loader, E.DETECT_HAL, REG.BINARY, booleanElement(true)),
    elementEdit(loader, E.WINPE, REG.BINARY, booleanElement(true)),
    objectType(opts, BCD_OBJECT_TYPE.DEVICE),
    elementEdit(opts, E.DESCRIPTION, REG.SZ, sz('Ramdisk Options')),
    ...ramdiskOptionEdits(opts, paths, t),
  ];
}

function elementBytes(obj: HiveNode, id: number): Buffer | null {
  return childAt(obj, ['Elements', elementKey(id)])?.values.find((v) => v.name.toLowerCase() === 'element')?.bytes ?? null;
}

/**
 * Edits that turn a media BCD (`ramdisk=[boot]\sources\boot.wim,{...}`) into this image's: every RAM
 * disk device names this image's boot.wim, every options object it uses this image's boot.sdi and the
 * TFTP tuning. A store with no RAM disk device is not a WinPE store and is refused.
 */
export function mediaStoreEdits(tree: HiveNode, paths: ImagePaths, t: TftpTuning): KeyEdit[] {
  const objects = childAt(tree, ['Objects']);
  if (!objects) throw new BcdError('the BCD has no Objects key: not a boot configuration store');
  const edits: KeyEdit[] = [];
  const options = new Set<string>();
  for (const obj of objects.children) {
    for (const id of [E.APPLICATION_DEVICE, E.OS_DEVICE]) {
      const b = elementBytes(obj, id);
      const dev = b && parseRamdiskDevice(b);
      if (!dev) continue;
      edits.push(elementEdit(obj.name, id, REG.BINARY, ramdiskDevice(paths.wim, dev.optionsGuid)));
      options.add(dev.optionsGuid);
    }
  }
  if (options.size === 0) throw new BcdError('the BCD boots no RAM disk (no ramdisk= device): not a Windows PE store');
  for (const guid of options) {
    if (!childAt(objects, [guid])) edits.push(objectType(guid, BCD_OBJECT_TYPE.DEVICE));
    edits.push(...ramdiskOptionEdits(guid, paths, t));
  }
  return edits;
}

/** Writes `file`: the media's store edited for network boot, or a new store when `media` is null. */
export async function writeNetworkBcd(file: string, media: Buffer | null, paths: ImagePaths, t: TftpTuning, firmware: Firmware, description: string): Promise<void> {
  await writeFile(file, media ?? emptyHive());
  const edits = media ? mediaStoreEdits(await readHive(file), paths, t) : newStoreEdits(paths, t, firmware, description);
  await editHive(file, edits);
}

export interface BcdSummary {
  entries: Array<{ guid: string; type: number | null; description: string | null; wim: string | null; optionsGuid: string | null }>;
  ramdiskOptions: Array<{ guid: string; sdiPath: string | null; tftpBlockSize: number | null; tftpWindowSize: number | null; tftpVarWindow: boolean | null }>;
}

/** What a store says about RAM disk boot: each entry's boot.wim, and each options object's sdi and TFTP values. */
export async function summarizeBcd(file: string): Promise<BcdSummary> {
  const tree = await readHive(file);
  const objects = childAt(tree, ['Objects'])?.children ?? [];
  const summary: BcdSummary = { entries: [], ramdiskOptions: [] };
  const used = new Set<string>();
  for (const obj of objects) {
    const type = childAt(obj, ['Description'])?.values.find((v) => v.name === 'Type')?.int ?? null;
    const d = elementBytes(obj, E.APPLICATION_DEVICE);
    const dev = d ? parseRamdiskDevice(d) : null;
    const desc = childAt(obj, ['Elements', elementKey(E.DESCRIPTION)])?.values[0]?.text ?? null;
    if (dev) used.add(dev.optionsGuid.toLowerCase());
    summary.entries.push({ guid: obj.name, type, description: desc, wim: dev?.path ?? null, optionsGuid: dev?.optionsGuid ?? null });
  }
  for (const obj of objects.filter((o) => used.has(o.name.toLowerCase()))) {
    const int = (id: number) => { const b = elementBytes(obj, id); return b ? readInteger(b) : null; };
    const vw = elementBytes(obj, E.RAMDISK_TFTP_VAR_WINDOW);
    summary.ramdiskOptions.push({
      guid: obj.name,
      sdiPath: childAt(obj, ['Elements', elementKey(E.RAMDISK_SDI_PATH)])?.values[0]?.text ?? null,
      tftpBlockSize: int(E.RAMDISK_TFTP_BLOCK_SIZE),
      tftpWindowSize: int(E.RAMDISK_TFTP_WINDOW_SIZE),
      tftpVarWindow: vw ? vw[0] === 1 : null,
    });
  }
  return summary;
}
