// parseGcAttachments: both key names libcni sends, and code 7 for anything that is not a list of
// {containerID, ifname} strings (never an empty "keep nothing" list by accident).
import { describe, expect, it } from 'vitest';
import { CniError } from './errors.js';
import { parseGcAttachments } from './gc.js';

const base = { cniVersion: '1.1.0', name: 'n', type: 't' };

describe('parseGcAttachments', () => {
  it('reads cni.dev/valid-attachments, else cni.dev/attachments (libcni 1.2.0)', () => {
    const a = [{ containerID: 'c1', ifname: 'eth0' }];
    const b = [{ containerID: 'c2', ifname: 'eth1', extra: true }];
    expect(parseGcAttachments({ ...base, 'cni.dev/valid-attachments': a, 'cni.dev/attachments': b })).toEqual(a);
    expect(parseGcAttachments({ ...base, 'cni.dev/valid-attachments': null, 'cni.dev/attachments': b })).toEqual([{ containerID: 'c2', ifname: 'eth1' }]);
    expect(parseGcAttachments({ ...base, 'cni.dev/attachments': b })).toEqual([{ containerID: 'c2', ifname: 'eth1' }]);
    expect(parseGcAttachments({ ...base, 'cni.dev/valid-attachments': [] })).toEqual([]);
  });

  it.each([
    [{}, 'GC needs "cni.dev/valid-attachments" (the attachments to keep)'],
    [{ 'cni.dev/valid-attachments': null }, 'GC needs "cni.dev/valid-attachments" (the attachments to keep)'],
    [{ 'cni.dev/valid-attachments': {} }, '"cni.dev/valid-attachments": must be an array'],
    [{ 'cni.dev/attachments': 'c1' }, '"cni.dev/attachments": must be an array'],
    [{ 'cni.dev/valid-attachments': [{ containerID: 'c' }] }, '"cni.dev/valid-attachments"[0]: needs string "containerID" and "ifname"'],
    [{ 'cni.dev/valid-attachments': [{ containerID: 'c', ifname: 'e' }, null] }, '"cni.dev/valid-attachments"[1]: needs string "containerID" and "ifname"'],
    [{ 'cni.dev/attachments': [{ containerID: 1, ifname: 'e' }] }, '"cni.dev/attachments"[0]: needs string "containerID" and "ifname"'],
  ])('%j is code 7: %s', (extra, msg) => {
    let err: unknown;
    try {
      parseGcAttachments({ ...base, ...extra });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CniError);
    expect(err).toMatchObject({ code: 7, msg });
  });
});
