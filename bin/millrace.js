#!/usr/bin/env node
// `npx millrace <command>`: runs the TypeScript CLI through tsx's loader, so a checkout needs no build.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
