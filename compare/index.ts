/** The comparison engine: pure (no I/O, no clock), so the proxy may run it anywhere, a worker included. */
export { decodedBodySize } from './body.js';
export {
  compare, DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_VALUES, type CompareOptions, type Comparison, type Verdict,
} from './comparison.js';
export type { Difference, DifferenceKind } from './diff.js';
export { hiddenDifferences, type HiddenDifference } from './explain.js';
export { memberText } from './json-scan.js';
export {
  bucketLowerBound, bucketOf, judgeLatency, LATENCY_BUCKETS_MS, normalCdf, rankSum, type LatencyHistogram, type LatencyJudgement, type LatencyTolerance, type RankSum,
} from './latency.js';
export {
  DEFAULT_NOISE_THRESHOLDS, isNoisyField, NoiseModel, noiseOf, suggestRules,
  type FieldCounts, type RouteCounts, type FieldNoise, type FieldTarget, type NoiseModelOptions, type NoiseSnapshot, type NoiseThresholds, type RouteNoise,
} from './noise.js';
export { failure, isFailure, response, type Failure, type Headers, type JsonValue, type Observation, type Response } from './observation.js';
export { formatPointer, parsePointer, PointerError, type PointerPattern } from './pointer.js';
export {
  DEFAULT_RULES, HEADER_NAME, layerRules, parseRuleKeys, parseRules, pointerPattern, RulesError, rulesForRequest, rulesToJson, type RuleKeys, type Rules, type UnorderedRule,
} from './rules.js';
export { parseRfc3339, type Instant } from './timestamp.js';
