// Tests for the install marker: its text form, where it may sit in a file, and reading it cheaply.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatMarker, parseMarker, readMarker } from './marker.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tscni-marker-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('marker', () => {
  const m = { type: 'host-local', build: '0123456789abcdef' };

  it('round-trips through its text form after a shebang or on the first line', () => {
    expect(formatMarker(m)).toBe('//tscni-plugin type=host-local build=0123456789abcdef');
    expect(parseMarker(`#!/usr/bin/node\n${formatMarker(m)}\n"use strict";`)).toEqual(m);
    expect(parseMarker(`${formatMarker(m)}\nrest`)).toEqual(m);
  });

  it('is not found elsewhere or when malformed', () => {
    expect(parseMarker(`#!/usr/bin/node\n"use strict";\n${formatMarker(m)}\n`)).toBeUndefined();
    expect(parseMarker('#!/usr/bin/node\n//tscni-plugin type=Host build=12345678\n')).toBeUndefined();
    expect(parseMarker('#!/usr/bin/node\n//tscni-plugin type=host-local build=xyz\n')).toBeUndefined();
    expect(parseMarker('')).toBeUndefined();
  });

  it('reads the head of a file; missing or foreign files have none', async () => {
    const ours = join(dir, 'host-local');
    await writeFile(ours, `#!/usr/bin/node\n${formatMarker(m)}\n${'x'.repeat(100_000)}`);
    expect(readMarker(ours)).toEqual(m);
    const foreign = join(dir, 'foreign');
    await writeFile(foreign, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]));
    expect(readMarker(foreign)).toBeUndefined();
    expect(readMarker(join(dir, 'missing'))).toBeUndefined();
  });
});
