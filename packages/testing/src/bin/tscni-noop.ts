// Executable entry of the tscni-noop test plugin (bundled by tools/build-bin.mjs).
import { runNoopPlugin } from '../noop-plugin.js';

void runNoopPlugin();
