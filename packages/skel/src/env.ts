// Plugin side (skel): the CNI_* environment a plugin reads, and which variables each verb requires.
// Mirrors the table in Go pkg/skel, except that CNI_PATH is optional everywhere, as the spec says.

export const VERBS = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'] as const;
export type Verb = (typeof VERBS)[number];

export const CNI_ENV_VARS = [
  'CNI_COMMAND',
  'CNI_CONTAINERID',
  'CNI_NETNS',
  'CNI_IFNAME',
  'CNI_ARGS',
  'CNI_PATH',
] as const;
export type CniEnvVar = (typeof CNI_ENV_VARS)[number];

/**
 * Variables that must be set and non-empty for each verb (an empty value counts as missing, as in
 * Go). The spec makes CNI_PATH optional for ADD/DEL/CHECK and Go runtimes always set it anyway, so
 * unlike Go skel it is not required here; a plugin that delegates reports its absence when it looks
 * the delegate up.
 */
export const REQUIRED_ENV: Readonly<Record<Verb, readonly CniEnvVar[]>> = {
  ADD: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_IFNAME'],
  GC: ['CNI_COMMAND'],
  STATUS: ['CNI_COMMAND'],
  VERSION: ['CNI_COMMAND'],
};

/** Minimum config version for verbs introduced after 0.1.0 (checked against the config's cniVersion). */
export const MIN_CONFIG_VERSION: Readonly<Partial<Record<Verb, string>>> = {
  CHECK: '0.4.0',
  GC: '1.1.0',
  STATUS: '1.1.0',
};

export function isVerb(s: string): s is Verb {
  return (VERBS as readonly string[]).includes(s);
}

/** Names of the required variables that are unset or empty for `verb` (or for an unknown command). */
export function missingEnv(verb: string, env: Readonly<Record<string, string | undefined>>): CniEnvVar[] {
  const required: readonly CniEnvVar[] = isVerb(verb) ? REQUIRED_ENV[verb] : ['CNI_COMMAND'];
  return required.filter((name) => (env[name] ?? '') === '');
}

/** `CNI_NETNS_OVERRIDE` is `1` or `true` (any case): the runtime asks to skip the netns self-check. */
export function netnsOverride(value: string | undefined): boolean {
  return value === '1' || value?.toLowerCase() === 'true';
}

/** CNI_PATH as a list; empty entries are dropped (an empty entry would mean the working directory). */
export function splitPath(value: string | undefined): string[] {
  return (value ?? '').split(':').filter((p) => p !== '');
}
