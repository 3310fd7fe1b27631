import fc from 'fast-check';

// FC_SEED replays a failing property run (vitest prints the seed and path on failure).
const seed = process.env.FC_SEED;
if (seed !== undefined && seed !== '') {
  fc.configureGlobal({ seed: Number(seed) });
}
