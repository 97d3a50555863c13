import assert from 'node:assert/strict';
import { getPriority } from 'node:os';
import { describe, it } from 'node:test';
import { createLogger } from './logger.ts';
import { supervise } from './supervisor.ts';

// a role that stays up without any service: `millrace help` with a timer keeping its process alive
const idle = { NODE_OPTIONS: '--import=data:text/javascript,setInterval(()=>{},60000)', LOG_LEVEL: 'silent' };

describe('supervisor', () => {
  it('runs a role at its nice value and the others at the supervisor own', async () => {
    const supervisor = supervise(
      [
        { name: 'batch', args: ['help'], env: idle, nice: 7 },
        { name: 'interactive', args: ['help'], env: idle },
      ],
      createLogger('test'),
    );
    try {
      const pids = supervisor.pids();
      assert.equal(getPriority(pids.batch!), 7);
      assert.equal(getPriority(pids.interactive!), getPriority());
    } finally {
      await supervisor.stop(2_000);
    }
  });
});
