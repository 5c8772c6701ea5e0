// Engine layer: an in-memory PluginExec for tests (the role of Go's invoke/fakes): plugins are
// handler functions keyed by type, and every invocation is recorded with its parsed stdin and env.
import { join } from 'node:path';
import { CniError, SPEC_VERSIONS, validatePluginType } from '@tscni/spec';
import { PluginError, PluginNotFoundError } from './errors.js';
import type { ExecOptions, PluginExec } from './exec.js';

export interface FakeCall {
  type: string;
  path: string;
  command: string;
  /** The exact stdin bytes and their text. */
  stdin: Uint8Array;
  stdinText: string;
  /** stdin parsed as JSON (undefined if it is not JSON). */
  conf: Record<string, unknown> | undefined;
  env: Record<string, string>;
  opts: ExecOptions;
}

/**
 * What a handler returns becomes the plugin's stdout: a string or bytes as is, `undefined` as
 * empty output, anything else as JSON. Throwing a CniError makes the plugin fail with that error.
 */
export type FakeHandler = (call: FakeCall) => unknown;

export interface FakePluginOptions {
  /** Answer for VERSION when the handler returns undefined (default: every spec version). */
  supportedVersions?: readonly string[];
}

interface Registered {
  handler: FakeHandler;
  supportedVersions: readonly string[];
}

/** A pass-through plugin: ADD returns prevResult (or an empty result), other verbs succeed. */
export const passThrough: FakeHandler = (call) => {
  if (call.command !== 'ADD') return undefined;
  return call.conf?.['prevResult'] ?? { cniVersion: call.conf?.['cniVersion'] ?? '' };
};

export class FakeExec implements PluginExec {
  readonly calls: FakeCall[] = [];
  private readonly plugins = new Map<string, Registered>();

  register(type: string, handler: FakeHandler = passThrough, opts: FakePluginOptions = {}): this {
    this.plugins.set(type, { handler, supportedVersions: opts.supportedVersions ?? SPEC_VERSIONS });
    return this;
  }

  /** Calls of one verb (and optionally one plugin type), in order. */
  callsOf(command: string, type?: string): FakeCall[] {
    return this.calls.filter((c) => c.command === command && (type === undefined || c.type === type));
  }

  async findInPath(type: string, paths: readonly string[]): Promise<string> {
    validatePluginType(type);
    const dir = paths.find((p) => p !== '');
    if (dir === undefined || !this.plugins.has(type)) throw new PluginNotFoundError(type, paths);
    return join(dir, type);
  }

  async execPlugin(path: string, stdin: Uint8Array, env: Record<string, string>, opts: ExecOptions = {}): Promise<Uint8Array> {
    const type = path.split('/').pop() ?? path;
    const stdinText = Buffer.from(stdin).toString('utf8');
    let conf: Record<string, unknown> | undefined;
    try {
      const v = JSON.parse(stdinText) as unknown;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) conf = v as Record<string, unknown>;
    } catch {
      conf = undefined;
    }
    const call: FakeCall = { type, path, command: env['CNI_COMMAND'] ?? '', stdin, stdinText, conf, env: { ...env }, opts };
    this.calls.push(call);
    const p = this.plugins.get(type);
    if (p === undefined) throw new PluginError({ plugin: path, code: 0, msg: `fake plugin ${type} is not registered` });
    let out: unknown;
    try {
      out = await p.handler(call);
    } catch (e) {
      if (e instanceof PluginError) throw e;
      if (e instanceof CniError) throw new PluginError({ plugin: path, code: e.code, msg: e.msg, details: e.details, exitCode: 1 });
      throw e;
    }
    if (out === undefined && call.command === 'VERSION') {
      out = { cniVersion: '1.1.0', supportedVersions: [...p.supportedVersions] };
    }
    if (out === undefined) return new Uint8Array();
    if (out instanceof Uint8Array) return out;
    return new TextEncoder().encode(typeof out === 'string' ? out : JSON.stringify(out));
  }
}
