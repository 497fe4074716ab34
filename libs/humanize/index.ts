/** "Less than a second", "About a minute", "3 weeks": a duration as Docker words it (go-units HumanDuration). */
export function humanDuration(seconds: number): string {
  const phrase = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (seconds < 1) return 'Less than a second';
  if (seconds < 60) return phrase(Math.floor(seconds), 'second');
  if (seconds < 3600) return Math.floor(seconds / 60) === 1 ? 'About a minute' : phrase(Math.floor(seconds / 60), 'minute');
  if (seconds < 86_400) return Math.round(seconds / 3600) === 1 ? 'About an hour' : phrase(Math.round(seconds / 3600), 'hour');
  if (seconds < 86_400 * 14) return phrase(Math.floor(seconds / 86_400), 'day');
  if (seconds < 86_400 * 60) return phrase(Math.floor(seconds / (86_400 * 7)), 'week');
  if (seconds < 86_400 * 365 * 2) return phrase(Math.floor(seconds / (86_400 * 30)), 'month');
  return phrase(Math.floor(seconds / (86_400 * 365)), 'year');
}
