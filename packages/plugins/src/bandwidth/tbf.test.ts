import { describe, expect, it } from 'vitest';
import { goFloatToUint32, referenceTbf } from './tbf.js';

// Read back from the kernel after the reference plugin (containernetworking-plugins 1.1.1, amd64)
// installed a tbf for each limit: what CHECK in either implementation compares.
const FROM_REFERENCE = [
  { rateBits: 1_000_000, burstBits: 80_000, rate: 125000, limit: 13125, buffer: 1250000 },
  { rateBits: 8_000_000, burstBits: 400_000, rate: 1000000, limit: 75000, buffer: 781250 },
  { rateBits: 1_234_567, burstBits: 98_765, rate: 154320, limit: 16203, buffer: 1249937 },
  { rateBits: 10_000_000_000, burstBits: 123_456_789, rate: 1250000000, limit: 46682098, buffer: 192890 },
  { rateBits: 3_333_333, burstBits: 77_777, rate: 416666, limit: 20138, buffer: 364562 },
  // Kubernetes' "no burst limit" (2^31-1 bits): the bucket's tick count overflows 32 bits in Go.
  { rateBits: 1_000_000, burstBits: 2_147_483_647, rate: 125000, limit: 268438580, buffer: 3489660803 },
  { rateBits: 100_000_000_000, burstBits: 8_000_000_000, rate: 12500000000, limit: 1312500000, buffer: 1250000 },
  { rateBits: 123, burstBits: 4567, rate: 15, limit: 570, buffer: 593750000 },
  // The limit (rate·25ms + burst) passes 2^32 and keeps its low 32 bits.
  { rateBits: 40_000_000_000, burstBits: 34_359_738_000, rate: 5000000000, limit: 124999954, buffer: 13421765 },
];

describe('referenceTbf', () => {
  it.each(FROM_REFERENCE)('matches the reference for $rateBits bit/s, $burstBits bit', (c) => {
    expect(referenceTbf({ rateBits: c.rateBits, burstBits: c.burstBits }, 'x64')).toEqual({ rate: c.rate, limit: c.limit, buffer: c.buffer });
  });

  it('differs from iproute2 arithmetic where the reference truncates to microseconds first', () => {
    // tc would store 1249939 ticks for this bucket (it does not truncate to µs before ×15.625).
    expect(referenceTbf({ rateBits: 1_234_567, burstBits: 98_765 }, 'x64').buffer).toBe(1249937);
  });
});

describe('goFloatToUint32', () => {
  it('keeps the low 32 bits on amd64 and saturates on arm64', () => {
    expect(goFloatToUint32(33554431875, 'x64')).toBe(3489660803);
    expect(goFloatToUint32(33554431875, 'arm64')).toBe(0xffffffff);
    expect(goFloatToUint32(2 ** 64, 'x64')).toBe(0);
    expect(goFloatToUint32(12.9, 'x64')).toBe(12);
    expect(goFloatToUint32(12.9, 'arm64')).toBe(12);
  });
});
