/** The two date formats Lambda's API uses for string (not timestamp) members. */

/** FunctionConfiguration.LastModified, layer CreatedDate: `2024-01-01T00:00:00.000+0000`. */
export function lambdaDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.slice(0, -1) + '+0000';
}

/** Function URL CreationTime / LastModifiedTime: ISO 8601 with microseconds, `…000Z`. */
export function urlDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.slice(0, -1) + '000Z';
}
