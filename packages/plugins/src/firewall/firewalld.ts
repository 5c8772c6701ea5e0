// Floor 3 (plugins/firewall): is firewalld running on the system D-Bus? The reference asks the bus
// (GetNameOwner of org.fedoraproject.FirewallD1); without a D-Bus client this looks at what a
// running firewalld leaves behind: the system bus socket, and its pid file naming a live firewalld
// process (or, without a pid file, a process called firewalld).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const SYSTEM_BUS_SOCKET = '/run/dbus/system_bus_socket';
export const FIREWALLD_PID_FILES = ['/run/firewalld.pid', '/var/run/firewalld.pid'];

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The process is firewalld (a Python script: its comm is the script name, or python runs it by path). */
function isFirewalld(procDir: string, pid: string): boolean {
  const comm = readText(join(procDir, pid, 'comm'))?.trim();
  if (comm === 'firewalld') return true;
  const cmdline = readText(join(procDir, pid, 'cmdline'));
  return cmdline !== undefined && cmdline.split('\0').slice(0, 2).some((a) => a.endsWith('/firewalld') || a === 'firewalld');
}

export interface FirewalldProbe {
  busSocket?: string;
  pidFiles?: readonly string[];
  procDir?: string;
}

export function firewalldRunning(p: FirewalldProbe = {}): boolean {
  if (!existsSync(p.busSocket ?? SYSTEM_BUS_SOCKET)) return false;
  const procDir = p.procDir ?? '/proc';
  for (const file of p.pidFiles ?? FIREWALLD_PID_FILES) {
    const pid = readText(file)?.trim();
    if (pid !== undefined && /^\d+$/.test(pid) && isFirewalld(procDir, pid)) return true;
  }
  let entries: string[];
  try {
    entries = readdirSync(procDir);
  } catch {
    return false;
  }
  return entries.some((e) => /^\d+$/.test(e) && isFirewalld(procDir, e));
}
