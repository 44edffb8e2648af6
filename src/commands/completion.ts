export function completionScript(_s: string): string { return ''; }
export async function completeCommand(_w: string[], _io: unknown): Promise<number> { return 0; }
