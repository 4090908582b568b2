/** Small helpers over dockerode's errors (they carry the Engine API's HTTP status). */

export function statusCode(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Runs `call`, treating the listed HTTP statuses (404 gone, 409 not running…) as done. */
export async function ignoring(statuses: number[], call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    const status = statusCode(err);
    if (status === undefined || !statuses.includes(status)) throw err;
  }
}
