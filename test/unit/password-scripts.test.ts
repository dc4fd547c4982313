/**
 * The iPXE scripts of a gated boot: the prompt names machine and profile, sends the password as Basic
 * credentials in the userinfo (redacted by iPXE, never in the query), and nothing from the inventory can
 * inject iPXE syntax.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cannotPromptScript, chainScript, label, lockedOutScript, promptScript, unlockUrl, wrongPasswordScript,
} from '../../daemon/features/password/scripts.js';

const O = { mac: '52:54:00:77:00:01', computer: 'PC-01', profile: 'winpe', httpBase: 'http://10.77.0.2:8080' };

test('the prompt names the machine and the profile, asks with login, and sends the password to /unlock', () => {
  const s = promptScript(O);
  const lines = s.split('\n');
  assert.equal(lines[0], '#!ipxe');
  assert.ok(lines.includes('echo Bootgate: PC-01 (52:54:00:77:00:01) is about to boot profile winpe.'), s);
  assert.ok(lines.includes('set username winpe: PC-01'), s);
  assert.ok(lines.includes('clear password'));
  assert.ok(lines.includes('login || goto cancelled'));
  assert.ok(lines.includes('chain --replace --autofree http://bootgate:${password:uristring}@10.77.0.2:8080/unlock?mac=52-54-00-77-00-01 || goto unreachable'));
  // Esc boots the local disk; an unreachable appliance asks again.
  assert.ok(lines.includes(':cancelled') && lines.includes('exit 0'));
  assert.ok(lines.includes('goto prompt'));
  // No password in a query string, where a log or a proxy could keep it.
  assert.ok(!/[?&]password=/.test(s));
});

test('an unknown machine is named by its MAC; the form title fits the 20 characters iPXE shows', () => {
  const s = promptScript({ ...O, computer: null });
  assert.match(s, /echo Bootgate: this computer \(52:54:00:77:00:01\) is about to boot profile winpe\./);
  assert.match(s, /\nset username winpe: 525400770001\n/);
  assert.match(promptScript({ ...O, computer: 'A-VERY-LONG-COMPUTER-NAME' }), /\nset username winpe: A-VERY-LONG-C\n/);
});

test('banners: wrong password with tries left, the lockout, and they stay on screen before login clears it', () => {
  const w = wrongPasswordScript(O, 2, 15);
  assert.match(w, /echo Wrong password\. 2 more tries before a 15-minute lockout\./);
  assert.match(w, /prompt --timeout 15000 Press any key to continue\.\.\. \|\| echo\n/);
  assert.ok(w.indexOf('prompt --timeout') < w.indexOf('login ||'));
  assert.match(wrongPasswordScript(O, 1, 15), /1 more try before/);
  assert.match(wrongPasswordScript(O, 0, 15), /Locked out for 15 minutes/);
  assert.match(lockedOutScript(O, 7), /locked out for 7 more minutes\./);
  assert.match(lockedOutScript(O, 1), /locked out for 1 more minute\./);
});

test('inventory text cannot inject iPXE syntax', () => {
  const evil = promptScript({ ...O, computer: 'PC ${password} || shell && chain http://evil #x' });
  for (const line of evil.split('\n').filter((l) => l.startsWith('echo') || l.startsWith('set username'))) {
    assert.ok(!/[$|&#"']/.test(line.replace(/^set username /, '').replace(/^echo /, '')), line);
  }
  assert.equal(label('a\nb\tc${x}'), 'a_b_c__x_');
  assert.equal(label('x'.repeat(100), 10), 'xxxxxxx...');
});

test('unlockUrl and the other builders refuse what is not canonical', () => {
  assert.throws(() => unlockUrl('http://10.77.0.2:8080/x', O.mac), TypeError);
  assert.throws(() => unlockUrl('ftp://h', O.mac), TypeError);
  assert.throws(() => unlockUrl(O.httpBase, '52-54-00-77-00-01'), TypeError);
  assert.throws(() => chainScript('tftp://h/a b'), TypeError);
  assert.throws(() => cannotPromptScript('nope', 'p'), TypeError);
  assert.equal(unlockUrl('http://boot.example:80', O.mac), 'http://bootgate:${password:uristring}@boot.example:80/unlock?mac=52-54-00-77-00-01');
});
