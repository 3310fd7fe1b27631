import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** The commands of the README's Quick start block, comments stripped. */
function quickStartCommands(): string[] {
  const section = read('README.md').split('## Quick start')[1] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line.length > 0);
}

describe('README', () => {
  it('Quick start first installs and runs the main job, then installs and runs the tests', () => {
    const [main, tests] = quickStartCommands();
    expect(main).toBe('npm ci && npm start');
    expect(tests).toBe('npm ci && npm test');
  });

  it('CI runs exactly the README test command', () => {
    const commands = read('.ci/run')
      .split('\n')
      .filter((line) => line.length > 0 && !line.startsWith('#') && !/^(set|cd) /.test(line));
    expect(commands).toEqual([quickStartCommands()[1]]);
  });

  it('shows every example exactly as the file the tests run, under the package name', () => {
    const readme = read('README.md');
    const shown = [
      ...readme.matchAll(
        /<!-- example: (\S+) -->\n<!-- prettier-ignore -->\n```ts\n([\s\S]*?)```/g,
      ),
    ];
    expect(shown.map(([, path]) => path)).toEqual([
      'examples/tour.ts',
      'examples/request-response.ts',
      'examples/file-transfer.ts',
      'examples/chat.ts',
      'examples/simulated.ts',
    ]);
    for (const [, path, code] of shown) {
      const source = read(path as string)
        .replaceAll("'../src/index.js'", "'structured-secure-streams'")
        .replaceAll("'../src/net/sim/index.js'", "'structured-secure-streams/sim'");
      expect(code, path).toBe(source);
    }
  });
});
