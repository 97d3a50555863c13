import { infraCommand } from '../../infra/cli.ts';

export function run(args: string[]): Promise<number> {
  return infraCommand(args);
}
