import { describe, expect, it } from 'vitest';
import type { CommandRunner } from './iptables-restore.js';
import { findTool, toolRunner } from './tool-path.js';

describe('findTool', () => {
  it('looks in PATH first, then in the sbin directories', () => {
    expect(findTool('sh', '')).toMatch(/^\/(usr\/)?s?bin\/sh$/);
    expect(findTool('no-such-tool-tscni', '/nonexistent')).toBeUndefined();
    expect(findTool('/bin/sh', '')).toBe('/bin/sh');
    expect(findTool('/nonexistent/sh', '')).toBeUndefined();
  });

  it('toolRunner hands the resolved path to the runner, and an unknown name unchanged', async () => {
    const seen: string[] = [];
    const inner: CommandRunner = async (cmd) => {
      seen.push(cmd);
      return { code: 0, stdout: '', stderr: '' };
    };
    await toolRunner(inner, '')('sh', []);
    await toolRunner(inner, '')('no-such-tool-tscni', []);
    expect(seen[0]).toMatch(/\/sh$/);
    expect(seen[1]).toBe('no-such-tool-tscni');
  });
});
