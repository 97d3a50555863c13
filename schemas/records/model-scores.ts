/** The tabular model scores' record types: samples.flights.scored (active) and samples.flights.shadow. */
import type { Envelope, Lineage } from './envelope.ts';

type ScoreLineage = Envelope & Lineage & { model_id: string };

/** A record scored by the model's active version. */
export type ActiveScore = ScoreLineage & { model_version: string; label: number; probability: number; actual: number };
/** A record scored by a shadow version, with the active version's score of the same record. */
export type ShadowScore = ActiveScore & { active_version: string; active_label: number; active_probability: number };
export type ModelScore = ActiveScore | ShadowScore;
