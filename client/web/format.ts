// How times, days and names look on screen. Local time zone and the browser's language, through
// Intl, so 14:05 and 2:05 PM each appear where people expect them.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const dayWithYearFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'long' });

/** Distinct avatar colours; style.css defines `.hue0` to `.hue7`. */
export const AVATAR_HUES = 8;
/** Messages from one person closer together than this share one author line. */
const GROUP_GAP_MS = 5 * 60 * 1000;
/**
 * Most messages under one author line. A long run by one person would otherwise scroll its name
 * and avatar out of view, leaving screens of bubbles with no visible author.
 */
export const MAX_GROUP_SIZE = 10;

export const formatTime = (iso: string): string => timeFormat.format(new Date(iso));
export const formatFullTime = (iso: string): string => fullFormat.format(new Date(iso));

/** Local calendar day, for day separators: "2026-10-23". */
export function dayKey(iso: string): string {
  const date = new Date(iso);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

export function formatDay(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const key = dayKey(iso);
  if (key === dayKey(now.toISOString())) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (key === dayKey(yesterday.toISOString())) return 'Yesterday';
  return date.getFullYear() === now.getFullYear() ? dayFormat.format(date) : dayWithYearFormat.format(date);
}

/**
 * Whether a message continues the previous one's group (same author, a few minutes apart, same
 * day), given how many messages that group already holds.
 */
export function continuesGroup(
  previous: { user: string; time: string } | undefined,
  current: { user: string; time: string },
  groupSize: number,
): boolean {
  if (!previous || previous.user !== current.user || groupSize >= MAX_GROUP_SIZE) return false;
  const gap = Date.parse(current.time) - Date.parse(previous.time);
  return gap >= 0 && gap < GROUP_GAP_MS && dayKey(previous.time) === dayKey(current.time);
}

/** The same name always gets the same colour, in every client. */
export function hueOf(name: string): number {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return hash % AVATAR_HUES;
}

/** First character of the name (a whole emoji or accented letter, not half of one). */
export function initialOf(name: string): string {
  for (const char of name) return char.toUpperCase();
  return '?';
}
