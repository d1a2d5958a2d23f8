/** Whether `text` is a full https:// address of at most `maxLength` characters (what cards may link to). */
export function isHttpsUrl(text: string, maxLength = 500): boolean {
  if (text.length > maxLength) return false;
  try {
    return new URL(text).protocol === 'https:';
  } catch {
    return false;
  }
}
