// Executable entry of the tscni-debug test plugin (bundled by tools/build-bin.mjs).
import { runDebugPlugin } from '../debug-plugin.js';

void runDebugPlugin();
