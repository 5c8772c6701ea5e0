// Tests for the netns self-check by stat: our own namespace file, other files, missing paths.
import { describe, expect, it } from 'vitest';
import { isOwnNetns } from './netns.js';

describe('isOwnNetns', () => {
  it('recognises our own netns, also through /proc/<pid>', () => {
    expect(isOwnNetns('/proc/self/ns/net')).toBe(true);
    expect(isOwnNetns(`/proc/${process.pid}/ns/net`)).toBe(true);
  });

  it('a different namespace type or a plain file is not our netns', () => {
    expect(isOwnNetns('/proc/self/ns/mnt')).toBe(false);
    expect(isOwnNetns('/etc/hostname')).toBe(false);
  });

  it('a path that cannot be stat-ed is not ours (DEL after the netns is gone)', () => {
    expect(isOwnNetns('/var/run/netns/tscni-missing-ns')).toBe(false);
  });
});
