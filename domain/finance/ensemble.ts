/**
 * What the finance scorer computes in TypeScript on the models' outputs: the Altman zone, each
 * period kind's ensemble probability (the mean of its models' probabilities, models/finance
 * ENSEMBLES) and the risk category, whose thresholds are configurable.
 */
import { z } from 'zod';
import { ALTMAN_ZONES, ENSEMBLES } from '../../models/finance/models.ts';
import type { AltmanZone, PeriodKind, RiskCategory } from '../../schemas/records/finance.ts';

export function altmanZone(z: number): AltmanZone {
  if (z > ALTMAN_ZONES.safeAbove) return 'safe';
  if (z < ALTMAN_ZONES.distressBelow) return 'distress';
  return 'grey';
}

/** Where each category starts: p < medium is low, medium <= p < high is medium, and so on. */
export interface RiskThresholds {
  medium: number;
  high: number;
  critical: number;
}

export const DEFAULT_THRESHOLDS: RiskThresholds = Object.freeze({ medium: 0.01, high: 0.05, critical: 0.2 });

const probability = z.number({ error: 'expected a number' }).gt(0, 'expected > 0').lt(1, 'expected < 1');
const thresholdsSchema = z
  .object({ medium: probability, high: probability, critical: probability })
  .refine((t) => t.medium < t.high && t.high < t.critical, {
    message: 'expected medium < high < critical',
    path: ['high'],
  });

/** Overrides on the defaults, checked: each in (0, 1) and increasing. */
export function riskThresholds(overrides: Partial<RiskThresholds> = {}): RiskThresholds {
  const result = thresholdsSchema.safeParse({ ...DEFAULT_THRESHOLDS, ...overrides });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new RangeError(`risk threshold ${issue.path.map(String).join('.')}: ${issue.message}`);
  }
  return Object.freeze(result.data);
}

export function riskCategory(p: number, thresholds: RiskThresholds): RiskCategory {
  if (p >= thresholds.critical) return 'critical';
  if (p >= thresholds.high) return 'high';
  if (p >= thresholds.medium) return 'medium';
  return 'low';
}

/** The mean of the probabilities of the kind's member models. */
export function ensembleProbability(kind: PeriodKind, probabilityOf: (modelId: string) => number): number {
  const members = ENSEMBLES[kind];
  return members.reduce((sum, { id }) => sum + probabilityOf(id), 0) / members.length;
}
