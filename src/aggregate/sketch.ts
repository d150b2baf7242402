import { DDSketch } from '@datadog/sketches-js';
import { SKETCH_RELATIVE_ACCURACY } from '../protocol/metric-type.js';

/**
 * The quantile sketch: DDSketch with 1% relative error, from Datadog's
 * maintained implementation. It merges exactly (bin counts add), so a minute's
 * p99 is the p99 of all its samples within 1%, whatever the merge order. Its
 * protobuf encoding is Datadog's standard one, so stored sketches can be read
 * by any DDSketch implementation.
 */
export type QuantileSketch = DDSketch;

export function createSketch(): QuantileSketch {
  return new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
}

export function encodeSketch(sketch: QuantileSketch): Uint8Array {
  return sketch.toProto();
}

export function decodeSketch(bytes: Uint8Array): QuantileSketch {
  return DDSketch.fromProto(bytes);
}

/**
 * The value at quantile `q` (0..1), clamped into the exact [min, max] that the
 * caller tracks beside the sketch: a bucket's representative value can lie
 * just outside the observed range, the true quantile never does.
 */
export function quantileOf(sketch: QuantileSketch, q: number, min: number, max: number): number {
  const value = sketch.getValueAtQuantile(q);
  return value < min ? min : value > max ? max : value;
}
