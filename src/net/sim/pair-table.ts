/** Values keyed by a directed pair of addresses, as links are. */
export type PairTable<T> = Map<string, Map<string, T>>;

export function tableGet<T>(table: PairTable<T>, from: string, to: string): T | undefined {
  return table.get(from)?.get(to);
}

export function tableSet<T>(table: PairTable<T>, from: string, to: string, value: T): void {
  let row = table.get(from);
  if (row === undefined) {
    row = new Map();
    table.set(from, row);
  }
  row.set(to, value);
}

/** Renames an address in both key positions of a table. */
export function tableRename<T>(table: PairTable<T>, from: string, to: string): void {
  const row = table.get(from);
  if (row !== undefined) {
    table.delete(from);
    table.set(to, row);
  }
  for (const r of table.values()) {
    const value = r.get(from);
    if (value !== undefined) {
      r.delete(from);
      r.set(to, value);
    }
  }
}
