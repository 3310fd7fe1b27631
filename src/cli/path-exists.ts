import { lstat } from 'node:fs/promises';

/** Whether anything is at `path`, a dangling symbolic link included: it is in the way too. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return false;
    throw error;
  }
}
