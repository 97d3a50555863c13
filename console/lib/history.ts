/** A value over time, as a chart wants it (epoch seconds, values), keeping the newest `max` points. */
export class History {
  readonly x: number[] = [];
  readonly values: number[] = [];

  constructor(private readonly max: number) {}

  add(seconds: number, value: number): void {
    this.x.push(seconds);
    this.values.push(value);
    if (this.x.length > this.max) {
      this.x.shift();
      this.values.shift();
    }
  }
}
