/** The processor's encoders, one per output topic: the newest schema's compiled encoder, looked up once. */
import type { Registry } from '../../core/schema-registry.ts';
import { valueSubjectOf } from '../../schemas/topic-spec.ts';

/** Per output topic, the encoder of its newest schema: looked up on first use, then without waiting. */
export class OutputEncoders {
  private readonly encoders = new Map<string, (value: unknown) => Buffer>();

  constructor(private readonly registry: Pick<Registry, 'encoderOf'>) {}

  known(target: string): ((value: unknown) => Buffer) | undefined {
    return this.encoders.get(target);
  }

  async load(target: string): Promise<(value: unknown) => Buffer> {
    const encode = await this.registry.encoderOf(valueSubjectOf(target));
    this.encoders.set(target, encode);
    return encode;
  }
}
