import { runAction } from '../lib/run-action.js';
import { run } from './main.js';

void runAction('setup-agent', run);
