// Test support (not built, not exported): an IPAM delegate for plugin unit tests. A placeholder
// executable named `fake-ipam` sits in a temporary CNI_PATH (delegation looks it up there, as the
// spec says) and the injected exec answers in its place, recording each command.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPEC_VERSIONS } from '@tscni/spec';
import { pluginMain } from '@tscni/skel';
import type { DelegateExec, PluginFuncs } from '@tscni/skel';
import type { IpamContext } from '../shared/ipam.js';

export interface FakeIpam {
  /** CNI_PATH for the plugin under test. */
  dir: string;
  ctx: IpamContext;
  /** Commands run, in order, as "ADD ctr eth0". */
  calls: string[];
  cleanup(): void;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** `result` is what ADD prints; `fail` makes that command exit with a CNI error instead. */
export function fakeIpam(result: unknown, fail: Partial<Record<string, { code: number; msg: string }>> = {}): FakeIpam {
  const dir = mkdtempSync(join(tmpdir(), 'tscni-fake-ipam-'));
  writeFileSync(join(dir, 'fake-ipam'), '#!/bin/sh\nexit 97\n');
  chmodSync(join(dir, 'fake-ipam'), 0o755);
  const calls: string[] = [];
  const exec: DelegateExec = async (req) => {
    calls.push(`${req.command} ${req.env['CNI_CONTAINERID'] ?? ''} ${req.env['CNI_IFNAME'] ?? ''}`.trim());
    const f = fail[req.command];
    if (f !== undefined) return { exitCode: 1, stdout: enc(JSON.stringify({ cniVersion: '1.1.0', ...f })), stderr: new Uint8Array() };
    return { exitCode: 0, stdout: enc(req.command === 'ADD' ? JSON.stringify(result) : ''), stderr: new Uint8Array() };
  };
  return { dir, ctx: { exec, env: {} }, calls, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Invocation {
  code: number;
  /** stdout parsed (result or error), undefined when empty. */
  json: Record<string, unknown> | undefined;
}

/** Runs plugin callbacks through pluginMain with a runtime's environment, in this process. */
export async function invoke(
  funcs: PluginFuncs,
  env: { command: string; containerId?: string; netns?: string; ifName?: string; args?: string; path: string },
  conf: unknown,
): Promise<Invocation> {
  const vars: Record<string, string> = { CNI_COMMAND: env.command, CNI_PATH: env.path };
  if (env.containerId !== undefined) vars['CNI_CONTAINERID'] = env.containerId;
  if (env.netns !== undefined) vars['CNI_NETNS'] = env.netns;
  if (env.ifName !== undefined) vars['CNI_IFNAME'] = env.ifName;
  if (env.args !== undefined) vars['CNI_ARGS'] = env.args;
  let out = '';
  const code = await pluginMain(funcs, { supportedVersions: SPEC_VERSIONS }, {
    env: vars,
    stdin: async () => enc(JSON.stringify(conf)),
    stdout: (s) => {
      out += s;
    },
    stderr: () => undefined,
    exit: () => undefined,
  });
  return { code, json: out.trim() === '' ? undefined : (JSON.parse(out) as Record<string, unknown>) };
}
