/**
 * Builds the ChaCha20-Poly1305 addon (native/aead.c) at install time, with the node-gyp that
 * npm carries and the headers that come with Node itself, so that nothing is downloaded. The
 * addon is an accelerator: when it cannot be built the library runs on node:crypto alone, so a
 * failure here is reported and the install goes on.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const prefix = dirname(dirname(process.execPath));

/** Node's own headers (official builds ship them under `<prefix>/include/node`). */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** npm names its node-gyp to lifecycle scripts; outside one, look where npm installs it. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((path) => path !== undefined && existsSync(path));
}

const gyp = nodeGyp();
const dir = nodeDir();
const args = [gyp ?? '', 'rebuild', ...(dir === undefined ? [] : [`--nodedir=${dir}`])];
const result =
  gyp === undefined
    ? { status: null, error: new Error('node-gyp not found') }
    : spawnSync(process.execPath, args, { stdio: 'inherit' });
if (result.status !== 0) {
  const why = result.error?.message ?? `node-gyp exited ${String(result.status)}`;
  console.warn(
    `structured-secure-streams: the ChaCha20-Poly1305 addon was not built (${why}); ` +
      'the library runs on node:crypto alone, at a half to three quarters of the bulk throughput.',
  );
}
