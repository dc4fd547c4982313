/**
 * Password settings that are well-formed but cannot work. Errors stop the daemon (a gate that would let
 * files through must not start); warnings are logged.
 */
import type { BootgateConfig } from '../../config/schema.js';
import { hasIpxeScript, isIpxeBinary } from '../../policy/target.js';
import { isGated, profilePassword } from '../../policy/password.js';

export function passwordConfigProblems(cfg: BootgateConfig): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const gated = Object.entries(cfg.profiles).filter(([, p]) => isGated(p, cfg.password.required));
  if (gated.length > 0 && !cfg.http.enabled) {
    errors.push(`password gating (profiles ${gated.map(([n]) => n).join(', ')}) needs http.enabled: iPXE sends the typed password to the daemon over HTTP`);
  }
  for (const [name, p] of gated) {
    const why = p.password?.mode === 'required' ? 'its password.mode is required' : 'password.required is on';
    if (profilePassword(p).files.length === 0) {
      errors.push(`profiles.${name}.password.files: the profile is password gated (${why}) but lists no files to protect; name the path prefixes its script loads (e.g. [linux/]), or TFTP and HTTP would serve them to anyone`);
    }
    for (const [arch, file] of Object.entries(p.bootFiles)) {
      if (file && !isIpxeBinary(file)) {
        warnings.push(`profiles.${name}.bootFiles.${arch}: ${file} is not iPXE, so native PXE clients of that architecture cannot be asked for the password and get no answer; use an iPXE binary (undionly.kpxe, ipxe.efi, snponly.efi)`);
      }
    }
    if (!hasIpxeScript(p) && Object.values(p.bootFiles).every((f) => !f || isIpxeBinary(f))) {
      warnings.push(`profiles.${name}: password gated but without an iPXE script or a non-iPXE boot program, an unlocked client has nothing to boot`);
    }
  }
  return { errors, warnings };
}
