/** A size for a log line or a summary: `812.0 KiB`, `3.4 MiB`, `1.2 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
