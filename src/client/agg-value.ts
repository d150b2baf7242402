import type { MetricType } from '../protocol/metric-type.js';

/**
 * One sample as `agg()` takes it, in DaTtSs's value-with-unit form
 * (docs/client.md, "Values"):
 *
 *   '153ms'  timer 153          '1c'  counter +1 ('-4c' subtracts)
 *   '23g'    gauge 23           '+3g' / '-2g'  gauge delta on the current value
 *   'user42s'  set member 'user42'  (the text before a final 's'; a value ending in 'ms' that
 *              starts like a number, or is only 'ms', is a timer and must be one: '1.5.5ms' is bad)
 *
 * A trailing `!` (DaTtSs's emphasis mark) is accepted and dropped.
 */
export interface AggSample {
  type: MetricType;
  value: number;
  /** A gauge written with an explicit sign: a delta. */
  delta: boolean;
  /** The set member; '' for other types. */
  member: string;
}

/** The daemon's number grammar (docs/protocol.md): plain decimals, no hex, no Infinity. */
const NUMBER_WITH_UNIT = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(c|ms|g)!?$/;

/** The sample `text` stands for, or why it stands for none. */
export function parseAggValue(text: string): AggSample | string {
  const match = NUMBER_WITH_UNIT.exec(text);
  if (match !== null) {
    const number = match[1] as string;
    const value = Number(number);
    if (!Number.isFinite(value)) return `value out of range: ${text}`;
    switch (match[2]) {
      case 'c':
        return { type: 'counter', value, delta: false, member: '' };
      case 'ms':
        return value < 0 ? `negative timer: ${text}` : { type: 'timer', value, delta: false, member: '' };
      default:
        return { type: 'gauge', value, delta: number.startsWith('+') || number.startsWith('-'), member: '' };
    }
  }
  const body = text.endsWith('!') ? text.slice(0, -1) : text;
  if (body.endsWith('ms') && /^(?:[-+.\d]|ms$)/.test(body)) return `not a timer value: ${JSON.stringify(text)}`;
  if (body.endsWith('s')) {
    const member = body.slice(0, -1);
    const bad = checkMember(member);
    return bad ?? { type: 'set', value: 1, delta: false, member: member.trim() };
  }
  return `not a DaTtSs value (a number with c, ms or g, or a set member with s): ${JSON.stringify(text)}`;
}

/** Why a set member cannot be sent, or undefined: members may not hold the separators of either wire form. */
export function checkMember(member: string): string | undefined {
  if (member.trim() === '') return 'empty set member';
  if (/[:|\r\n]/.test(member)) return `set member contains ':', '|' or a line break: ${JSON.stringify(member)}`;
  return undefined;
}
