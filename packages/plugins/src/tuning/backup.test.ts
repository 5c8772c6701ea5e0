import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backupFile, formatBackup, listBackups, parseBackup, readBackup, writeBackup } from './backup.js';

// Written by the reference tuning plugin (containernetworking-plugins 1.1.1) for mac, promisc, mtu
// and allmulti.
const FROM_REFERENCE = '{\n "mac": "da:ee:99:ab:95:36",\n "promisc": false,\n "mtu": 1500,\n "allmulti": false\n}';

describe('backup format', () => {
  it("reads the reference's file", () => {
    expect(parseBackup(FROM_REFERENCE)).toEqual({ mac: 'da:ee:99:ab:95:36', promisc: false, mtu: 1500, allmulti: false });
  });

  it("writes the reference's bytes for the reference's fields", () => {
    expect(formatBackup({ allmulti: false, mtu: 1500, mac: 'da:ee:99:ab:95:36', promisc: false })).toBe(FROM_REFERENCE);
  });

  it('puts our fields after the reference ones, and omits empty ones like omitempty', () => {
    const text = formatBackup({ network: 'n', sysctl: { 'net/core/somaxconn': '4096' }, txQLen: 1000, mac: '' });
    expect(text).toBe('{\n "txQLen": 1000,\n "sysctl": {\n  "net/core/somaxconn": "4096"\n },\n "network": "n"\n}');
    expect(parseBackup(text)).toEqual({ txQLen: 1000, sysctl: { 'net/core/somaxconn': '4096' }, network: 'n' });
  });

  it('drops fields of the wrong type and refuses non-objects', () => {
    expect(parseBackup('{"mac": 1, "mtu": "x", "promisc": "no", "sysctl": {"a": 1, "b": "2"}}')).toEqual({ sysctl: { b: '2' } });
    expect(parseBackup('[]')).toBeUndefined();
    expect(parseBackup('{')).toBeUndefined();
  });
});

describe('backup files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tscni-tuning-backup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are <containerID>_<ifname>.json, private, and listed', () => {
    const data = join(dir, 'data');
    const file = backupFile(data, 'abc', 'eth0');
    expect(file).toBe(join(data, 'abc_eth0.json'));
    writeBackup(file, data, { mtu: 1500 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('{\n "mtu": 1500\n}');
    expect(listBackups(data)).toEqual(['abc_eth0.json']);
    expect(listBackups(join(dir, 'none'))).toEqual([]);
  });

  it('read as undefined when missing and as {} when corrupt', () => {
    expect(readBackup(join(dir, 'missing.json'))).toBeUndefined();
    writeFileSync(join(dir, 'bad.json'), '');
    expect(readBackup(join(dir, 'bad.json'))).toEqual({});
  });
});
