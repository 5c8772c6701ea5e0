import { describe, expect, it } from 'vitest';
import { IFB_NAME_RE, aliasOwner, ifbAlias, ifbName } from './ifb.js';

describe('ifbName', () => {
  it('is the name the reference plugin gives the same attachment', () => {
    // Created by containernetworking-plugins 1.1.1 for network "bwnet", container "cid1".
    expect(ifbName('bwnet', 'cid1')).toBe('bwp9aa1ffe1e8dd');
    expect(ifbName('bwnet', 'cid1')).toMatch(IFB_NAME_RE);
  });

  it('depends on the network and the container', () => {
    expect(ifbName('a', 'b')).not.toBe(ifbName('b', 'a'));
    expect(ifbName('net', 'x')).toHaveLength(15);
  });
});

describe('ifbAlias', () => {
  it('names the network, or a digest of an over-long name', () => {
    expect(ifbAlias('net1')).toBe('tscni-bandwidth net=net1');
    const long = 'n'.repeat(300);
    expect(ifbAlias(long).length).toBeLessThanOrEqual(255);
    expect(aliasOwner(ifbAlias(long), long)).toBe('this-network');
  });

  it('tells this network, another network and the unmarked apart', () => {
    expect(aliasOwner(ifbAlias('a'), 'a')).toBe('this-network');
    expect(aliasOwner(ifbAlias('a'), 'b')).toBe('other-network');
    expect(aliasOwner(undefined, 'a')).toBe('unknown');
    expect(aliasOwner('something else', 'a')).toBe('unknown');
  });
});
