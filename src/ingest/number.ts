/**
 * Parses a decimal number from `buf[start, end)` without allocating in the
 * common case. Accepts `[+-]?digits[.digits][e[+-]?digits]` (and `.5`, `5.`),
 * with ASCII spaces around it. Anything else — hex, `Infinity`, `NaN`, an
 * empty field, or a value that overflows to ±Infinity — returns NaN.
 *
 * Mantissas of at most 15 digits without an exponent are computed as an exact
 * integer divided by an exact power of ten, which is correctly rounded (the
 * Clinger fast path) and therefore equal to `Number(text)`; everything else
 * falls back to `Number()` on the validated text.
 */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

const SPACE = 0x20;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

export function parseDecimal(buf: Uint8Array, start: number, end: number): number {
  while (start < end && buf[start] === SPACE) start++;
  while (end > start && buf[end - 1] === SPACE) end--;
  if (start === end) return Number.NaN;

  let i = start;
  let negative = false;
  const first = buf[i];
  if (first === PLUS || first === MINUS) {
    negative = first === MINUS;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let fractionDigits = 0;
  let sawDot = false;
  let byte = 0;
  for (; i < end; i++) {
    byte = buf[i] as number;
    if (byte >= ZERO && byte <= NINE) {
      mantissa = mantissa * 10 + (byte - ZERO);
      digits++;
      if (sawDot) fractionDigits++;
    } else if (byte === DOT && !sawDot) {
      sawDot = true;
    } else {
      break;
    }
  }
  if (digits === 0) return Number.NaN;
  if (i === end) {
    if (digits <= 15) {
      const magnitude = fractionDigits === 0 ? mantissa : mantissa / (POW10[fractionDigits] as number);
      return negative ? -magnitude : magnitude;
    }
    return finiteOrNaN(Number(latin1(buf, start, end)));
  }
  // Only an exponent may follow the mantissa.
  if (byte !== LOWER_E && byte !== UPPER_E) return Number.NaN;
  i++;
  if (i < end && (buf[i] === PLUS || buf[i] === MINUS)) i++;
  const exponentStart = i;
  for (; i < end; i++) {
    byte = buf[i] as number;
    if (byte < ZERO || byte > NINE) return Number.NaN;
  }
  if (i === exponentStart) return Number.NaN;
  return finiteOrNaN(Number(latin1(buf, start, end)));
}

function finiteOrNaN(value: number): number {
  return Number.isFinite(value) ? value : Number.NaN;
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(buf[i] as number);
  return text;
}
