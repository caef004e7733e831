/** How KMS Scout writes durations for people, in every report, status line and log. */

/** `12` for 12.4 ms, `0.4` below 10 ms (loopback answers are sub-millisecond). */
export function formatMs(ms: number): string {
  return ms >= 10 ? String(Math.round(ms)) : String(Math.round(ms * 10) / 10)
}

/** "7 days", "2 hours", "1 day 2 hours 5 minutes". */
export function formatMinutes(minutes: number): string {
  if (minutes === 0) return '0 minutes'
  const parts: string[] = []
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  const mins = minutes % 60
  const unit = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
  if (days) parts.push(unit(days, 'day'))
  if (hours) parts.push(unit(hours, 'hour'))
  if (mins) parts.push(unit(mins, 'minute'))
  return parts.join(' ')
}
