export async function cacheCommand(_a: string, _d: number | undefined, _io: unknown): Promise<number> { return 0; }
