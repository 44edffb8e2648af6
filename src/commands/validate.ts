export async function validateCommand(_o: { verbose: boolean; machineReadable: boolean }, _io: unknown): Promise<number> { return 0; }
